/**
 * Sweeps: many seeds, optionally on worker threads (`--jobs N`) and sliced across machines
 * (`--shard K/N`). Progress goes to stderr on a TTY; a summary table ends the run.
 */
import { Worker } from "node:worker_threads"
import type { CliArgs } from "./Args.ts"
import { replayCommand } from "../trace/Run.ts"
import { COVERAGE_MARKS, RARE_MARK_SHARE } from "../trace/Summary.ts"
import { runSeedRecord, type SeedRecord } from "./SweepCore.ts"
import { writeSweepSummary } from "./ShardSummary.ts"
import { afterSweep } from "./Reports.ts"

export const seedsOf = (args: CliArgs): Array<number> => {
  const { from, to } = args.seeds!
  const out: Array<number> = []
  for (let s = from; s <= to; s++) if (args.shard === null || (s - from) % args.shard.n === args.shard.k - 1) out.push(s)
  return out
}

/** Runs the seeds on `jobs` worker threads, calling `onRecord` as records arrive. */
export const sweepParallel = (
  seeds: ReadonlyArray<number>,
  jobs: number,
  steps: number,
  bug: string | null,
  out: string,
  keepTraces: boolean,
  onRecord: (r: SeedRecord) => void
): Promise<void> => {
  const slices: Array<Array<number>> = Array.from({ length: jobs }, () => [])
  seeds.forEach((s, i) => slices[i % jobs]!.push(s))
  return Promise.all(
    slices
      .filter((s) => s.length > 0)
      .map(
        (slice) =>
          new Promise<void>((resolve, reject) => {
            const w = new Worker(new URL("./sweepWorker.mjs", import.meta.url), { workerData: { seeds: slice, steps, bug, out, keepTraces } })
            w.on("message", onRecord)
            w.on("error", reject)
            w.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`sweep worker exited with code ${code}`))))
          })
      )
  ).then(() => undefined)
}

/** `seedRecord`: how one seed runs when not on the models in-process (real stores, one by one). */
export const runSweep = (args: CliArgs, seedRecord?: (seed: number) => Promise<SeedRecord>): number | Promise<number> => {
  const seeds = seedsOf(args)
  const start = process.hrtime.bigint()
  const records: Array<SeedRecord> = []
  const tty = process.stderr.isTTY === true && !args.json
  const onRecord = (r: SeedRecord) => {
    records.push(r)
    if (args.json) console.log(JSON.stringify(r))
    else if (!args.quiet && r.exitCode !== 0) console.log(`seed ${r.seed}: ${r.violations.length} violation(s): ${r.violations[0] ?? ""}  trace ${r.trace}`)
    if (tty && records.length % 10 === 0) process.stderr.write(`\r${records.length}/${seeds.length} seeds`)
  }
  const finish = (): number => {
    if (tty) process.stderr.write("\r")
    const wall = Number(process.hrtime.bigint() - start) / 1e9
    const failed = records.filter((r) => r.exitCode !== 0).sort((a, b) => a.seed - b.seed)
    const known = failed.filter((r) => r.verdict === "known")
    const fresh = failed.filter((r) => r.verdict === "new")
    const summaryFile = writeSweepSummary(args, records, wall)
    if (!args.json) {
      const range = `${args.seeds!.from}..${args.seeds!.to}${args.shard !== null ? ` shard ${args.shard.k}/${args.shard.n}` : ""}`
      const steps = records.reduce((n, r) => n + r.steps, 0)
      console.log(`sweep ${range}${args.bug !== null ? ` with bug ${args.bug}` : ""}: ${records.length} seeds, ${failed.length} failing (${fresh.length} new, ${known.length} known: ${[...new Set(known.flatMap((r) => r.findings))].sort().join(",") || "-"}), ${wall.toFixed(1)} s wall, ${(records.length / wall).toFixed(1)} seeds/s, ${steps} requests (${(steps / wall).toFixed(0)}/s), jobs ${args.jobs}`)
      console.log("coverage mark                               seeds hitting it")
      for (const m of COVERAGE_MARKS) {
        const n = records.filter((r) => r.marks.includes(m)).length
        const rare = n === 0 ? "  <- never reached" : n < RARE_MARK_SHARE * records.length ? `  <- rare (< ${100 * RARE_MARK_SHARE}% of seeds)` : ""
        console.log(`  ${m.padEnd(42)} ${String(n).padStart(6)}  ${((100 * n) / Math.max(1, records.length)).toFixed(1)}%${rare}`)
      }
      // New failures first: a known finding must never hide one.
      for (const r of [...fresh, ...known].slice(0, 20)) {
        const label = r.verdict === "new" ? `NEW ${r.newKinds.join(", ")}${r.findings.length > 0 ? `; also ${r.findings.join(",")}` : ""}` : `known ${r.findings.join(",")}`
        console.log(`FAILED seed ${r.seed} (${label}): ${r.violations[0]}\n  reproduce with: ${replayCommand({ seed: r.seed, tape: null, steps: args.steps, bug: args.bug }, r.trace)}`)
      }
      console.log(`summary: ${summaryFile}`)
    }
    afterSweep(args, records)
    return failed.length > 0 ? 1 : 0
  }
  if (seedRecord !== undefined) {
    return (async () => {
      for (const s of seeds) onRecord(await seedRecord(s))
      return finish()
    })()
  }
  if (args.jobs <= 1) {
    for (const s of seeds) onRecord(runSeedRecord(s, args.steps, args.bug, args.out, args.keepTraces))
    return finish()
  }
  // Worker threads: the CLI's exit code is set when they finish.
  void sweepParallel(seeds, args.jobs, args.steps, args.bug, args.out, args.keepTraces, onRecord).then(
    () => (process.exitCode = finish()),
    (e: unknown) => {
      console.error(`persist-sim: harness failure: ${e instanceof Error ? e.message : String(e)}`)
      process.exitCode = 3
    }
  )
  return 0
}
