import { describe, expect, it } from "vitest"
import { parseArgs, UsageError } from "./Args.ts"
import { shardFromEnv, ShardEnvError } from "./ShardEnv.ts"

const fails = (env: Record<string, string>, count: number | null, pattern: RegExp) => {
  expect(() => shardFromEnv(env, count)).toThrow(ShardEnvError)
  expect(() => shardFromEnv(env, count)).toThrow(pattern)
}

describe("shardFromEnv", () => {
  it("PERSIST_SIM_SHARD - K/N, 1-based, as a GitHub Actions matrix passes it", () => {
    expect(shardFromEnv({ PERSIST_SIM_SHARD: "3/4" }, null)).toEqual({ k: 3, n: 4 })
    fails({ PERSIST_SIM_SHARD: "0/4" }, null, /PERSIST_SIM_SHARD must be K\/N/)
    fails({ PERSIST_SIM_SHARD: "5/4" }, null, /K must be between 1 and N/)
    fails({ PERSIST_SIM_SHARD: "two" }, null, /PERSIST_SIM_SHARD/)
  })

  it("Buildkite - BUILDKITE_PARALLEL_JOB is 0-based, its count comes along", () => {
    expect(shardFromEnv({ BUILDKITE_PARALLEL_JOB: "0", BUILDKITE_PARALLEL_JOB_COUNT: "4" }, null)).toEqual({ k: 1, n: 4 })
    expect(shardFromEnv({ BUILDKITE_PARALLEL_JOB: "3", BUILDKITE_PARALLEL_JOB_COUNT: "4" }, null)).toEqual({ k: 4, n: 4 })
    fails({ BUILDKITE_PARALLEL_JOB: "4", BUILDKITE_PARALLEL_JOB_COUNT: "4" }, null, /out of range/)
    fails({ BUILDKITE_PARALLEL_JOB: "1" }, null, /BUILDKITE_PARALLEL_JOB_COUNT is not/)
    fails({ BUILDKITE_PARALLEL_JOB: "-1", BUILDKITE_PARALLEL_JOB_COUNT: "4" }, null, /non-negative integer/)
    fails({ BUILDKITE_PARALLEL_JOB: "1", BUILDKITE_PARALLEL_JOB_COUNT: "x" }, null, /positive integer/)
  })

  it("Kubernetes - JOB_COMPLETION_INDEX with --shard-count or PERSIST_SIM_SHARD_COUNT", () => {
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: "2" }, 4)).toEqual({ k: 3, n: 4 })
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: "2", PERSIST_SIM_SHARD_COUNT: "3" }, null)).toEqual({ k: 3, n: 3 })
    // The flag wins over the variable: it is the more local setting.
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: "2", PERSIST_SIM_SHARD_COUNT: "3" }, 8)).toEqual({ k: 3, n: 8 })
    fails({ JOB_COMPLETION_INDEX: "2" }, null, /--shard-count N or set PERSIST_SIM_SHARD_COUNT/)
    fails({ JOB_COMPLETION_INDEX: "3" }, 3, /out of range for --shard-count=3/)
    fails({ JOB_COMPLETION_INDEX: "1.5" }, 3, /non-negative integer/)
  })

  it("nothing set - names every variable it looked for; empty values count as unset", () => {
    fails({}, null, /PERSIST_SIM_SHARD=K\/N, or BUILDKITE_PARALLEL_JOB with BUILDKITE_PARALLEL_JOB_COUNT, or JOB_COMPLETION_INDEX/)
    fails({ PERSIST_SIM_SHARD: "", JOB_COMPLETION_INDEX: "" }, null, /no shard in the environment/)
  })

  it("parseArgs - --shard auto resolves from the given environment, and needs --seeds", () => {
    expect(parseArgs(["--seeds", "1..40", "--shard", "auto"], { PERSIST_SIM_SHARD: "2/4" }).shard).toEqual({ k: 2, n: 4 })
    expect(parseArgs(["--seeds", "1..40", "--shard", "auto", "--shard-count", "5"], { JOB_COMPLETION_INDEX: "4" }).shard).toEqual({ k: 5, n: 5 })
    expect(() => parseArgs(["--seeds", "1..40", "--shard", "auto"], {})).toThrow(UsageError)
    expect(() => parseArgs(["--seeds", "1..40", "--shard", "auto"], {})).toThrow(/no shard in the environment/)
    expect(() => parseArgs(["--seeds", "1..40", "--shard-count", "4"], {})).toThrow(/goes with --shard auto/)
    expect(parseArgs(["--merge", "a", "b", "--json"], {}).merge).toEqual(["a", "b"])
  })
})
