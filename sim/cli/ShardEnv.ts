/**
 * `--shard auto`: this process's slice K/N (1-based, as `--shard K/N`) from the environment of
 * the engine that started it. Looked up in this order; the first that is set wins:
 *
 * 1. `PERSIST_SIM_SHARD=K/N` — explicit, 1-based; what a GitHub Actions matrix passes
 *    (`env: PERSIST_SIM_SHARD: ${{ matrix.shard }}/4`), or anything else.
 * 2. Buildkite parallel jobs: `BUILDKITE_PARALLEL_JOB` (0-based) and
 *    `BUILDKITE_PARALLEL_JOB_COUNT`, both set by Buildkite for a step with `parallelism`.
 * 3. Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` (0-based). Kubernetes does not tell the
 *    pod how many completions there are, so the count comes from `--shard-count N` or
 *    `PERSIST_SIM_SHARD_COUNT` (the manifest sets it next to `completions`).
 *
 * Anything unset, non-numeric or out of range is a one-line ShardEnvError (exit 2) that names
 * the variables involved: a shard that silently ran the wrong slice would leave seeds unrun.
 */
/** One line naming what is wrong; Args turns it into a UsageError (exit 2). */
export class ShardEnvError extends Error {
  override readonly name = "ShardEnvError"
}

export type Env = Readonly<Record<string, string | undefined>>

export const SHARD_ENV_HELP =
  "PERSIST_SIM_SHARD=K/N, or BUILDKITE_PARALLEL_JOB with BUILDKITE_PARALLEL_JOB_COUNT, or JOB_COMPLETION_INDEX with --shard-count N or PERSIST_SIM_SHARD_COUNT"

const count = (name: string, v: string): number => {
  if (!/^[1-9][0-9]*$/.test(v.trim())) throw new ShardEnvError(`--shard auto: ${name} must be a positive integer, got ${JSON.stringify(v)}`)
  const n = Number(v.trim())
  if (n > 1_000_000) throw new ShardEnvError(`--shard auto: ${name}=${v} is over the limit of 1000000 shards`)
  return n
}

const index0 = (name: string, v: string, n: number, countName: string): number => {
  if (!/^(0|[1-9][0-9]*)$/.test(v.trim())) throw new ShardEnvError(`--shard auto: ${name} must be a non-negative integer, got ${JSON.stringify(v)}`)
  const i = Number(v.trim())
  if (i >= n) throw new ShardEnvError(`--shard auto: ${name}=${i} is out of range for ${countName}=${n} (0-based, so at most ${n - 1})`)
  return i
}

const present = (env: Env, name: string): string | undefined => {
  const v = env[name]
  return v === undefined || v === "" ? undefined : v
}

/** K/N (1-based) from the environment; `shardCount` is `--shard-count`, if given. */
export const shardFromEnv = (env: Env, shardCount: number | null): { readonly k: number; readonly n: number } => {
  const explicit = present(env, "PERSIST_SIM_SHARD")
  if (explicit !== undefined) {
    const m = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(explicit.trim())
    if (m === null) throw new ShardEnvError(`--shard auto: PERSIST_SIM_SHARD must be K/N (1-based, e.g. 2/4), got ${JSON.stringify(explicit)}`)
    const k = Number(m[1])
    const n = Number(m[2])
    if (k > n) throw new ShardEnvError(`--shard auto: PERSIST_SIM_SHARD=${explicit}: K must be between 1 and N`)
    return { k, n }
  }
  const bk = present(env, "BUILDKITE_PARALLEL_JOB")
  if (bk !== undefined) {
    const bkCount = present(env, "BUILDKITE_PARALLEL_JOB_COUNT")
    if (bkCount === undefined) throw new ShardEnvError("--shard auto: BUILDKITE_PARALLEL_JOB is set but BUILDKITE_PARALLEL_JOB_COUNT is not")
    const n = count("BUILDKITE_PARALLEL_JOB_COUNT", bkCount)
    return { k: index0("BUILDKITE_PARALLEL_JOB", bk, n, "BUILDKITE_PARALLEL_JOB_COUNT") + 1, n }
  }
  const k8s = present(env, "JOB_COMPLETION_INDEX")
  if (k8s !== undefined) {
    const fromEnv = present(env, "PERSIST_SIM_SHARD_COUNT")
    const n = shardCount ?? (fromEnv !== undefined ? count("PERSIST_SIM_SHARD_COUNT", fromEnv) : null)
    if (n === null) throw new ShardEnvError("--shard auto: JOB_COMPLETION_INDEX is set but the shard count is not: pass --shard-count N or set PERSIST_SIM_SHARD_COUNT")
    return { k: index0("JOB_COMPLETION_INDEX", k8s, n, shardCount !== null ? "--shard-count" : "PERSIST_SIM_SHARD_COUNT") + 1, n }
  }
  throw new ShardEnvError(`--shard auto: no shard in the environment (looked for ${SHARD_ENV_HELP})`)
}
