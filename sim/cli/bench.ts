/**
 * `npm run bench`: throughput of the simulator, measured side by side in one run. Prints a
 * table, then one JSON line for scripts. Wall-clock timing lives here, outside the traps.
 *
 *   seedsPerSecPerCore  default-swarm seeds (1..40, 2000 steps) per second on one core,
 *                       run as a sweep runs them (checker on, events kept for the trace)
 *   requestsPerSecChecked / Unchecked  delivered store requests per second, one core
 *   rawRoundTripNs      the kernel's bare park/deliver/resume, same process
 *   split               per-request cost in µs, side by side in one run (see costSplit)
 *   profile             the same seeds under the CPU profiler, each sample attributed to a
 *                       part of the system by its stack (ProfileSplit.ts)
 *   costRatio100kTo1k   per-request cost of a 100k-step world over a 1k-step one
 *   virtualOverWall     simulated ms per wall ms
 *   jobs2Speedup        sweep throughput with 2 worker threads over 1
 *   hardwareJobs2Speedup  the same ratio for a plain allocating loop: the ceiling here
 *
 * Targets are only given for figures that measure what they name. (An early target of
 * 100,000 checked requests/s was set for the kernel alone; requests/s here include the port's
 * own work per request, so it measured the wrong thing and is gone; rawRoundTripNs is the
 * kernel's own figure.) To compare commits, see benchSeeds.ts and benchCompare.mjs.
 */
import { execFileSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { cpus } from "node:os"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import { Choices } from "../kernel/Choices.ts"
import { measureRawRoundTrip } from "../kernel/rawRoundTrip.ts"
import { sweepParallel } from "./Sweep.ts"
import type { SwarmConfig } from "../world/SwarmConfig.ts"
import { runWorld } from "../world/World.ts"
import { type CpuProfile, PARTS, type Part, moduleStarts, splitProfile } from "./ProfileSplit.ts"

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const now = (): bigint => process.hrtime.bigint()
const msSince = (t: bigint): number => Number(now() - t) / 1e6

// `--json` is accepted for symmetry with the CLI: the table always comes first and the JSON
// object is always the last line.
const quick = process.argv.includes("--quick")
/** `--profile-out FILE`: also write the profile behind the split, for `node --cpu-prof`-style tools (DevTools). */
const profileOut = ((i) => (i >= 0 ? process.argv[i + 1] : undefined))(process.argv.indexOf("--profile-out"))
const REPS = quick ? 1 : 3

/**
 * A long-running world for the scaling figure: the workload never runs out before the budget,
 * and the shard reaches a steady state, so the figure measures the harness, not a state that
 * grows. (With 60 s reader leases, a reader's 15 s hold lets ~1,000 versions pile up live, and
 * a GC capped at 10 versions per pass falls further behind as classic GC's threshold grows;
 * every process then does more work per request because the system's state is bigger.)
 */
const longConfig: SwarmConfig = {
  roles: ["writer", "reader", "writer", "reader"],
  opsPerProcess: 1_000_000,
  faults: { determinate: 0.02, indeterminateNotApplied: 0.02, indeterminateApplied: 0.02, latency: 0.05, crash: 0, stall: 0 },
  persist: { rollupThreshold: 5, rollupUseActiveRollup: false, stateVersionsRecentLiveDiffsLimit: 10, gcMaxVersions: 128_000, readerLeaseDurationMs: 4_000, writerLeaseDurationMs: 60_000, retryClampBackoffMs: 500 },
  restartAfterMs: 0
}

/**
 * What two worker threads gain on this machine for allocation-heavy JavaScript (the kind the
 * simulator is), independent of our code: the same total work split over 1 and 2 workers.
 */
const hardwareParallelism = async (): Promise<number> => {
  const body = `
    const { workerData } = require("node:worker_threads")
    let a = []
    for (let i = 0; i < workerData; i++) { a.push({ i, s: "x" + i }); if (a.length > 1000) a = [] }`
  const total = quick ? 10_000_000 : 30_000_000
  const time = async (jobs: number) => {
    const t = now()
    await Promise.all(
      Array.from({ length: jobs }, () => new Promise<void>((resolve, reject) => {
        const w = new Worker(body, { eval: true, workerData: total / jobs })
        w.on("error", reject)
        w.on("exit", () => resolve())
      }))
    )
    return msSince(t)
  }
  await time(1) // warm up
  return (await time(1)) / (await time(2))
}

const SEEDS = quick ? 10 : 40

/** CPU ms of this process since `c`: on a machine shared with other tenants, wall time mostly measures them. */
const cpuMsSince = (c: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(c)
  return (d.user + d.system) / 1000
}

const seedSweep = (check: boolean, keepEvents = false) => {
  let steps = 0
  let virtualMs = 0
  let draws = 0
  const t = process.cpuUsage()
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runWorld(Choices.seeded(seed), { steps: 2000, keepEvents, check })
    steps += r.steps
    virtualMs += r.virtualTimeMs
    draws += r.tape.length
  }
  const ms = cpuMsSince(t)
  return { rps: (steps / ms) * 1000, virtualOverWall: virtualMs / ms, usPerRequest: (ms * 1000) / steps, seedsPerSec: (SEEDS * 1000) / ms, drawsPerRequest: draws / steps }
}

/** ns per draw of the seeded choice source, with the mix of bounds a world uses (small and 2^32). */
const drawNs = (): number => {
  const c = Choices.seeded(7)
  const n = 1_000_000
  let x = 0
  const t = now()
  for (let i = 0; i < n; i++) x += c.draw(i % 3 === 0 ? 2 ** 32 : 1 + (i % 17), "bench")
  const ns = Number(now() - t) / n
  if (x < 0) throw new Error("unreachable")
  return ns
}

/**
 * Where a request's time goes, from four measurements taken side by side (each a median):
 *   full          the sweep's own mode: checker on, events kept
 *   checker       full − (checker off, events kept)
 *   trace         (checker off, events kept) − (checker off, events off): the event records
 *   kernel        the raw parked round trip (park, deliver, resume with no world around it)
 *   tape          draws per request × ns per draw of the seeded source
 *   system        what is left: the port's own work (core/ as Effect fibers: state machine,
 *                 encodings, retries, GC) plus the world's driver logic around each request
 * No profiler: the harness parts are measured directly, the system part is the remainder,
 * so it also absorbs anything the estimates miss.
 */
const costSplit = (full: number, noCheck: number, bare: number, rawNs: number, drawsPerRequest: number, nsPerDraw: number) => {
  const kernel = rawNs / 1000
  const tape = (drawsPerRequest * nsPerDraw) / 1000
  const checker = Math.max(0, full - noCheck)
  const trace = Math.max(0, noCheck - bare)
  const system = Math.max(0, bare - kernel - tape)
  const r = (x: number) => Number(x.toFixed(1))
  const pct = (x: number) => Number(((100 * x) / full).toFixed(1))
  return {
    totalUs: r(full),
    systemUs: r(system),
    checkerUs: r(checker),
    harnessUs: r(kernel + tape + trace),
    kernelUs: r(kernel),
    tapeUs: r(tape),
    traceUs: r(trace),
    systemPct: pct(system),
    checkerPct: pct(checker),
    harnessPct: pct(kernel + tape + trace)
  }
}

/**
 * The sweep's mode (checker on, events kept) on the same seeds under V8's sampling profiler,
 * attributed by ProfileSplit. Only from the esbuild bundle (`npm run bench`), whose module
 * markers map frames to source modules; `null` otherwise.
 */
const profileSplit = async (): Promise<{ readonly ms: Record<Part, number>; readonly pct: Record<Part, number> } | null> => {
  const self = fileURLToPath(import.meta.url)
  const text = readFileSync(self, "utf8")
  if (moduleStarts(text).length === 0) return null
  const session = new Session()
  session.connect()
  try {
    await session.post("Profiler.enable")
    await session.post("Profiler.setSamplingInterval", { interval: 200 })
    await session.post("Profiler.start")
    seedSweep(true, true)
    const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: CpuProfile }
    if (profileOut !== undefined) writeFileSync(profileOut, JSON.stringify(profile))
    const url = import.meta.url
    const ms = splitProfile(profile, text, (u) => u === url, (u) => u.includes("/node_modules/effect/"))
    const total = PARTS.reduce((a, p) => a + ms[p], 0)
    const pct = Object.fromEntries(PARTS.map((p) => [p, Number(((100 * ms[p]) / total).toFixed(1))])) as Record<Part, number>
    return { ms: Object.fromEntries(PARTS.map((p) => [p, Math.round(ms[p])])) as Record<Part, number>, pct }
  } finally {
    session.disconnect()
  }
}

/** CPU ms per request of one long world (CPU, not wall: the two sizes run minutes apart on a shared machine). */
const perRequestMs = (steps: number): number => {
  const t = process.cpuUsage()
  const r = runWorld(Choices.seeded(99), { steps, config: longConfig, keepEvents: false })
  return cpuMsSince(t) / Math.max(1, r.steps)
}

const main = async () => {
  const checked: Array<number> = []
  const unchecked: Array<number> = []
  const vw: Array<number> = []
  const raw: Array<number> = []
  const full: Array<number> = []
  const noCheck: Array<number> = []
  const seedsPerSec: Array<number> = []
  const dpr: Array<number> = []
  const nsPerDraw: Array<number> = []
  seedSweep(true) // warm up the JIT, so the first figure is not the cold one
  for (let i = 0; i < REPS; i++) {
    // Interleaved so machine noise hits every side alike.
    const c = seedSweep(true)
    checked.push(c.rps)
    vw.push(c.virtualOverWall)
    const u = seedSweep(false)
    unchecked.push(u.rps)
    const f = seedSweep(true, true)
    full.push(f.usPerRequest)
    seedsPerSec.push(f.seedsPerSec)
    dpr.push(f.drawsPerRequest)
    noCheck.push(seedSweep(false, true).usPerRequest)
    // CPU time, like every other figure of the split (wall time here mostly measures the other tenants).
    const rc = process.cpuUsage()
    const rt = measureRawRoundTrip(100_000)
    raw.push((cpuMsSince(rc) * 1e6) / Math.max(1, rt.requests))
    nsPerDraw.push(drawNs())
  }
  const split = costSplit(median(full), median(noCheck), 1e6 / median(unchecked), median(raw), median(dpr), median(nsPerDraw))
  const profile = await profileSplit()
  const small = perRequestMs(1_000)
  const large = perRequestMs(quick ? 20_000 : 100_000)
  const sweepSeeds = { count: quick ? 16 : 200, at: (i: number) => i + 1 }
  const sweepTime = async (jobs: number) => {
    const t = now()
    await sweepParallel(sweepSeeds, jobs, 2000, null, "reports/out/bench", false, () => {})
    return msSince(t)
  }
  const j1 = await sweepTime(1)
  const j2 = await sweepTime(2)
  const hw = await hardwareParallelism()
  let commit = "unknown"
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim()
  } catch {
    // not a git checkout
  }
  const rawNs = median(raw)
  const result = {
    requestsPerSecChecked: Math.round(median(checked)),
    requestsPerSecUnchecked: Math.round(median(unchecked)),
    rawRoundTripNs: Math.round(rawNs),
    seedsPerSecPerCore: Number(median(seedsPerSec).toFixed(2)),
    split,
    profile,
    costRatio100kTo1k: Number((large / small).toFixed(2)),
    virtualOverWall: Math.round(median(vw)),
    jobs2Speedup: Number((j1 / j2).toFixed(2)),
    hardwareJobs2Speedup: Number(hw.toFixed(2)),
    node: process.version,
    cpus: cpus().length,
    commit,
    reps: REPS,
    quick
  }
  {
    console.log("figure                       value        target")
    console.log(`seeds/s per core (1..${SEEDS})     ${String(result.seedsPerSecPerCore).padEnd(12)} (checker on, events kept: a sweep's mode)`)
    console.log(`requests/s (checked)         ${String(result.requestsPerSecChecked).padEnd(12)}`)
    console.log(`requests/s (unchecked)       ${String(result.requestsPerSecUnchecked).padEnd(12)}`)
    console.log(`raw round trip (ns)          ${String(result.rawRoundTripNs).padEnd(12)}`)
    console.log(`per request (CPU µs):        ${split.totalUs}`)
    console.log(`  system under test          ${String(split.systemUs).padEnd(12)} ${split.systemPct}%  (port + world driver; the remainder)`)
    console.log(`  checker                    ${String(split.checkerUs).padEnd(12)} ${split.checkerPct}%  (checker on − off)`)
    console.log(`  harness                    ${String(split.harnessUs).padEnd(12)} ${split.harnessPct}%  (kernel ${split.kernelUs} + tape ${split.tapeUs} + trace ${split.traceUs})`)
    if (profile === null) console.log("profile split                (only from the bundle: npm run bench)")
    else {
      const pr = profile
      const line = (label: string, parts: ReadonlyArray<Part>, why: string) =>
        console.log(`  ${label.padEnd(27)}${String(parts.reduce((a, p) => a + pr.ms[p], 0)).padEnd(7)}ms ${parts.reduce((a, p) => a + pr.pct[p], 0).toFixed(1).padStart(5)}%  ${why}`)
      console.log(`profile of seeds 1..${SEEDS} (sampled, by stack):`)
      line("port (core/)", ["port"], "the system under test's own code, Effect calls from it included")
      line("Effect fiber runtime", ["effect"], "the port's fibers run by the scheduler")
      line("checker (sim/check/)", ["checker"], "target <= 10%")
      line("world (sim/world/)", ["world"], "driver, parking stores, faults, workload")
      line("kernel (sim/kernel/)", ["kernel"], "scheduler loop, clock, traps, tape")
      line("trace (sim/trace/)", ["trace"], "event records")
      line("garbage collector", ["gc"], "")
      line("other", ["other"], "")
    }
    console.log(`cost 100k / 1k steps         ${String(result.costRatio100kTo1k).padEnd(12)} <= 1.25`)
    console.log(`virtual / wall               ${String(result.virtualOverWall).padEnd(12)} >= 10000`)
    console.log(`--jobs 2 speedup             ${String(result.jobs2Speedup).padEnd(12)} >= 1.8`)
    console.log(`  same, allocating JS loop   ${String(result.hardwareJobs2Speedup).padEnd(12)} (what this machine allows)`)
  }
  console.log(JSON.stringify(result))
}

void main()
