/**
 * Sweeps: many seeds, optionally on worker threads (`--jobs N`) and sliced across machines
 * (`--shard K/N`). Seeds are handed out one at a time from arithmetic (SeedRange.ts), never
 * listed. Progress goes to stderr on a TTY; a summary table ends the run.
 *
 * SIGINT / SIGTERM stop the sweep between seeds: workers are terminated (their half-written
 * temporaries removed), the summary of the finished seeds is printed (one JSON object with
 * `--json`), and the exit code is 130 / 143.
 */
import { Worker } from "node:worker_threads"
import type { CliArgs } from "./Args.ts"
import { removeStrayTemps } from "../trace/AtomicWrite.ts"
import { renderSummary, SummaryBuilder } from "../trace/SweepSummary.ts"
import { afterSweep } from "./Reports.ts"
import { writeSweepSummary } from "./ShardSummary.ts"
import { seedAt, sliceOf, type SeedSlice } from "./SeedRange.ts"
import { runSeedRecord, type SeedRecord } from "./SweepCore.ts"
import { SHOWN, SweepTally } from "./SweepTally.ts"
import type { NemesisMode } from "../world/NemesisMode.ts"

/** Where seeds come from: the i-th of `count`. */
export interface SeedSource {
  readonly count: number
  readonly at: (i: number) => number
}

export const sourceOf = (s: SeedSlice): SeedSource => ({ count: s.count, at: (i) => seedAt(s, i) })

/** Stops a sweep when `stopped()` turns true; `onStop` is called once when it does. */
export interface StopSignal {
  readonly stopped: () => boolean
  readonly onStop: (f: () => void) => void
}

const never: StopSignal = { stopped: () => false, onStop: () => {} }

/**
 * Runs the seeds on `jobs` worker threads, calling `onRecord` as records arrive. Each worker
 * is given its next seed when it reports the last one, so a slow seed never idles the others.
 */
export const sweepParallel = (
  seeds: SeedSource,
  jobs: number,
  steps: number,
  bug: string | null,
  out: string,
  keepTraces: boolean,
  onRecord: (r: SeedRecord) => void,
  stop: StopSignal = never,
  nemesis: NemesisMode | null = null
): Promise<void> => {
  let next = 0
  const workers: Array<Worker> = []
  const running = Array.from(
    { length: Math.min(jobs, seeds.count) },
    () =>
      new Promise<void>((resolve, reject) => {
        const w = new Worker(new URL("./sweepWorker.mjs", import.meta.url), { workerData: { steps, bug, out, keepTraces, nemesis } })
        workers.push(w)
        const feed = () => w.postMessage(next < seeds.count && !stop.stopped() ? seeds.at(next++) : null)
        w.on("message", (r: SeedRecord) => {
          onRecord(r)
          feed()
        })
        w.on("error", reject)
        w.on("exit", (code) => (code === 0 || stop.stopped() ? resolve() : reject(new Error(`sweep worker exited with code ${code}`))))
        feed()
      })
  )
  stop.onStop(() => {
    for (const w of workers) void w.terminate()
  })
  return Promise.all(running).then(
    () => {
      // A worker stopped mid-write leaves only its temporary (writes are atomic): clear it.
      if (stop.stopped()) removeStrayTemps(out)
    },
    async (e: unknown) => {
      await Promise.all(workers.map((w) => w.terminate()))
      removeStrayTemps(out)
      throw e
    }
  )
}

const EXIT_ON = { SIGINT: 130, SIGTERM: 143 } as const
type Sig = keyof typeof EXIT_ON

/** Catches SIGINT/SIGTERM for the sweep's duration; a second signal exits at once. */
const catchSignals = (out: string): StopSignal & { readonly signal: () => Sig | null; readonly release: () => void } => {
  let signal: Sig | null = null
  const listeners: Array<() => void> = []
  const handler = (sig: Sig) => {
    if (signal !== null) {
      removeStrayTemps(out)
      process.exit(EXIT_ON[sig])
    }
    signal = sig
    for (const f of listeners) f()
  }
  process.on("SIGINT", handler)
  process.on("SIGTERM", handler)
  return {
    signal: () => signal,
    stopped: () => signal !== null,
    onStop: (f) => listeners.push(f),
    release: () => {
      process.off("SIGINT", handler)
      process.off("SIGTERM", handler)
    }
  }
}

/** Lets pending I/O and signal handlers run; between seeds only, so outside any world's traps. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** `seedRecord`: how one seed runs when not on the models in-process (real stores, one by one). */
export const runSweep = async (args: CliArgs, seedRecord?: (seed: number) => Promise<SeedRecord>): Promise<number> => {
  const range = args.seeds!
  const slice = sliceOf(range, args.shard)
  const seeds = sourceOf(slice)
  const start = process.hrtime.bigint()
  const tally = new SweepTally()
  const built = new SummaryBuilder()
  const tty = process.stderr.isTTY === true && !args.json
  const onRecord = (r: SeedRecord) => {
    tally.add(r)
    built.add(r)
    if (args.json) console.log(JSON.stringify(r))
    else if (!args.quiet && r.exitCode !== 0) console.log(`seed ${r.seed}: ${r.violations.length} violation(s): ${r.violations[0] ?? ""}  trace ${r.trace}`)
    if (tty && tally.seeds % 10 === 0) process.stderr.write(`\r${tally.seeds}/${seeds.count} seeds`)
  }
  const signals = catchSignals(args.out)
  try {
    if (seedRecord !== undefined) {
      for (let i = 0; i < seeds.count && !signals.stopped(); i++) onRecord(await seedRecord(seeds.at(i)))
    } else if (args.jobs <= 1) {
      for (let i = 0; i < seeds.count; i++) {
        // A run is synchronous; yielding between seeds is what lets a signal be seen at all.
        await yieldToEventLoop()
        if (signals.stopped()) break
        onRecord(runSeedRecord(seeds.at(i), args.steps, args.bug, args.out, args.keepTraces, args.nemesis))
      }
    } else {
      await sweepParallel(seeds, args.jobs, args.steps, args.bug, args.out, args.keepTraces, onRecord, signals, args.nemesis)
    }
  } finally {
    signals.release()
  }
  if (tty) process.stderr.write("\r")
  const wall = Number(process.hrtime.bigint() - start) / 1e9
  const sig = signals.signal()
  const label = `${range.from}..${range.to}${args.shard !== null ? ` shard ${args.shard.k}/${args.shard.n}` : ""}`
  // An interrupted sweep's summary covers the seeds it finished; --merge names the rest.
  const written = writeSweepSummary(args, built, wall)
  if (args.json) {
    // Per-seed records are already out; an interrupted sweep ends with one summary object.
    if (sig !== null) {
      const shown = [...tally.fresh, ...tally.known].slice(0, SHOWN)
      console.log(
        JSON.stringify({
          interrupted: sig,
          seeds: label,
          finished: tally.seeds,
          planned: seeds.count,
          failing: tally.failing,
          new: tally.freshCount,
          known: tally.knownCount,
          findings: [...tally.findings].sort(),
          failingSeeds: shown.map((r) => r.seed),
          exitCode: EXIT_ON[sig]
        })
      )
    }
  } else {
    if (sig !== null) console.log(`sweep interrupted by ${sig} after ${tally.seeds} of ${seeds.count} seeds; the summary covers the finished ones`)
    // The summary file's own rendering (the one --merge prints), then what only this process knows.
    console.log(renderSummary(written.summary))
    console.log(`throughput: ${(tally.seeds / wall).toFixed(1)} seeds/s, ${(tally.steps / wall).toFixed(0)} requests/s over ${wall.toFixed(1)} s wall, jobs ${args.jobs}`)
    console.log(`summary: ${written.file}`)
  }
  if (sig === null) afterSweep(args, built.failures)
  if (sig !== null) return EXIT_ON[sig]
  return tally.failing > 0 ? 1 : 0
}
