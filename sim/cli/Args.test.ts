import { describe, expect, it } from "vitest"
import { parseArgs, UsageError } from "./Args.ts"

const refused = (argv: Array<string>): string => {
  try {
    parseArgs(argv)
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError)
    return (e as Error).message
  }
  throw new Error(`accepted: ${argv.join(" ")}`)
}

describe("parseArgs", () => {
  it("refuses a repeated flag instead of keeping the last one", () => {
    expect(refused(["--seed", "1", "--seed", "2"])).toMatch(/--seed given more than once/)
    expect(refused(["--seeds", "1..2", "--steps", "5", "--steps", "6"])).toMatch(/--steps given more than once/)
    expect(refused(["--seeds", "1..2", "--quiet", "--quiet"])).toMatch(/--quiet given more than once/)
    expect(refused(["--seed", "1", "--out", "a", "--out", "b"])).toMatch(/--out given more than once/)
  })

  it("refuses conflicting modes", () => {
    expect(refused(["--seed", "1", "--seeds", "3..4"])).toMatch(/--seed and --seeds conflict/)
    expect(refused(["--seed", "1", "--replay", "f"])).toMatch(/--seed and --replay conflict/)
    expect(refused(["--replay", "f", "--report", "g"])).toMatch(/--replay and --report conflict/)
    expect(refused(["--seed", "1", "--list-bugs"])).toMatch(/--seed and --list-bugs conflict/)
    expect(refused(["--list-bugs", "--list-scenarios"])).toMatch(/conflict/)
  })

  it("refuses a flag its mode would ignore", () => {
    expect(refused(["--replay", "f", "--bug", "b"])).toMatch(/--bug does not apply to --replay/)
    expect(refused(["--replay", "f", "--steps", "5"])).toMatch(/--steps does not apply to --replay/)
    expect(refused(["--replay", "f", "--out", "d"])).toMatch(/--out does not apply to --replay/)
    expect(refused(["--seed", "1", "--jobs", "2"])).toMatch(/--jobs does not apply to --seed/)
    expect(refused(["--seed", "1", "--shard", "1/2"])).toMatch(/--shard does not apply to --seed/)
    expect(refused(["--seed", "1", "--quiet"])).toMatch(/--quiet does not apply to --seed/)
    expect(refused(["--seed", "1", "--keep-traces"])).toMatch(/--keep-traces does not apply to --seed/)
    expect(refused(["--list-bugs", "--json"])).toMatch(/--json does not apply to --list-bugs/)
    expect(refused(["--seeds", "1..3", "--quiet", "--json"])).toMatch(/--quiet and --json conflict/)
    expect(refused(["--seeds", "1..3", "--shard", "1/4294967296"])).toMatch(/N must be below 2\^32/)
  })

  it("accepts what it always did, and --help wins over the rest", () => {
    expect(parseArgs(["--seed", "3"])).toMatchObject({ seeds: { from: 3, to: 3 }, sweep: false })
    expect(parseArgs(["--seeds", "3..3"])).toMatchObject({ seeds: { from: 3, to: 3 }, sweep: true })
    expect(parseArgs(["--seeds", "1..4294967295", "--shard", "1/100000", "--jobs", "2", "--quiet", "--keep-traces", "--bug", "b", "--steps", "9", "--out", "o"])).toMatchObject({ jobs: 2, quiet: true })
    expect(parseArgs(["--replay", "f", "--json"])).toMatchObject({ replay: "f", json: true })
    expect(parseArgs(["--seed", "1", "--help", "--seeds", "2..3"]).help).toBe(true)
  })

  it("parseArgs - --nemesis takes a mode, with --seed or --seeds only, never with --shrink or real stores", () => {
    expect(parseArgs(["--seed", "1", "--nemesis", "gc"]).nemesis).toBe("gc")
    expect(parseArgs(["--seeds", "1..3", "--nemesis", "all"]).nemesis).toBe("all")
    expect(parseArgs(["--seed", "1"]).nemesis).toBeNull()
    expect(refused(["--seed", "1", "--nemesis", "sometimes"])).toMatch(/--nemesis expects one of off\|delete\|wipe\|gc\|all/)
    expect(refused(["--replay", "f", "--nemesis", "gc"])).toMatch(/--nemesis does not apply to --replay/)
    expect(refused(["--seed", "1", "--nemesis", "gc", "--shrink"])).toMatch(/--shrink does not apply with --nemesis/)
    expect(refused(["--seed", "1", "--nemesis", "gc", "--stores", "pglite"])).toMatch(/--nemesis runs on the in-memory stores only/)
  })
})
