/**
 * The HTML report in a real browser: Debian's chromium driven by playwright-core. Without a
 * startable Chromium the test says so and is skipped, unless PERSIST_SIM_REQUIRE_CHROMIUM=1
 * (set by .ci/run, which installs the package), which makes that a failure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { chromium, type BrowserContext } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { probeRun } from "../sim/trace/Probe.ts"
import { runSpec, toTraceFile } from "../sim/trace/Run.ts"
import { toJsonLines, type TraceFile } from "../sim/trace/Trace.ts"
import { renderHtml } from "./Html.ts"
import { writeReports } from "./Report.ts"

const OUT = resolve("reports/out/browser")
const REQUIRE = process.env.PERSIST_SIM_REQUIRE_CHROMIUM === "1"
const EXECUTABLE = process.env.PERSIST_SIM_CHROMIUM ?? "/usr/bin/chromium"

let ctx: BrowserContext | undefined
let profile: string | undefined
let why = ""

beforeAll(async () => {
  profile = mkdtempSync(join(tmpdir(), "persist-sim-chromium-"))
  try {
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: EXECUTABLE,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1400, height: 900 }
    })
  } catch (e) {
    why = `no Chromium could be started at ${EXECUTABLE}: ${String(e instanceof Error ? e.message : e).split("\n")[0]}`
    if (REQUIRE) throw new Error(`PERSIST_SIM_REQUIRE_CHROMIUM=1 but ${why}`)
    console.warn(`reports/html.test.ts skipped: ${why}`)
  }
}, 60_000)

afterAll(async () => {
  await ctx?.close()
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true })
})

/** A failing planted-bug run (gc-truncates-past-rollup, seed 1: INV-7 at step 101). */
const failingRun = () => {
  const o = runSpec({ seed: 1, tape: null, steps: 120, bug: "gc-truncates-past-rollup", bugs: { gcTruncatesPastRollup: true }, keepEvents: true })
  return { o, trace: toTraceFile(o) }
}

const openPage = async (file: string) => {
  const page = await ctx!.newPage()
  const errors: Array<string> = []
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text())
  })
  page.on("pageerror", (e) => errors.push(e.message))
  // Nothing may leave the machine: the report is one file.
  const requests: Array<string> = []
  page.on("request", (r) => {
    if (!r.url().startsWith("file:")) requests.push(r.url())
  })
  const t0 = performance.now()
  await page.goto(pathToFileURL(file).href)
  await page.waitForSelector("body[data-ready='1']")
  const loadMs = performance.now() - t0
  return { page, errors, requests, loadMs }
}

describe("HTML report in Chromium", () => {
  it("renders the timeline, highlights the failing step, shows details on click", async (t) => {
    if (ctx === undefined) return t.skip(why)
    mkdirSync(OUT, { recursive: true })
    const { o, trace } = failingRun()
    expect(o.exitCode).toBe(1)
    const file = join(OUT, "gc-truncates-past-rollup.jsonl")
    writeFileSync(file, toJsonLines(trace))
    const probe = probeRun(trace.tape, trace.header.steps, { gcTruncatesPastRollup: true })
    const { html } = writeReports({ traceFile: file, trace, probe, replay: "npm run sim -- --seed 1 --steps 120 --bug gc-truncates-past-rollup", explanation: null, shrink: null })
    const { page, errors, requests } = await openPage(html)
    const rows = await page.locator(".row").count()
    expect(rows).toBeGreaterThan(10)
    expect(await page.locator(".ev").count()).toBeGreaterThanOrEqual(rows)
    // Lanes: every process plus Consensus and Blob.
    const lanes = await page.locator("#lanesHead div").allTextContents()
    expect(lanes).toContain("Consensus")
    expect(lanes).toContain("Blob")
    expect(lanes.some((l) => /^p\d/.test(l))).toBe(true)
    await expect.poll(() => page.locator(".row.failing").count()).toBe(1)
    await page.locator(".row.failing").click()
    const details = await page.locator("#details").textContent()
    expect(details).toContain("FAILING STEP")
    expect(details).toMatch(/state at v\d+/)
    expect(details).toContain("INV-7")
    await page.screenshot({ path: resolve("reports/out/report-gc-truncates-past-rollup.png") })
    expect(errors).toEqual([])
    expect(requests).toEqual([])
    await page.close()
  })

  it("loads a 10,000-event trace in under 3 s and keeps the DOM windowed", async (t) => {
    if (ctx === undefined) return t.skip(why)
    mkdirSync(OUT, { recursive: true })
    const { o, trace } = failingRun()
    const probe = probeRun(trace.tape, trace.header.steps, { gcTruncatesPastRollup: true })
    // Tile the real events (steps and times shifted) up to 10,000: rendering cost, not the run, is measured.
    const base = trace.events
    const span = base[base.length - 1]!.step + 1
    const events = Array.from({ length: 10_000 }, (_v, i) => {
      const e = base[i % base.length]!
      const k = Math.floor(i / base.length)
      return { ...e, step: e.step + k * span, t: e.t + k * 1_000_000 }
    })
    const big: TraceFile = { ...trace, events, violations: trace.violations.map((v) => ({ ...v, step: v.step + 40 * span })) }
    const file = join(OUT, "big-10000.report.html")
    writeFileSync(file, renderHtml({ traceFile: join(OUT, "big-10000.jsonl"), trace: big, probe: { ...probe, result: { ...o.result, unexplained: [] } }, replay: "-", explanation: null, shrink: null }))
    const { page, errors, loadMs } = await openPage(file)
    console.log(`HTML report, 10,000 events: loaded in ${loadMs.toFixed(0)} ms`)
    expect(loadMs).toBeLessThan(3_000)
    const rows = await page.locator(".row").count()
    expect(rows).toBeGreaterThan(10)
    expect(rows).toBeLessThan(500)
    await page.locator("#tl").evaluate((el) => (el.scrollTop = el.scrollHeight / 2))
    await expect.poll(() => page.locator(".row[data-i='5000']").count()).toBe(1)
    await page.screenshot({ path: resolve("reports/out/report-10000-events.png") })
    expect(errors).toEqual([])
    await page.close()
  })
})
