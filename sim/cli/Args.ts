/**
 * Command-line parsing for `npm run sim`. Every malformed input is a UsageError with a one-line
 * message (exit 2), never a stack trace.
 */
export { DEFAULT_STEPS } from "../trace/Run.ts"
import { DEFAULT_STEPS } from "../trace/Run.ts"

export class UsageError extends Error {
  override readonly name = "UsageError"
}

export interface CliArgs {
  readonly seeds: { readonly from: number; readonly to: number } | null
  readonly replay: string | null
  readonly report: string | null
  readonly scenario: string | null
  readonly bug: string | null
  readonly steps: number
  readonly jobs: number
  readonly shard: { readonly k: number; readonly n: number } | null
  readonly json: boolean
  readonly out: string
  readonly listScenarios: boolean
  readonly listBugs: boolean
  readonly help: boolean
  readonly quiet: boolean
  readonly keepTraces: boolean
  /** Real stores (issue 12): "memory" (default), "pglite" or a postgres:// URL; and a Blob directory. */
  readonly stores: string
  readonly blobDir: string | null
  readonly compare: boolean
}

export const HELP = `persist-sim: deterministic simulation of Materialize persist's state layer

usage: npm run sim -- [options]

  --seed N            run one seeded world (N: a non-negative integer)
  --seeds A..B        run every seed from A to B inclusive (a sweep)
  --steps N           delivered store requests in the main phase (default ${DEFAULT_STEPS})
  --replay FILE       re-run a trace file exactly and compare its digest
  --bug NAME          switch on one planted bug (see --list-bugs)
  --scenario NAME     run a named scripted scenario (see --list-scenarios)
  --jobs N            run a sweep on N worker threads (default 1)
  --shard K/N         run only the K-th of N slices of the seed range (1 <= K <= N)
  --json              print one JSON object per run on stdout, nothing else
  --out DIR           where traces and reports go (default reports/out)
  --report FILE       render Markdown and HTML reports from a trace file
  --list-scenarios    list scenario names with descriptions
  --list-bugs         list planted bug names with descriptions
  --quiet             sweeps: no per-seed lines
  --keep-traces       sweeps: write every seed's trace, not only failing ones
  --stores S          Consensus on memory (default), pglite (embedded) or a postgres://… server;
                      every delivered request runs on it beside the model (seeds run one by one)
  --blob-dir DIR      Blob in a fresh directory under DIR per run (removed afterwards)
  --compare           run each seed on the models and on --stores/--blob-dir; report seeds whose
                      digests differ, with the first divergent event (exit 1 if any)
  --help              this text

exit codes: 0 every invariant held, 1 a violation was found (trace and report written),
            2 bad usage or input, 3 the harness itself failed (e.g. a replay diverged)`

const nonNegInt = (flag: string, v: string | undefined): number => {
  if (v === undefined) throw new UsageError(`${flag} needs a value`)
  if (!/^(0|[1-9][0-9]*)$/.test(v)) throw new UsageError(`${flag} expects a non-negative integer, got ${JSON.stringify(v)}`)
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n >= 2 ** 32) throw new UsageError(`${flag} must be below 2^32, got ${v}`)
  return n
}

export const parseArgs = (argv: ReadonlyArray<string>): CliArgs => {
  let seeds: CliArgs["seeds"] = null
  let replay: string | null = null
  let report: string | null = null
  let scenario: string | null = null
  let bug: string | null = null
  let steps = DEFAULT_STEPS
  let jobs = 1
  let shard: CliArgs["shard"] = null
  let json = false
  let out = "reports/out"
  let listScenarios = false
  let listBugs = false
  let help = false
  let quiet = false
  let keepTraces = false
  let stores = "memory"
  let blobDir: string | null = null
  let compare = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${a} needs a value`)
      return v
    }
    switch (a) {
      case "--seed": {
        const n = nonNegInt(a, value())
        seeds = { from: n, to: n }
        break
      }
      case "--seeds": {
        const v = value()
        const m = /^(0|[1-9][0-9]*)\.\.(0|[1-9][0-9]*)$/.exec(v)
        if (m === null) throw new UsageError(`--seeds expects A..B (e.g. 1..100), got ${JSON.stringify(v)}`)
        const from = nonNegInt(a, m[1])
        const to = nonNegInt(a, m[2])
        if (to < from) throw new UsageError(`--seeds ${v}: the range is empty (B < A)`)
        seeds = { from, to }
        break
      }
      case "--steps":
        steps = nonNegInt(a, value())
        if (steps === 0) throw new UsageError("--steps must be at least 1")
        break
      case "--replay":
        replay = value()
        break
      case "--report":
        report = value()
        break
      case "--scenario":
        scenario = value()
        break
      case "--bug":
        bug = value()
        break
      case "--jobs":
        jobs = nonNegInt(a, value())
        if (jobs < 1 || jobs > 64) throw new UsageError("--jobs must be between 1 and 64")
        break
      case "--shard": {
        const v = value()
        const m = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(v)
        if (m === null) throw new UsageError(`--shard expects K/N (e.g. 2/4), got ${JSON.stringify(v)}`)
        const k = Number(m[1])
        const n = Number(m[2])
        if (k > n) throw new UsageError(`--shard ${v}: K must be between 1 and N`)
        shard = { k, n }
        break
      }
      case "--json":
        json = true
        break
      case "--out":
        out = value()
        break
      case "--list-scenarios":
        listScenarios = true
        break
      case "--list-bugs":
        listBugs = true
        break
      case "--quiet":
        quiet = true
        break
      case "--keep-traces":
        keepTraces = true
        break
      case "--stores": {
        stores = value()
        if (!["memory", "pglite"].includes(stores) && !/^postgres(ql)?:\/\/./.test(stores)) throw new UsageError(`--stores expects memory, pglite or a postgres:// URL, got ${JSON.stringify(stores)}`)
        break
      }
      case "--blob-dir":
        blobDir = value()
        break
      case "--compare":
        compare = true
        break
      case "--help":
      case "-h":
        help = true
        break
      default:
        throw new UsageError(`unknown option ${JSON.stringify(a)} (see --help)`)
    }
  }
  const modes = [seeds !== null, replay !== null, report !== null, scenario !== null].filter(Boolean).length
  if (modes > 1 && !(scenario !== null && seeds !== null)) throw new UsageError("choose one of --seed/--seeds, --replay, --report, --scenario")
  if (!help && !listBugs && !listScenarios && modes === 0) throw new UsageError("nothing to do: give --seed N, --seeds A..B, --replay FILE, --scenario NAME or --report FILE (see --help)")
  const real = stores !== "memory" || blobDir !== null
  if (compare && !real) throw new UsageError("--compare needs --stores pglite|postgres://… or --blob-dir DIR to compare with")
  if (real && (seeds === null || replay !== null || scenario !== null)) throw new UsageError("--stores/--blob-dir/--compare work with --seed or --seeds only")
  if (real && jobs > 1) throw new UsageError("--stores/--blob-dir run seeds one at a time: drop --jobs")
  return { seeds, replay, report, scenario, bug, steps, jobs, shard, json, out, listScenarios, listBugs, help, quiet, keepTraces, stores, blobDir, compare }
}
