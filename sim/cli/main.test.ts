import { execFile, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"

const exec = promisify(execFile)
const out = mkdtempSync(join(tmpdir(), "persist-sim-cli-"))
afterAll(() => rmSync(out, { recursive: true, force: true }))

/** Runs the CLI in its own process; never throws on a non-zero exit. */
const sim = async (...args: Array<string>): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const { stdout, stderr } = await exec(process.execPath, ["--import", "tsx", "sim/cli/main.ts", ...args], { maxBuffer: 32 * 1024 * 1024 })
    return { code: 0, stdout, stderr }
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string }
    return { code: err.code, stdout: err.stdout, stderr: err.stderr }
  }
}

describe("cli", () => {
  it("--seed - prints the summary, writes the trace and ends with the reproduce line", async () => {
    const r = await sim("--seed", "3", "--out", out)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("persist-sim seed 3: all invariants held")
    expect(r.stdout.trim().split("\n").pop()).toBe("reproduce with: npm run sim -- --seed 3")
    expect(readFileSync(join(out, "seed-3.jsonl"), "utf8").split("\n")[0]).toContain('"type":"header"')
  })

  it("--replay - reproduces the digest and the exit code of a passing and of a failing run", async () => {
    const pass = JSON.parse((await sim("--seed", "5", "--json", "--out", out)).stdout) as { digest: string }
    const replayed = await sim("--replay", join(out, "seed-5.jsonl"), "--json")
    expect(replayed.code).toBe(0)
    expect((JSON.parse(replayed.stdout) as { digest: string }).digest).toBe(pass.digest)

    const failing = await sim("--seed", "1", "--bug", "gc-removes-latest-rollup", "--json", "--out", out)
    expect(failing.code).toBe(1)
    const again = await sim("--replay", join(out, "seed-1-gc-removes-latest-rollup.jsonl"), "--json")
    expect(again.code).toBe(1)
    expect((JSON.parse(again.stdout) as { digest: string }).digest).toBe((JSON.parse(failing.stdout) as { digest: string }).digest)
  })

  it("--replay - a trace whose events were tampered with is a harness failure naming the first divergent event", async () => {
    await sim("--seed", "6", "--out", out)
    const lines = readFileSync(join(out, "seed-6.jsonl"), "utf8").split("\n")
    const i = lines.findIndex((l) => l.includes('"type":"event"') && l.includes('"step":3,'))
    // An edited result with the footer's digest left alone: only comparing events sees it.
    lines[i] = lines[i]!.replace(/"result":"[^"]*"/, '"result":"edited"')
    const bad = join(out, "tampered.jsonl")
    writeFileSync(bad, lines.join("\n"))
    const r = await sim("--replay", bad)
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/replay diverged: first difference at event \d+ \(step 3\), field result: recorded "edited", replayed /)
  })

  it("bad input - one clear line and exit 2, never a stack trace", async () => {
    const cases: Array<[Array<string>, RegExp]> = [
      [["--seed", "x"], /--seed expects a non-negative integer/],
      [["--seeds", "9..3"], /range is empty/],
      [["--frobnicate"], /unknown option/],
      [[], /nothing to do/],
      [["--seed", "1", "--bug", "nope"], /unknown bug/],
      [["--replay", join(out, "missing.jsonl")], /cannot read trace file/],
      [["--shard", "5/2", "--seeds", "1..4"], /K must be between 1 and N/]
    ]
    const garbage = join(out, "garbage.jsonl")
    writeFileSync(garbage, "this is not a trace\n{}\n")
    cases.push([["--replay", garbage], /malformed trace file .*line 1 is not JSON/])
    const truncated = join(out, "truncated.jsonl")
    writeFileSync(truncated, readFileSync(join(out, "seed-3.jsonl"), "utf8").split("\n").slice(0, 5).join("\n"))
    cases.push([["--replay", truncated], /malformed trace file .*\(footer; truncated trace\?\)/])
    const formatOne = join(out, "format1.jsonl")
    writeFileSync(formatOne, '{"type":"header","format":1,"seed":1,"steps":2000}\n{"type":"footer","tape":[],"digest":"0"}\n')
    cases.push([["--replay", formatOne], /trace format 1 is not supported .*re-run the seed/])
    // Refused before any world runs: nothing on stdout.
    const afile = join(out, "afile")
    writeFileSync(afile, "")
    cases.push(
      [["--seed", "1", "--out", "/proc/x"], /--out \/proc\/x: \/proc is on the proc file system/],
      [["--seed", "1", "--out", afile], /afile exists and is not a folder/],
      [["--seed", "1", "--out", join(afile, "sub")], /afile exists and is not a folder/],
      [["--seed", "1", "--out", ""], /--out is empty/],
      [["--seeds", "1..3", "--out", "/proc/x"], /proc file system/],
      [["--seed", "1", "--seeds", "3..4"], /--seed and --seeds conflict/],
      [["--seed", "1", "--seed", "2"], /--seed given more than once/],
      [["--replay", join(out, "seed-3.jsonl"), "--bug", "gc-removes-latest-rollup"], /--bug does not apply to --replay/],
      [["--replay", "/dev/zero"], /\/dev\/zero is not a regular file/]
    )
    const header = (edit: (h: Record<string, unknown>) => void): string => {
      const lines = readFileSync(join(out, "seed-3.jsonl"), "utf8").split("\n")
      const h = JSON.parse(lines[0]!) as Record<string, unknown>
      edit(h)
      lines[0] = JSON.stringify(h)
      const f = join(out, `header-${Math.random().toString(36).slice(2)}.jsonl`)
      writeFileSync(f, lines.join("\n"))
      return f
    }
    cases.push(
      [["--replay", header((h) => (h.steps = "abc"))], /line 1 \(header\).*Expected number, actual "abc"/],
      [["--replay", header((h) => (h.steps = -5))], /line 1 \(header\).*positive/],
      [["--replay", header((h) => (h.bug = "no-such-bug"))], /unknown bug "no-such-bug" in its header/]
    )
    const nulls = join(out, "nulls.jsonl")
    writeFileSync(nulls, "null\nnull\nnull\n")
    cases.push([["--replay", nulls], /line 1 is not a trace header/])
    const results = await Promise.all(cases.map(([args]) => sim(...args)))
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]!
      expect({ args, code: r.code }).toEqual({ args, code: 2 })
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toMatch(message)
      expect(r.stdout).toBe("")
    }
  })

  it("--replay - an edited header is never reported as reproduced", async () => {
    const lines = readFileSync(join(out, "seed-3.jsonl"), "utf8").split("\n")
    const h = JSON.parse(lines[0]!) as { seed: number; config: { summary: string } }
    const edit = async (f: (x: typeof h) => void) => {
      const copy = structuredClone(h)
      f(copy)
      const file = join(out, `edited-${Math.random().toString(36).slice(2)}.jsonl`)
      writeFileSync(file, [JSON.stringify(copy), ...lines.slice(1)].join("\n"))
      return sim("--replay", file)
    }
    const seed = await edit((x) => (x.seed = 4))
    expect(seed.code).toBe(3)
    expect(seed.stderr).toMatch(/the header's seed 4 does not draw this trace's tape/)
    // The config is not an input of the run, so only the whole-file comparison sees it.
    const config = await edit((x) => (x.config.summary = "edited"))
    expect(config.code).toBe(3)
    expect(config.stderr).toMatch(/line 1 of the file differs from what this run writes/)
  })

  it("a sweep interrupted by SIGINT / SIGTERM prints the finished seeds' summary and exits 130 / 143", async () => {
    for (const [signal, jobs, code] of [["SIGINT", "1", 130], ["SIGTERM", "2", 143]] as const) {
      const dir = mkdtempSync(join(out, "intr-"))
      const child = spawn(process.execPath, ["--import", "tsx", "sim/cli/main.ts", "--seeds", "1..100000", "--steps", "100", "--jobs", jobs, "--json", "--keep-traces", "--out", dir])
      let stdout = ""
      let signalled = false
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString()
        // Interrupt once a couple of seeds are done.
        if (!signalled && stdout.split("\n").length > 3) {
          signalled = true
          child.kill(signal)
        }
      })
      const exit = await new Promise<number | null>((resolve) => child.on("exit", resolve))
      expect(exit).toBe(code)
      const lines = stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
      const last = lines.pop()!
      expect(last).toMatchObject({ interrupted: signal, seeds: "1..100000", planned: 100000, exitCode: code })
      expect(last.finished).toBe(lines.length)
      // Every finished seed's trace is whole; no temporary is left.
      expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([])
      for (const l of lines) expect(readFileSync(l.trace as string, "utf8")).toMatch(/"type":"footer".*\n$/)
    }
  })

  it("--out - is created before the run and a probe leaves nothing behind", async () => {
    const dir = join(out, "fresh", "deeper")
    const r = await sim("--seeds", "1..1", "--steps", "50", "--out", dir)
    expect(r.code).toBe(0)
    expect(existsSync(dir)).toBe(true)
    // A passing seed writes no trace: only the sweep's summary and its page, and no probe file.
    expect(readdirSync(dir).sort()).toEqual(["sweep-1..1.summary.json", "sweep.html"])
  })

  it("--list-bugs and --help - print and exit 0", async () => {
    const bugs = await sim("--list-bugs")
    expect(bugs.code).toBe(0)
    expect(bugs.stdout).toContain("gc-removes-latest-rollup")
    const help = await sim("--help")
    expect(help.stdout).toContain("exit codes")
  })

  it("--seeds with --shard - runs only its slice", async () => {
    const r = await sim("--seeds", "1..6", "--shard", "2/3", "--json", "--steps", "300", "--out", out)
    const seeds = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => (JSON.parse(l) as { seed: number }).seed)
    expect(seeds).toEqual([2, 5])
  })
}, 300_000)
