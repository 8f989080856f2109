import { describe, expect, it } from "vitest"
import { Choices } from "../kernel/Choices.ts"
import { runWorld } from "./World.ts"
import { drawSwarmConfig } from "./SwarmConfig.ts"

describe("World", () => {
  it("runWorld - the same seed gives the same digest and events twice", () => {
    const a = runWorld(Choices.seeded(7), { steps: 400 })
    const b = runWorld(Choices.seeded(7), { steps: 400 })
    expect(a.digest).toBe(b.digest)
    expect(a.events).toEqual(b.events)
    expect(a.steps).toBeGreaterThan(0)
  })

  it("runWorld - the checker only watches: without it the world takes the same steps and draws", () => {
    // The bench's unchecked figure is only comparable if the same world runs, liveness phase included.
    for (const seed of [3, 8]) {
      const on = runWorld(Choices.seeded(seed), { steps: 600, check: true })
      const off = runWorld(Choices.seeded(seed), { steps: 600, check: false })
      expect(off.steps).toBe(on.steps)
      expect(off.tape).toEqual(on.tape)
      expect(off.events.map((e) => JSON.stringify(e))).toEqual(on.events.map((e) => JSON.stringify(e)))
      expect(off.violations).toEqual([])
    }
  })

  it("runWorld - a crash whose request still applied is a step of its own, checked and traced with its result", () => {
    let seen = 0
    for (const seed of [8, 11, 12]) {
      const r = runWorld(Choices.seeded(seed), { steps: 2000 })
      let maxStep = 0
      for (const e of r.events) {
        if (e.fault === "crash(applied)") {
          seen++
          expect({ seed, step: e.step, result: e.result }).toMatchObject({ seed, step: maxStep + 1 })
          expect(e.result).toMatch(/ \(unheard\)$/)
        }
        maxStep = Math.max(maxStep, e.step)
      }
    }
    expect(seen).toBeGreaterThan(0)
  })

  it("runWorld - a recorded tape replays to the same digest", () => {
    const a = runWorld(Choices.seeded(11), { steps: 400 })
    const b = runWorld(Choices.recorded(a.tape), { steps: 400 })
    expect(b.digest).toBe(a.digest)
  })

  it("runWorld - different seeds give different digests", () => {
    const digests = new Set([1, 2, 3, 4, 5, 6].map((s) => runWorld(Choices.seeded(s), { steps: 300 }).digest))
    expect(digests.size).toBe(6)
  })

  it("runWorld - the all-zero tape is the simplest world: two processes, no faults, no violations", () => {
    const r = runWorld(Choices.recorded([]), { steps: 2000 })
    expect(r.config.roles).toEqual(["writer", "reader"])
    expect(Object.keys(r.faults)).toEqual(["none"])
    expect(r.violations).toEqual([])
    expect(r.steps).toBeGreaterThan(10)
  })

  it("runWorld - holds every invariant on the correct system for seeds 1..25", () => {
    for (let seed = 1; seed <= 25; seed++) {
      const r = runWorld(Choices.seeded(seed), { steps: 1000, keepEvents: false })
      // A named known finding (CAA-LEASE at seed 14) is reported by the sweep, not failed here.
      expect({ seed, unexplained: r.unexplained }).toEqual({ seed, unexplained: [] })
    }
  })

  it("drawSwarmConfig - seeds explore different regimes", () => {
    const configs = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => JSON.stringify(drawSwarmConfig(Choices.seeded(s))))
    expect(new Set(configs).size).toBe(8)
  })
})

describe("attribution", () => {
  it("runWorld - every store request of seed 1 names its process, task and persist operation", () => {
    const r = runWorld(Choices.seeded(1), { steps: 2000 })
    const requests = r.events.filter((e) => e.call.startsWith("consensus.") || e.call.startsWith("blob."))
    expect(requests.length).toBeGreaterThan(50)
    for (const e of requests) {
      expect({ call: e.call, p: e.p, task: e.task !== "", op: e.op !== "" }).toEqual({ call: e.call, p: e.p, task: true, op: true })
    }
    // The same process sends requests from several tasks, and CaS calls say which command.
    expect([...new Set(requests.map((e) => e.task))]).toEqual(expect.arrayContaining(["init", "cmd", "rollup", "heartbeat", "janitor"]))
    expect(requests.some((e) => e.p === "janitor" && e.cmd === "remove_rollups" && e.call === "consensus.cas")).toBe(true)
    expect(requests.filter((e) => e.call === "consensus.cas").every((e) => e.cmd !== "")).toBe(true)
  })
})
