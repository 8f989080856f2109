/**
 * Command-line parsing for `npm run sim`. Every malformed input is a UsageError with a one-line
 * message (exit 2), never a stack trace: a flag given twice, or with a mode it does not apply
 * to, is refused rather than silently resolved.
 */
export { DEFAULT_STEPS } from "../trace/Run.ts"
import { DEFAULT_STEPS } from "../trace/Run.ts"
import { shardFromEnv, ShardEnvError, type Env } from "./ShardEnv.ts"
import { isNemesisMode, NEMESIS_MODES, type NemesisMode } from "../world/NemesisMode.ts"

export class UsageError extends Error {
  override readonly name = "UsageError"
}

export interface CliArgs {
  readonly seeds: { readonly from: number; readonly to: number } | null
  /** `--seeds A..B` (a sweep, even of one seed) rather than `--seed N` (one world, full summary). */
  readonly sweep: boolean
  readonly replay: string | null
  readonly report: string | null
  readonly scenario: string | null
  readonly bug: string | null
  /** `--nemesis MODE` (sim/world/NemesisMode.ts); null: each seed's own draw. */
  readonly nemesis: NemesisMode | null
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
  /** `--log-all`: the short log with every event, even of a shrunk run (whose `--log` folds what the story does not need). */
  readonly logAll: boolean
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
  --replay FILE       re-run a trace file exactly and compare every event and its digest
  --bug NAME          switch on one planted bug (see --list-bugs)
  --nemesis MODE      off|delete|wipe|gc|all: faults the system does not make itself (README
                      "Faults"); absent, a sixteenth of seeds draw the GC-race nemesis
  --scenario NAME     run a named scripted scenario, or all (see --list-scenarios)
  --jobs N            run a sweep on N worker threads (default 1)
  --shard K/N         run only the K-th of N slices of the seed range (1 <= K <= N)
  --shard auto        take K/N from the CI or Kubernetes environment (README "Sharded sweeps")
  --shard-count N     with --shard auto on a Kubernetes Indexed Job: the number of completions
  --merge DIR|FILE... combine sweep summaries (*.summary.json) into one; names missing seeds
  --json              print one JSON object per run on stdout, nothing else
  --out DIR           where traces and reports go (default reports/out)
  --report FILE|DIR   render Markdown and HTML reports from a trace file, or a sweep's page
  --list-scenarios    list scenario names with descriptions
  --list-bugs         list planted bug names with descriptions
  --list-findings     list the known findings: what they are, their seeds, where upstream stands
  --quiet             sweeps: no per-seed lines
  --keep-traces       sweeps: write every seed's trace, not only failing ones
  --shrink            minimise a failing run's tape (with --seed, --replay or a sweep);
                      writes <trace>.min.jsonl and its reports
  --shrink-budget S   wall-clock seconds a shrink may take (default 60)
  --shrink-attempts N runs a shrink may try (default 2000; keeps it deterministic)
  --log               print the short log (with --seed, or --replay FILE instead of re-running); of a
                      shrunk trace, the story: events the failure does not touch folded into one line
  --log-all           the short log with every event
  --stores S          Consensus on memory (default), pglite (embedded) or a postgres://… server;
                      every delivered request runs on it beside the model (seeds run one by one)
  --blob-dir DIR      Blob in a fresh directory under DIR per run (removed afterwards)
  --compare           run each seed on the models and on --stores/--blob-dir; report seeds whose
                      digests differ, with the first divergent event (exit 1 if any)
  --help              this text (whatever else is given)

Each option may be given once, and only with a mode it applies to: --replay takes its seed,
steps and bug from the trace; --jobs, --shard, --quiet and --keep-traces are for --seeds.
--out is checked (created, a probe file written and removed) before any world runs.

exit codes: 0 every invariant held, 1 a violation was found (trace and report written),
            2 bad usage or input, 3 the harness itself failed (e.g. a replay diverged),
            130 / 143 interrupted by SIGINT / SIGTERM (a sweep prints the seeds it finished)`

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
  let nemesis: NemesisMode | null = null
  let steps = DEFAULT_STEPS
  let jobs = 1
  let shard: CliArgs["shard"] = null
  let shardAuto = false
  let shardCount: number | null = null
  let json = false
  let out = "reports/out"
  let listScenarios = false
  let listBugs = false
  let listFindings = false
  let help = false
  let quiet = false
  let keepTraces = false
  let sweep = false
  let merge: Array<string> | null = null
  let shrink = false
  let shrinkBudget = 60
  let shrinkAttempts = 2000
  let log = false
  let logAll = false
  let stores = "memory"
  let blobDir: string | null = null
  let compare = false
  const given = new Set<string>()
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const flag = a === "-h" ? "--help" : a
    // A repeated flag is refused rather than resolved: `--seed 1 --seed 2` has no obvious meaning.
    if (FLAGS.has(flag)) {
      if (given.has(flag)) throw new UsageError(`${flag} given more than once`)
      given.add(flag)
    }
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
        sweep = true
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
      case "--nemesis": {
        const v = value()
        if (!isNemesisMode(v)) throw new UsageError(`--nemesis expects one of ${NEMESIS_MODES.join("|")}, got ${JSON.stringify(v)}`)
        nemesis = v
        break
      }
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
        if (m === null) throw new UsageError(`--shard expects K/N (e.g. 2/4) or auto, got ${JSON.stringify(v)}`)
        const k = Number(m[1])
        const n = Number(m[2])
        if (n >= 2 ** 32) throw new UsageError(`--shard ${v}: N must be below 2^32`)
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
      case "--log-all":
        log = true
        logAll = true
        break
      case "--stores":
        stores = value()
        if (!["memory", "pglite"].includes(stores) && !/^postgres(ql)?:\/\/./.test(stores)) throw new UsageError(`--stores expects memory, pglite or a postgres:// URL, got ${JSON.stringify(stores)}`)
        break
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
  if (!help) {
    checkCombination(given)
    if (shardAuto) {
      try {
        shard = shardFromEnv(env, shardCount)
      } catch (e) {
        throw e instanceof ShardEnvError ? new UsageError(e.message) : e
      }
    }
    const real = stores !== "memory" || blobDir !== null
    if (compare && !real) throw new UsageError("--compare needs --stores pglite|postgres://… or --blob-dir DIR to compare with")
    if (real && jobs > 1) throw new UsageError("--stores/--blob-dir run seeds one at a time: drop --jobs")
    // The nemeses write the in-memory stores directly: a real backend would not see them.
    if (real && nemesis !== null) throw new UsageError("--nemesis runs on the in-memory stores only: drop --stores/--blob-dir")
  }
  return {
    seeds, sweep, replay, report, scenario, bug, nemesis, steps, jobs, shard, json, out, listScenarios, listBugs, listFindings, help, quiet, keepTraces,
    merge, shrink, shrinkBudget, shrinkAttempts, log, logAll, stores, blobDir, compare
  }
}

const FLAGS = new Set([
  "--seed", "--seeds", "--steps", "--replay", "--report", "--scenario", "--bug", "--nemesis", "--jobs", "--shard", "--shard-count", "--merge", "--json", "--out",
  "--list-scenarios", "--list-bugs", "--list-findings", "--quiet", "--keep-traces", "--shrink", "--shrink-budget", "--shrink-attempts", "--log", "--log-all",
  "--stores", "--blob-dir", "--compare", "--help"
])

/** The flags that choose what to do; exactly one (`--scenario` may take a seed range). */
const MODES = ["--seed", "--seeds", "--replay", "--report", "--scenario", "--merge", "--list-bugs", "--list-scenarios", "--list-findings"] as const

/** For every other flag, the modes it means something in; anywhere else it would be ignored. */
const APPLIES: ReadonlyArray<readonly [string, ReadonlyArray<string>, string]> = [
  ["--steps", ["--seed", "--seeds", "--scenario"], "a replay takes its steps from the trace"],
  ["--bug", ["--seed", "--seeds", "--scenario"], "a replay takes its bug from the trace"],
  ["--nemesis", ["--seed", "--seeds"], "a replay takes its nemesis from the trace; a scenario pins its own"],
  ["--jobs", ["--seeds"], "only a sweep runs on worker threads"],
  ["--shard", ["--seeds"], "only a sweep is sliced"],
  ["--shard-count", ["--seeds"], "it goes with --shard auto"],
  ["--quiet", ["--seeds"], "only a sweep prints per-seed lines"],
  ["--keep-traces", ["--seeds"], "only a sweep skips passing seeds' traces"],
  ["--json", ["--seed", "--seeds", "--replay", "--scenario", "--merge"], "it prints text only"],
  ["--out", ["--seed", "--seeds", "--scenario", "--report", "--merge"], "it writes no files"],
  ["--shrink", ["--seed", "--seeds", "--replay"], "only a run that can fail is shrunk"],
  ["--shrink-budget", ["--seed", "--seeds", "--replay"], "it goes with --shrink"],
  ["--shrink-attempts", ["--seed", "--seeds", "--replay"], "it goes with --shrink"],
  ["--log", ["--seed", "--replay"], "the short log is of one run"],
  ["--log-all", ["--seed", "--replay"], "the short log is of one run"],
  ["--stores", ["--seed", "--seeds"], "real stores run seeds"],
  ["--blob-dir", ["--seed", "--seeds"], "real stores run seeds"],
  ["--compare", ["--seed", "--seeds"], "it compares seeds' runs"]
]

/** Refuses combinations that would otherwise be silently resolved, one line each. */
const checkCombination = (given: ReadonlySet<string>): void => {
  if (given.has("--seed") && given.has("--seeds")) throw new UsageError("--seed and --seeds conflict: give one seed or one range")
  const modes = MODES.filter((m) => given.has(m))
  const scenarioOverSeeds = modes.length === 2 && given.has("--scenario") && given.has("--seeds")
  if (modes.length > 1 && !scenarioOverSeeds) throw new UsageError(`${modes[0]} and ${modes[1]} conflict: choose one of --seed/--seeds, --replay, --report, --scenario, --merge, --list-*`)
  if (modes.length === 0) throw new UsageError("nothing to do: give --seed N, --seeds A..B, --replay FILE, --scenario NAME, --report FILE or --merge DIR (see --help)")
  const mode = scenarioOverSeeds ? "--scenario" : modes[0]!
  for (const [flag, where, why] of APPLIES) {
    if (given.has(flag) && !where.includes(mode) && !(scenarioOverSeeds && where.includes("--seeds"))) throw new UsageError(`${flag} does not apply to ${mode}: ${why}`)
  }
  if (given.has("--quiet") && given.has("--json")) throw new UsageError("--quiet and --json conflict: --json already prints one record per seed and nothing else")
  for (const f of ["--shrink-budget", "--shrink-attempts"]) if (given.has(f) && !given.has("--shrink")) throw new UsageError(`${f} goes with --shrink`)
  if (given.has("--shard-count") && !given.has("--shard")) throw new UsageError("--shard-count goes with --shard auto")
  if (given.has("--nemesis") && given.has("--shrink")) throw new UsageError("--shrink does not apply with --nemesis: the shrinker re-runs tapes without the nemeses")
}
