/**
 * Command-line parsing for `npm run sim`. Every malformed input is a UsageError with a one-line
 * message (exit 2), never a stack trace.
 */
export { DEFAULT_STEPS } from "../trace/Run.ts"
import { DEFAULT_STEPS } from "../trace/Run.ts"
import { shardFromEnv, ShardEnvError, type Env } from "./ShardEnv.ts"

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
  readonly listFindings: boolean
  readonly help: boolean
  readonly quiet: boolean
  readonly keepTraces: boolean
  /** `--merge`: summary files or folders to combine (sim/cli/Merge.ts). */
  readonly merge: ReadonlyArray<string> | null
  /** Shrinking and the short log (see sim/cli/Reports.ts). */
  readonly shrink: boolean
  readonly shrinkBudget: number
  readonly shrinkAttempts: number
  readonly log: boolean
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
  --shard auto        take K/N from the CI or Kubernetes environment (README "Sharded sweeps")
  --shard-count N     with --shard auto on a Kubernetes Indexed Job: the number of completions
  --merge DIR|FILE... combine sweep summaries (*.summary.json) into one; names missing seeds
  --json              print one JSON object per run on stdout, nothing else
  --out DIR           where traces and reports go (default reports/out)
  --report FILE       render Markdown and HTML reports from a trace file
  --list-scenarios    list scenario names with descriptions
  --list-bugs         list planted bug names with descriptions
  --list-findings     list the known findings: what they are, their seeds, where upstream stands
  --quiet             sweeps: no per-seed lines
  --keep-traces       sweeps: write every seed's trace, not only failing ones
  --shrink            minimise a failing run's tape (with --seed, --replay or a sweep);
                      writes <trace>.min.jsonl and its reports
  --shrink-budget S   wall-clock seconds a shrink may take (default 60)
  --shrink-attempts N runs a shrink may try (default 2000; keeps it deterministic)
  --log               print the short log (with --seed, or --replay FILE instead of re-running)
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

export const parseArgs = (argv: ReadonlyArray<string>, env: Env = process.env): CliArgs => {
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
  let listFindings = false
  let help = false
  let quiet = false
  let keepTraces = false
  let merge: Array<string> | null = null
  let shardAuto = false
  let shardCount: number | null = null
  let shrink = false
  let shrinkBudget = 60
  let shrinkAttempts = 2000
  let log = false
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
        if (v === "auto") {
          shardAuto = true
          break
        }
        const m = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(v)
        if (m === null) throw new UsageError(`--shard expects K/N (e.g. 2/4), got ${JSON.stringify(v)}`)
        const k = Number(m[1])
        const n = Number(m[2])
        if (k > n) throw new UsageError(`--shard ${v}: K must be between 1 and N`)
        shard = { k, n }
        break
      }
      case "--shard-count":
        shardCount = nonNegInt(a, value())
        if (shardCount === 0) throw new UsageError("--shard-count must be at least 1")
        break
      case "--merge":
        merge = [value()]
        while (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) merge.push(argv[++i]!)
        break
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
      case "--list-findings":
        listFindings = true
        break
      case "--quiet":
        quiet = true
        break
      case "--keep-traces":
        keepTraces = true
        break
      case "--shrink":
        shrink = true
        break
      case "--shrink-budget":
        shrinkBudget = nonNegInt(a, value())
        if (shrinkBudget < 1) throw new UsageError("--shrink-budget must be at least 1 second")
        break
      case "--shrink-attempts":
        shrinkAttempts = nonNegInt(a, value())
        if (shrinkAttempts < 1) throw new UsageError("--shrink-attempts must be at least 1")
        break
      case "--log":
        log = true
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
  const modes = [seeds !== null, replay !== null, report !== null, scenario !== null, merge !== null].filter(Boolean).length
  if (modes > 1 && !(scenario !== null && seeds !== null)) throw new UsageError("choose one of --seed/--seeds, --replay, --report, --scenario, --merge")
  if (!help && !listBugs && !listFindings && !listScenarios && modes === 0) throw new UsageError("nothing to do: give --seed N, --seeds A..B, --replay FILE, --scenario NAME, --report FILE or --merge DIR (see --help)")
  if (shardCount !== null && !shardAuto) throw new UsageError("--shard-count goes with --shard auto")
  if (shardAuto) {
    if (shard !== null) throw new UsageError("give --shard once")
    if (seeds === null) throw new UsageError("--shard auto needs --seeds A..B")
    try {
      shard = shardFromEnv(env, shardCount)
    } catch (e) {
      throw e instanceof ShardEnvError ? new UsageError(e.message) : e
    }
  }
  const real = stores !== "memory" || blobDir !== null
  if (compare && !real) throw new UsageError("--compare needs --stores pglite|postgres://… or --blob-dir DIR to compare with")
  if (real && (seeds === null || replay !== null || scenario !== null)) throw new UsageError("--stores/--blob-dir/--compare work with --seed or --seeds only")
  if (real && jobs > 1) throw new UsageError("--stores/--blob-dir run seeds one at a time: drop --jobs")
  return { seeds, replay, report, scenario, bug, steps, jobs, shard, json, out, listScenarios, listBugs, listFindings, help, quiet, keepTraces, merge, shrink, shrinkBudget, shrinkAttempts, log, stores, blobDir, compare }
}
