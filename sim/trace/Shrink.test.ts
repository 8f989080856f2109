import { describe, expect, it } from "vitest"
import { type Candidate, failureKey, shrinkCandidate, shrinkWorld, streamOf, trimZeros, type Verdict, worldOracle } from "./Shrink.ts"
import { phasesOf } from "./Run.ts"
import * as V from "../check/Violations.ts"
import { Choices } from "../kernel/Choices.ts"
import { runWorld } from "../world/World.ts"

/** Fails when draw 5 is at least 3 and draw 10 is non-zero; events grow with non-zero draws. */
const oracle = (c: Candidate): Verdict => {
  const t = c.tape
  const fails = (t[5] ?? 0) >= 3 && (t[10] ?? 0) !== 0
  return { fails, violationStep: c.steps, tape: t.slice(0, 40), events: t.filter((v) => v !== 0).length }
}
const bounds = { maxAttempts: 10_000, budgetMs: 1e9, now: () => 0 }
const start: Candidate = { tape: Array.from({ length: 60 }, (_v, i) => ((i * 37) % 11) + (i === 5 ? 100 : 0) + (i === 10 ? 9 : 0)), steps: 10 }

describe("shrinkCandidate", () => {
  it("reaches the minimal failing tape: only the two draws that matter, lowered", () => {
    const r = shrinkCandidate(start, oracle(start), oracle, bounds)
    expect(r.stoppedBy).toBe("fixpoint")
    expect(r.candidate.tape.length).toBe(11)
    expect(r.candidate.tape.filter((v) => v !== 0).length).toBe(2)
    expect(r.candidate.tape[5]).toBe(3)
    expect(r.candidate.tape[10]).toBe(1)
    expect(oracle(r.candidate).fails).toBe(true)
  })
  it("is deterministic", () => {
    const a = shrinkCandidate(start, oracle(start), oracle, bounds)
    const b = shrinkCandidate(start, oracle(start), oracle, bounds)
    expect(b.candidate).toEqual(a.candidate)
    expect(b.attempts).toBe(a.attempts)
  })
  it("stops at the attempt bound and says so, with a still-failing tape", () => {
    const r = shrinkCandidate(start, oracle(start), oracle, { ...bounds, maxAttempts: 3 })
    expect(r.stoppedBy).toBe("attempts")
    expect(r.attempts).toBe(3)
    expect(oracle(r.candidate).fails).toBe(true)
  })
  it("stops at the time budget and says so", () => {
    let clock = 0
    const r = shrinkCandidate(start, oracle(start), oracle, { maxAttempts: 10_000, budgetMs: 5, now: () => clock++ })
    expect(r.stoppedBy).toBe("time")
  })
  it("cuts the step budget to the violation's step", () => {
    // A violation at step 4: a smaller budget never reaches it.
    const o = (c: Candidate): Verdict => ({ fails: c.steps >= 4, violationStep: 4, tape: [], events: c.steps })
    const r = shrinkCandidate({ tape: [1, 2], steps: 100 }, o({ tape: [1, 2], steps: 100 }), o, bounds)
    expect(r.candidate.steps).toBe(4)
  })
  it("refuses a start that does not fail", () => {
    expect(() => shrinkCandidate(start, { ...oracle(start), fails: false }, oracle, bounds)).toThrow()
  })
})

describe("shrinkCandidate with labels and bounds (what a world oracle gives)", () => {
  // Draw 0: `config.ops`, bound 4, the operations are [12, 6, 25, 40][draw]; then `deliver`
  // draws (bound 3) each starting a step. Fails when draw 2 is 2; one event per operation.
  const OPS = [12, 6, 25, 40]
  const labelled = (c: Candidate): Verdict => {
    const t = Array.from({ length: 8 }, (_x, i) => (c.tape[i] ?? 0) % (i === 0 ? 4 : 3))
    const events = OPS[t[0]!]! + t.filter((v) => v !== 0).length
    return { fails: t[2] === 2, violationStep: c.steps, tape: t, events, labels: ["config.ops", ...Array<string>(7).fill("deliver")], bounds: [4, 3, 3, 3, 3, 3, 3, 3] }
  }
  it("tries every value of a small draw: a higher configuration draw may be the smaller world", () => {
    const from: Candidate = { tape: [3, 1, 2, 1, 2, 1, 2, 1], steps: 10 }
    const r = shrinkCandidate(from, labelled(from), labelled, bounds)
    expect(r.stoppedBy).toBe("fixpoint")
    expect(r.candidate.tape).toEqual([1, 0, 2])
    expect(r.verdict.events).toBe(6 + 2)
  })
  it("keeps a keyed (starving) try as the plain tape it drew, never as a keyed candidate", () => {
    // Fails only as drawn under `starve: p1`, which this oracle draws as [0, 0, 2].
    const o = (c: Candidate): Verdict => {
      const t = c.keyed?.starve === "p1" ? [0, 0, 2] : c.tape.slice(0, 3)
      const fails = t[2] === 2
      return { fails, violationStep: 1, tape: t, events: t.filter((v) => v !== 0).length + (t[0] === 0 ? 0 : 5), labels: ["a", "b", "c"], senders: ["p1"] }
    }
    const from: Candidate = { tape: [1, 1, 2], steps: 5 }
    const seen: Array<Candidate> = []
    const r = shrinkCandidate(from, o(from), (c) => (seen.push(c), o(c)), bounds)
    expect(seen.some((c) => c.keyed?.starve === "p1")).toBe(true)
    expect(r.candidate.keyed).toBeUndefined()
    expect(o(r.candidate).fails).toBe(true)
    expect(r.candidate.tape).toEqual([0, 0, 2])
  })
})

describe("shrinkWorld on a planted bug", () => {
  it("shrinks within an attempt bound to a smaller run that replays, by position, to the same failure", () => {
    const bugs = { diffOmitsSince: true }
    const tape = runWorld(Choices.seeded(1), { steps: 200, bugs, keepEvents: false }).tape
    const r = shrinkWorld({ tape, steps: 200 }, bugs, true, { maxAttempts: 60, budgetMs: 1e9, now: () => 0 })
    expect(r).not.toBeNull()
    expect(r!.stoppedBy).toBe("attempts")
    expect(r!.verdict.events).toBeLessThan(r!.original.events / 2)
    const again = runWorld(Choices.recorded(r!.candidate.tape), { steps: r!.candidate.steps, bugs, keepEvents: true, ...(r!.candidate.liveness === false ? { liveness: false } : {}) })
    expect(failureKey(again, true)?.key).toBe(r!.key)
    expect(again.events.length).toBe(r!.verdict.events)
  }, 120_000)
})

describe("failureKey", () => {
  const v1 = V.NoRollup.make({ step: 3, t: 0, seqno: 2 })
  const v2 = V.CachedStateRegressed.make({ step: 5, t: 0, process: "p1", before: 3, after: 2 })
  it("uses the first unexplained violation's kind, never its text", () => {
    expect(failureKey({ violations: [v1, v2], unexplained: [v2], findings: ["RACE-P2"] }, false)).toEqual({ key: "new:INV-4/CachedStateRegressed", step: 5 })
  })
  it("uses the first violation with a planted bug, and the findings for an explained run", () => {
    expect(failureKey({ violations: [v1, v2], unexplained: [v2], findings: [] }, true)?.key).toBe("bug:INV-11/NoRollup")
    expect(failureKey({ violations: [v1], unexplained: [], findings: ["RACE-P2"] }, false)?.key).toBe("known:RACE-P2:INV-11/NoRollup")
    expect(failureKey({ violations: [], unexplained: [], findings: [] }, false)).toBeNull()
  })
  it("keeps a panic's site (a structured field) in the key, never its message", () => {
    const at = (site: string, message: string) => V.Panic.make({ step: 2, t: 0, process: "p0", where: "cmd", message, site, key: "" })
    expect(failureKey({ violations: [at("validator.rollupReinserted", "a")], unexplained: [], findings: [] }, true)?.key).toBe("bug:PANIC/Panic@validator.rollupReinserted")
    expect(failureKey({ violations: [at("", "a")], unexplained: [], findings: [] }, true)?.key).toBe(failureKey({ violations: [at("", "b")], unexplained: [], findings: [] }, true)?.key)
  })
  it("trimZeros drops trailing zeros only", () => {
    expect(trimZeros([0, 1, 0, 0])).toEqual([0, 1])
  })
})

describe("the liveness phase cut (RunOptions.livenessSteps) and draw streams", () => {
  it("a capped liveness phase stops after that many steps, with no LIVENESS-TIMEOUT for the cut, and replays through phasesOf", () => {
    const whole = runWorld(Choices.seeded(1), { steps: 30, keepEvents: true })
    expect(whole.steps - whole.mainSteps).toBeGreaterThan(3)
    const cut = runWorld(Choices.recorded(whole.tape), { steps: 30, keepEvents: true, ...phasesOf({ livenessSteps: 3 }) })
    expect(cut.steps - cut.mainSteps).toBe(3)
    expect(cut.violations.some((v) => v._tag === "LivenessTimeout")).toBe(false)
    expect(cut.events.length).toBeLessThan(whole.events.length)
    // Everything up to the cut is the same run.
    expect(cut.events).toEqual(whole.events.slice(0, cut.events.length))
    expect(phasesOf({ liveness: false, livenessSteps: 3 })).toEqual({ liveness: false })
    expect(phasesOf({})).toEqual({})
  })
  it("the oracle attributes every draw to a stream: a process's decisions to it, a fault to the request's sender", () => {
    const tape = runWorld(Choices.seeded(3), { steps: 80, keepEvents: false }).tape
    const v = worldOracle({ bugs: {}, bugPlanted: false, key: "none" })({ tape, steps: 80 })
    expect(v.streams?.length).toBe(v.labels?.length)
    v.labels!.forEach((l, i) => {
      const s = v.streams![i]!
      if (l.startsWith("config.") || l === "randomSeed" || l === "deliver") expect(s).toBe("world")
      if (/^(writer|reader|inspector)\./.test(l)) expect(s).toMatch(/^p[0-9]+$/)
    })
    // Each fault draw follows the delivery it is for, and is the picked request's sender's.
    v.labels!.forEach((l, i) => {
      if (l !== "fault") return
      let d = i - 1
      while (v.labels![d] !== "deliver") d--
      const pick = v.deliveries![v.labels!.slice(0, d + 1).filter((x) => x === "deliver").length - 1]!
      expect(pick).not.toBe("?")
      expect(streamOf(pick.split("/")[0]!)).toBe(v.streams![i])
    })
  })
  it("replayed by stream and label, the unchanged tape is the same run", () => {
    const tape = runWorld(Choices.seeded(3), { steps: 80, keepEvents: false }).tape
    const o = worldOracle({ bugs: {}, bugPlanted: false, key: "none" })
    const v = o({ tape, steps: 80 })
    const k = o({ tape: v.tape, steps: 80, keyed: { labels: v.labels!, streams: v.streams!, deliveries: v.deliveries! } })
    expect(k.tape).toEqual(v.tape)
    expect(k.events).toBe(v.events)
  })
})
