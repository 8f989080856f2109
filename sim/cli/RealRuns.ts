/**
 * Runs on real stores (issue 12): `--stores` / `--blob-dir` for one seed or a sweep, and
 * `--compare`, the differential check: each seed on the models (in-process, synchronous) and
 * on the real stores, digests compared, the first divergent event named.
 *
 * Seeds run one after another in the main thread: every run awaits its backend at every
 * delivered request, so the backend (one PGlite, or one server connection) is the bottleneck
 * and worker threads would only contend for it; one PGlite per worker would multiply its
 * ~100 MB footprint. Each run gets a fresh schema and a fresh directory (RealStores.ts).
 */
import type { CliArgs } from "./Args.ts"
import { bugSwitches } from "./Bugs.ts"
import { describeStores, onFreshBackend, type StoresSpec, withRealStores } from "./RealStores.ts"
import { seedAt, sliceOf } from "./SeedRange.ts"
import { runSweep } from "./Sweep.ts"
import { recordOf } from "./SweepCore.ts"
import { firstDivergence, type Outcome, replayCommand, runSpec, runSpecOn, type RunSpec, writeTrace } from "../trace/Run.ts"
import { summary, toJson } from "../trace/Summary.ts"

const specOf = (args: CliArgs, seed: number, keepEvents = true): RunSpec => ({ seed, tape: null, steps: args.steps, bug: args.bug, bugs: bugSwitches(args.bug), keepEvents })

const storesOf = (args: CliArgs): StoresSpec => ({ consensus: args.stores, blobDir: args.blobDir })

const wallMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6

/** One seed's verdict in a comparison. */
export interface Comparison {
  readonly seed: number
  readonly modelDigest: string
  readonly realDigest: string
  readonly same: boolean
  /** The first event that differs (null when the events agree; the digests may still differ in the final facts). */
  readonly firstDivergence: string | null
  readonly realViolations: number
  readonly steps: number
}

/** Runs `seed` on the models and on a fresh real backend and compares the two. */
export const compareSeed = async (args: CliArgs, seed: number, onReal: (spec: RunSpec) => Promise<Outcome>): Promise<Comparison> => {
  const model = runSpec(specOf(args, seed))
  const real = await onReal(specOf(args, seed))
  const same = model.result.digest === real.result.digest
  return {
    seed,
    modelDigest: model.result.digest,
    realDigest: real.result.digest,
    same,
    firstDivergence: same ? null : firstDivergence(model.result.events, real.result.events, ["model", "real"]),
    realViolations: real.result.violations.length,
    steps: real.result.steps
  }
}

const compare = (args: CliArgs): Promise<number> =>
  withRealStores(storesOf(args), async (stores) => {
    const start = process.hrtime.bigint()
    const results: Array<Comparison> = []
    const slice = sliceOf(args.seeds!, args.shard)
    for (let i = 0; i < slice.count; i++) {
      const seed = seedAt(slice, i)
      const c = await compareSeed(args, seed, (spec) => onFreshBackend(stores, (b) => runSpecOn(spec, b)))
      results.push(c)
      if (args.json) console.log(JSON.stringify(c))
      else if (!c.same) console.log(`seed ${seed}: digests differ (model ${c.modelDigest}, real ${c.realDigest}): ${c.firstDivergence ?? "events identical, final facts differ"}`)
    }
    const differ = results.filter((c) => !c.same)
    if (!args.json) {
      const wall = wallMs(start) / 1000
      const steps = results.reduce((n, c) => n + c.steps, 0)
      console.log(
        `compare ${args.seeds!.from}..${args.seeds!.to} on ${describeStores(storesOf(args))}: ${results.length} seeds, ${results.length - differ.length} identical digests, ${differ.length} differ` +
          `${differ.length > 0 ? ` (seeds ${differ.map((c) => c.seed).join(",")})` : ""}, ${wall.toFixed(1)} s wall, ${(steps / wall).toFixed(0)} real-store requests/s`
      )
    }
    return differ.length > 0 ? 1 : 0
  })

const runOne = (args: CliArgs, seed: number): Promise<number> =>
  withRealStores(storesOf(args), async (stores) => {
    const start = process.hrtime.bigint()
    const o = await onFreshBackend(stores, (b) => runSpecOn(specOf(args, seed), b))
    const file = writeTrace(args.out, `seed-${seed}${args.bug !== null ? `-${args.bug}` : ""}`, o)
    if (args.json) console.log(JSON.stringify({ ...toJson(o, file), stores: describeStores(storesOf(args)) }))
    else console.log(`${summary(o, wallMs(start), file, replayCommand(o.spec, file))}\nstores: ${describeStores(storesOf(args))} (fresh, removed afterwards)`)
    return o.exitCode
  })

/** `--stores` / `--blob-dir` / `--compare`: the front door's entry for real stores. */
export const runReal = (args: CliArgs): Promise<number> => {
  if (args.compare) return compare(args)
  const seeds = args.seeds!
  if (seeds.from === seeds.to && args.shard === null) return runOne(args, seeds.from)
  return withRealStores(storesOf(args), async (stores) =>
    runSweep(args, async (seed) => recordOf(await onFreshBackend(stores, (b) => runSpecOn(specOf(args, seed), b)), seed, args.bug, args.out, args.keepTraces))
  )
}
