import { describe, expect, it } from "vitest"
import { KEPT_WARNINGS, MetricsRegistry } from "./Metrics.ts"

describe("MetricsRegistry", () => {
  it("warn - keeps the first warnings word for word, counts all of them by kind, and tells the listener of each", () => {
    const heard: Array<string> = []
    const m = new MetricsRegistry((w) => heard.push(w.kind))
    for (let i = 0; i < KEPT_WARNINGS * 3; i++) m.warn(i % 2 === 0 ? "even" : "odd", `warning ${i}`)
    expect(m.warnings).toHaveLength(KEPT_WARNINGS)
    expect(m.warnings[0]).toEqual({ kind: "even", message: "warning 0" })
    expect(m.warningCount).toBe(KEPT_WARNINGS * 3)
    expect(Object.fromEntries(m.warningCounts)).toEqual({ even: (KEPT_WARNINGS * 3) / 2, odd: (KEPT_WARNINGS * 3) / 2 })
    expect(heard).toHaveLength(KEPT_WARNINGS * 3)
  })
})
