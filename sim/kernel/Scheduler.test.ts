import { Effect, Runtime } from "effect"
import { describe, expect, it } from "vitest"
import { SimScheduler } from "./Scheduler.ts"

describe("SimScheduler", () => {
  it("runs tasks in FIFO order, including tasks enqueued while running", () => {
    const s = new SimScheduler()
    const log: Array<string> = []
    s.scheduleTask(() => {
      log.push("a")
      s.scheduleTask(() => log.push("c"), 0)
    }, 0)
    s.scheduleTask(() => log.push("b"), 5) // priority is ignored
    expect(log).toEqual([])
    expect(s.queued).toBe(2)
    expect(s.runUntilIdle()).toBe(3)
    expect(log).toEqual(["a", "b", "c"])
    expect(s.isIdle).toBe(true)
    expect(s.tasksRun).toBe(3)
  })

  it("throws when the budget runs out (livelock guard)", () => {
    const s = new SimScheduler()
    const loop = (): void => s.scheduleTask(loop, 0)
    loop()
    expect(() => s.runUntilIdle(1000)).toThrow(/livelock/)
  })

  it("keeps FIFO order across the compaction of a long queue", () => {
    const s = new SimScheduler()
    const log: Array<number> = []
    let next = 0
    // Each task enqueues two, so the queue keeps growing while it is drained.
    const task = (): void => {
      const me = next++
      log.push(me)
      if (me < 20_000) {
        s.scheduleTask(task, 0)
        s.scheduleTask(task, 0)
      }
    }
    s.scheduleTask(task, 0)
    s.runUntilIdle()
    expect(log).toEqual(Array.from({ length: log.length }, (_, i) => i))
  })

  it("never yields: a long synchronous Effect runs as one task", () => {
    const s = new SimScheduler()
    const rt = Runtime.runSync(Runtime.defaultRuntime)(Effect.runtime<never>().pipe(Effect.withScheduler(s)))
    const fiber = Runtime.runFork(rt, Effect.forEach(Array.from({ length: 10_000 }, (_, i) => i), (i) => Effect.succeed(i)), {
      immediate: false
    })
    expect(s.runUntilIdle()).toBe(1)
    expect(fiber.unsafePoll()?._tag).toBe("Success")
  })
})
