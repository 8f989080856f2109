/**
 * Four shard processes, started the way deploy/ starts them (`npm run sim`'s launcher, the
 * engine's environment variables, `--shard auto`), merge to exactly the unsharded sweep of the
 * same seeds: failures, findings, coverage counts, faults and totals.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"
import { Either } from "effect"
import { decodeSummary, type SweepSummary } from "../trace/SweepSummary.ts"

const exec = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), "persist-sim-merge-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SWEEP = ["--seeds", "1..24", "--steps", "200", "--bug", "cached-state-regresses", "--quiet"]

/** `npm run sim -- …` in its own process, with only the given engine variables set. */
const sim = async (env: Record<string, string>, ...args: Array<string>): Promise<{ code: number; stdout: string; stderr: string }> => {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(PERSIST_SIM_SHARD|PERSIST_SIM_SHARD_COUNT|BUILDKITE_PARALLEL_JOB|BUILDKITE_PARALLEL_JOB_COUNT|JOB_COMPLETION_INDEX)$/.test(k))
  )
  try {
    const { stdout, stderr } = await exec(process.execPath, ["sim/cli/launch.mjs", "sim/cli/main.ts", ...args], { env: { ...clean, ...env }, maxBuffer: 32 * 1024 * 1024 })
    return { code: 0, stdout, stderr }
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string }
    return { code: err.code, stdout: err.stdout, stderr: err.stderr }
  }
}

const read = (file: string): SweepSummary => Either.getOrThrow(decodeSummary(readFileSync(file, "utf8")))
/** What must agree; trace paths differ by folder, wall times by machine. */
const comparable = (s: SweepSummary) => ({
  seeds: s.seeds,
  failures: s.failures.map(({ trace: _trace, ...f }) => f),
  findings: s.findings,
  coverage: s.coverage,
  faults: s.faults,
  totals: s.totals
})

describe("sharded sweep", () => {
  it("4 shards via --shard auto (Kubernetes, Buildkite, GitHub matrix env) merge to the unsharded sweep", { timeout: 180_000 }, async () => {
    const shards = join(dir, "shards")
    const whole = join(dir, "whole")
    // One engine's variables per shard, so each parser is exercised end to end.
    const envs: Array<Record<string, string>> = [
      { JOB_COMPLETION_INDEX: "0", PERSIST_SIM_SHARD_COUNT: "4" },
      { BUILDKITE_PARALLEL_JOB: "1", BUILDKITE_PARALLEL_JOB_COUNT: "4" },
      { PERSIST_SIM_SHARD: "3/4" },
      { JOB_COMPLETION_INDEX: "3" }
    ]
    const runs = await Promise.all([
      ...envs.map((env, i) => sim(env, ...SWEEP, "--shard", "auto", ...(i === 3 ? ["--shard-count", "4"] : []), "--out", shards)),
      sim({}, ...SWEEP, "--jobs", "2", "--out", whole)
    ])
    for (const r of runs) expect([0, 1], r.stderr).toContain(r.code)
    expect(readdirSync(shards).filter((f) => f.endsWith(".summary.json")).sort()).toEqual(
      [1, 2, 3, 4].map((k) => `sweep-1..24-shard-${k}-of-4-cached-state-regresses.summary.json`)
    )

    const merged = await sim({}, "--merge", shards, "--out", shards)
    expect(merged.stderr).toBe("")
    const wholeSummary = read(join(whole, "sweep-1..24-cached-state-regresses.summary.json"))
    expect(merged.code).toBe(wholeSummary.totals.failing > 0 ? 1 : 0)
    const m = read(join(shards, "sweep-1..24-cached-state-regresses.merged.summary.json"))
    expect(comparable(m)).toEqual(comparable(wholeSummary))
    expect(m.problems).toEqual([])
    expect(m.mergedFrom!.map((x) => x.shard)).toEqual(["1/4", "2/4", "3/4", "4/4"])
    expect(m.totals.seeds).toBe(24)
    // The comparison is only worth something if the sweep saw failures and covered paths.
    expect(m.totals.failing).toBeGreaterThan(0)
    expect(Object.values(m.coverage).filter((n) => n > 0).length).toBeGreaterThan(10)

    // Drop one shard: the merge names it and the seeds it held, and exits 2.
    rmSync(join(shards, "sweep-1..24-shard-2-of-4-cached-state-regresses.summary.json"))
    const partial = await sim({}, "--merge", shards, "--out", join(dir, "partial"))
    expect(partial.code).toBe(2)
    expect(partial.stderr).toContain("missing shard(s) 2/4")
    expect(partial.stderr).toContain("missing seeds: 6 of 1..24 were not run (2..22 step 4)")
  })

  it("--merge - an unreadable or invalid summary is one line and exit 2", async () => {
    const r = await sim({}, "--merge", join(dir, "nope.summary.json"))
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    const none = await sim({}, "--seeds", "1..4", "--shard", "auto")
    expect(none.code).toBe(2)
    expect(none.stderr.trim()).toMatch(/^persist-sim: --shard auto: no shard in the environment \(looked for PERSIST_SIM_SHARD/)
  })
})
