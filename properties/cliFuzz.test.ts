/**
 * Fuzzing the front door: arbitrary argument vectors and arbitrary corruptions of a real trace.
 * The CLI must only ever exit 0/1/2/3, never print a stack trace, never hang, and never call an
 * edited trace reproduced. Argument vectors are parsed in-process (cheap, many runs); a small
 * sample is run as real processes (~1 s each). `FUZZ_RUNS=500 npx vitest run
 * properties/cliFuzz.test.ts` runs every property that many times (FUZZ_SPAWN_RUNS=N caps the
 * two spawning ones).
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseArgs, UsageError } from "../sim/cli/Args.ts"
import { runSpec, writeTrace } from "../sim/trace/Run.ts"

const big = process.env.FUZZ_RUNS !== undefined ? Number(process.env.FUZZ_RUNS) : null
const RUNS_IN_PROCESS = big ?? 500
/** Spawned runs cost ~1 s each: FUZZ_SPAWN_RUNS bounds them separately when FUZZ_RUNS is large. */
const RUNS_SPAWNED = process.env.FUZZ_SPAWN_RUNS !== undefined ? Number(process.env.FUZZ_SPAWN_RUNS) : (big ?? 4)
/** Far above a healthy run on a loaded machine; reaching it is the "hang" failure. */
const HANG_MS = 120_000

const dir = mkdtempSync(join(tmpdir(), "persist-sim-fuzz-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let trace = ""
let original = ""
beforeAll(() => {
  trace = writeTrace(dir, "good", runSpec({ seed: 7, tape: null, steps: 150, bug: null, bugs: {}, keepEvents: true }))
  original = readFileSync(trace, "utf8")
})

interface Run {
  readonly code: number | null
  readonly signal: string | null
  readonly stdout: string
  readonly stderr: string
}

const sim = (args: ReadonlyArray<string>): Promise<Run> =>
  new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "sim/cli/main.ts", ...args], { timeout: HANG_MS, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 }, (e, stdout, stderr) => {
      const err = e as (Error & { code?: number | string; signal?: string | null }) | null
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : null, signal: err?.signal ?? null, stdout, stderr })
    })
  })

const wellBehaved = (r: Run, what: unknown): void => {
  expect({ what, signal: r.signal, allowedCode: [0, 1, 2, 3].includes(r.code ?? -1) }).toEqual({ what, signal: null, allowedCode: true })
  expect(r.stderr.split("\n").filter((l) => l.startsWith("    at ")), r.stderr).toEqual([])
}

/** Flags, plausible values and noise; values stay small so a valid vector runs in seconds. */
const token = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom("--seed", "--seeds", "--steps", "--replay", "--report", "--scenario", "--bug", "--jobs", "--shard", "--json", "--out", "--list-scenarios", "--list-bugs", "--quiet", "--keep-traces", "-h", "--"),
    fc.constantFrom("0", "1", "7", "-1", "1.5", "1e3", "4294967296", "99999999999999999999", "1..3", "3..1", "2..2", "1/2", "2/2", "0/1", "3/2", "gc-removes-latest-rollup", "", " ", "/proc/x", "/dev/zero", "NaN"),
    fc.string({ maxLength: 12 })
  )

describe("cli fuzz", () => {
  it("parseArgs - any argument vector is parsed or refused with one UsageError line", () => {
    fc.assert(
      fc.property(fc.array(token(), { maxLength: 8 }), (argv) => {
        try {
          parseArgs(argv)
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError)
          const msg = (e as Error).message
          expect(msg.length).toBeGreaterThan(0)
          expect(msg).not.toContain("\n")
        }
      }),
      { numRuns: RUNS_IN_PROCESS }
    )
  })

  it("the CLI - exits 0/1/2/3 without a stack trace or a hang for any argument vector", async () => {
    // Steps and ranges bounded so that a valid vector is a short run, not a long sweep.
    const vector = fc
      .tuple(fc.array(token(), { maxLength: 6 }), fc.boolean())
      .map(([argv, steps]) => [...argv.map((a) => (/^\d+\.\.\d+$/.test(a) || /^\d{3,}$/.test(a) ? "2..3" : a)), ...(steps ? ["--steps", "60"] : [])])
    await fc.assert(
      fc.asyncProperty(vector, async (argv) => {
        // Keep stray output folders inside the scratch folder.
        const args = argv.map((a, i) => (argv[i - 1] === "--out" && !a.startsWith("/") && a !== "" ? join(dir, a) : a))
        wellBehaved(await sim(args), args)
      }),
      { numRuns: RUNS_SPAWNED }
    )
  })

  const corruption = fc.oneof(
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 127 }) }),
    fc.record({ kind: fc.constant("delete" as const), line: fc.nat() }),
    fc.record({ kind: fc.constant("duplicate" as const), line: fc.nat() }),
    fc.record({ kind: fc.constant("swap" as const), a: fc.nat(), b: fc.nat() }),
    fc.record({ kind: fc.constant("edit" as const), line: fc.nat(), key: fc.nat(), value: fc.jsonValue({ maxDepth: 1 }) })
  )
  type Corruption = typeof corruption extends fc.Arbitrary<infer C> ? C : never

  const apply = (text: string, c: Corruption): string => {
    const lines = text.split("\n")
    const at = (n: number) => n % Math.max(1, lines.length)
    switch (c.kind) {
      case "truncate":
        return text.slice(0, c.at % Math.max(1, text.length))
      case "flip": {
        if (text.length === 0) return text
        const i = c.at % text.length
        return text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ c.mask) + text.slice(i + 1)
      }
      case "delete":
        lines.splice(at(c.line), 1)
        return lines.join("\n")
      case "duplicate":
        lines.splice(at(c.line), 0, lines[at(c.line)]!)
        return lines.join("\n")
      case "swap": {
        const [i, j] = [at(c.a), at(c.b)]
        ;[lines[i], lines[j]] = [lines[j]!, lines[i]!]
        return lines.join("\n")
      }
      case "edit": {
        const i = at(c.line)
        try {
          const o = JSON.parse(lines[i]!) as Record<string, unknown>
          if (o === null || typeof o !== "object") return text
          const keys = [...Object.keys(o), "extra"]
          o[keys[c.key % keys.length]!] = c.value
          lines[i] = JSON.stringify(o)
        } catch {
          return text
        }
        return lines.join("\n")
      }
    }
  }

  it("--replay - a corrupted trace exits 0/1/2/3, without a stack trace, and is never reported as reproduced", async () => {
    let n = 0
    await fc.assert(
      fc.asyncProperty(fc.array(corruption, { minLength: 1, maxLength: 3 }), async (cs) => {
        const text = cs.reduce(apply, original)
        fc.pre(text !== original)
        const file = join(dir, `corrupt-${n++}.jsonl`)
        writeFileSync(file, text)
        const r = await sim(["--replay", file])
        wellBehaved(r, cs)
        expect(r.stdout + r.stderr, JSON.stringify(cs)).not.toMatch(/replay reproduced/)
        expect(r.code, JSON.stringify(cs)).not.toBe(0)
      }),
      { numRuns: RUNS_SPAWNED + 2 }
    )
  })

  it("--replay - the untouched trace does reproduce (the property above can fail)", async () => {
    const r = await sim(["--replay", trace])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/replay reproduced/)
  })
}, 30 * 60_000)
