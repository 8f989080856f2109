import { execFile } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const run = promisify(execFile)
const SEEDS = "1..200"
const STEPS = "400"

/**
 * How a process runs the CLI: through `npm run sim`'s launcher (an esbuild bundle) or through
 * tsx's loader, as vitest and the scripts do. The two must not differ by a byte.
 */
const LAUNCH = {
  bundle: ["sim/cli/launch.mjs", "sim/cli/main.ts"],
  tsx: ["--import", "tsx", "sim/cli/main.ts"]
}

/** One sweep in a separate Node process, keeping every trace; returns seed -> digest. */
const sweep = async (launch: ReadonlyArray<string>, out: string): Promise<Map<number, string>> => {
  const { stdout } = await run(process.execPath, [...launch, "--seeds", SEEDS, "--steps", STEPS, "--json", "--keep-traces", "--out", out], {
    maxBuffer: 64 * 1024 * 1024
  }).catch((e: { stdout?: string; code?: number }) => {
    // Exit 1 (a violation somewhere) still printed every record; anything else is a failure.
    if (e.code === 1 && e.stdout !== undefined) return { stdout: e.stdout }
    throw e
  })
  const digests = new Map<number, string>()
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue
    const r = JSON.parse(line) as { seed: number; digest: string }
    digests.set(r.seed, r.digest)
  }
  return digests
}

describe("determinism across processes", () => {
  it(`seeds ${SEEDS} give byte-identical traces and digests in two separate processes (bundled and through tsx)`, async () => {
    const a = mkdtempSync(join(tmpdir(), "persist-sim-a-"))
    const b = mkdtempSync(join(tmpdir(), "persist-sim-b-"))
    try {
      const [da, db] = await Promise.all([sweep(LAUNCH.bundle, a), sweep(LAUNCH.tsx, b)])
      expect(da.size).toBe(200)
      expect([...db.entries()]).toEqual([...da.entries()])
      // Different seeds explore different worlds.
      expect(new Set(da.values()).size).toBe(200)
      // Traces only: the sweep's summary and page carry wall-clock figures.
      const traces = (dir: string) => readdirSync(dir).filter((f) => /^seed-\d+\.jsonl$/.test(f)).sort()
      const files = traces(a)
      expect(files).toHaveLength(200)
      expect(traces(b)).toEqual(files)
      for (const f of files) {
        if (!readFileSync(join(a, f)).equals(readFileSync(join(b, f)))) expect.fail(`trace ${f} differs between the two processes`)
      }
    } finally {
      rmSync(a, { recursive: true, force: true })
      rmSync(b, { recursive: true, force: true })
    }
  }, 600_000)
})
