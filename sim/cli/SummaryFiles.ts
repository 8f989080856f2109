/**
 * Sweep summaries on disk: written atomically (a temporary name, then a rename, so a reader —
 * a merge job, an upload step, a report page — never sees half a file), and read back through
 * the Schema for `--merge`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { Either } from "effect"
import { UsageError } from "./Args.ts"
import { makeDirs, writeFileAtomic } from "../trace/AtomicWrite.ts"
import { decodeSummary, type SweepSummary } from "../trace/SweepSummary.ts"

export const writeJsonAtomic = (dir: string, name: string, value: unknown): string => {
  makeDirs(dir)
  const file = join(dir, name)
  writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n")
  return file
}

/** The largest summary `--merge` reads (a million-seed shard with every seed failing is ~300 MB; real ones are KBs). */
const MAX_SUMMARY_BYTES = 512 * 1024 * 1024

/**
 * The summary files named on the command line: a folder contributes its `*.summary.json`
 * files except earlier merges (`*.merged.summary.json`), so re-running a merge into the same
 * folder does not count shards twice; a file named explicitly is read whatever it is.
 */
export const summaryFilesOf = (paths: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (const p of paths) {
    let isDir: boolean
    try {
      isDir = statSync(p).isDirectory()
    } catch (e) {
      throw new UsageError(`--merge: cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`)
    }
    if (!isDir) {
      out.push(p)
      continue
    }
    const found = readdirSync(p)
      .filter((f) => f.endsWith(".summary.json") && !f.endsWith(".merged.summary.json"))
      .sort()
      .map((f) => join(p, f))
    if (found.length === 0) throw new UsageError(`--merge: no *.summary.json files in ${p}`)
    out.push(...found)
  }
  return out
}

/** Reads and validates one summary file; every failure is a one-line UsageError (exit 2). */
export const readSummary = (file: string): SweepSummary => {
  let text: string
  try {
    const st = statSync(file)
    if (!st.isFile()) throw new UsageError(`--merge: ${file} is not a regular file`)
    if (st.size > MAX_SUMMARY_BYTES) throw new UsageError(`--merge: ${file} is ${st.size} bytes, over the ${MAX_SUMMARY_BYTES}-byte limit`)
    text = readFileSync(file, "utf8")
  } catch (e) {
    if (e instanceof UsageError) throw e
    throw new UsageError(`--merge: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`)
  }
  const decoded = decodeSummary(text)
  if (Either.isLeft(decoded)) throw new UsageError(`--merge: ${file}: ${decoded.left}`)
  return decoded.right
}
