/**
 * `--out` is checked before any world runs: the folder is created (sim/trace/AtomicWrite.ts
 * `makeDirs`: no recursive mkdir, no special file systems) and a probe file is written and
 * removed, so a run never ends, after minutes of work, unable to write its trace.
 */
import { rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { DirError, makeDirs, tempNameFor } from "../trace/AtomicWrite.ts"
import { UsageError } from "./Args.ts"

export const prepareOutDir = (out: string): void => {
  if (out === "") throw new UsageError("--out is empty: name a folder")
  try {
    makeDirs(out)
  } catch (e) {
    if (e instanceof DirError) throw new UsageError(`--out ${out}: ${e.message}`)
    throw e
  }
  // Named like a trace's temporary, so an interrupted probe is cleared like one.
  const probe = tempNameFor(join(out, ".persist-sim-probe"))
  try {
    writeFileSync(probe, "probe\n", { flag: "wx" })
  } catch (e) {
    throw new UsageError(`--out ${out}: cannot write a file there (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
  } finally {
    rmSync(probe, { force: true })
  }
}
