import { describe, expect, it } from "vitest"
import { type CpuProfile, moduleStarts, splitProfile } from "./ProfileSplit.ts"

// A bundle of four modules: lines 0-2 kernel, 3-5 core, 6-8 checker, 9-11 trace.
const bundle = ["// sim/kernel/Scheduler.ts", "a", "b", "// core/Machine.ts", "c", "d", "// sim/check/Checker.ts", "e", "f", "// sim/trace/Trace.ts", "g", "h"].join("\n")
const B = "file:///bundle.mjs"
const E = "file:///node_modules/effect/dist/esm/internal/fiberRuntime.js"
const frame = (functionName: string, url: string, lineNumber: number) => ({ functionName, url, lineNumber })

// root -> runUntilIdle (kernel) -> runLoop (effect) -> gen body (core) -> encode (core)
//                                                    \-> runLoop leaf (effect)
//      -> tick (kernel) -> onCommit (checker) -> latestRollup (core)
//      -> record (trace);  (garbage collector);  (idle)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame("(root)", "", 0), children: [2, 8, 11, 12, 13] },
    { id: 2, callFrame: frame("runUntilIdle", B, 1), children: [3] },
    { id: 3, callFrame: frame("runLoop", E, 100), children: [4] },
    { id: 4, callFrame: frame("body", B, 4), children: [5, 6] },
    { id: 5, callFrame: frame("encode", B, 5) },
    { id: 6, callFrame: frame("flatMap", E, 5) },
    { id: 8, callFrame: frame("tick", B, 2), children: [9] },
    { id: 9, callFrame: frame("onCommit", B, 7), children: [10] },
    { id: 10, callFrame: frame("latestRollup", B, 4) },
    { id: 11, callFrame: frame("record", B, 10) },
    { id: 12, callFrame: frame("(garbage collector)", "", 0) },
    { id: 13, callFrame: frame("(idle)", "", 0) }
  ],
  samples: [3, 5, 6, 2, 10, 9, 11, 12, 13],
  timeDeltas: [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]
}

describe("ProfileSplit", () => {
  it("finds the module markers esbuild writes", () => {
    expect(moduleStarts(bundle)).toEqual([
      [0, "sim/kernel/Scheduler.ts"],
      [3, "core/Machine.ts"],
      [6, "sim/check/Checker.ts"],
      [9, "sim/trace/Trace.ts"]
    ])
  })

  it("attributes each sample by its stack", () => {
    const split = splitProfile(profile, bundle, (u) => u === B, (u) => u.includes("/effect/"))
    expect(split).toEqual({
      effect: 1, // Effect run loop straight from the scheduler
      port: 2 + 3, // core's own frame, and Effect called from core
      kernel: 4,
      checker: 5 + 6, // core helpers the checker calls count as the checker
      trace: 7,
      gc: 8,
      other: 0, // idle is not work
      world: 0
    })
  })
})
