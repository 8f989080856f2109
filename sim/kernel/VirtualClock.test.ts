import { Clock, Duration, Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { Kernel } from "./Kernel.ts"
import { VirtualClock } from "./VirtualClock.ts"

describe("VirtualClock timers", () => {
  it("fires timers with equal due times in registration order, all in one advance", () => {
    const clock = new VirtualClock()
    const log: Array<string> = []
    clock.schedule(10, () => log.push("b1"))
    clock.schedule(5, () => log.push("a"))
    clock.schedule(10, () => log.push("b2"))
    clock.schedule(10, () => log.push("b3"))
    clock.schedule(20, () => log.push("c"))
    expect(clock.nextDue).toBe(5)
    expect(clock.advanceToNextTimer()).toBe(true)
    expect([clock.now, log]).toEqual([5, ["a"]])
    expect(clock.advanceToNextTimer()).toBe(true)
    expect([clock.now, log]).toEqual([10, ["a", "b1", "b2", "b3"]])
    expect(clock.advanceToNextTimer()).toBe(true)
    expect(clock.now).toBe(20)
    expect(clock.advanceToNextTimer()).toBe(false)
    expect(clock.hasTimers).toBe(false)
    expect(clock.nextDue).toBeUndefined()
  })

  it("keeps (due, registration) order across many random insertions and cancellations", () => {
    const clock = new VirtualClock(1000)
    const fired: Array<[number, number]> = []
    const timers = []
    // A fixed pseudo-random pattern (no Math.random in this repository).
    for (let i = 0; i < 500; i++) {
      const due = (i * 7919) % 37
      timers.push(clock.schedule(due, () => fired.push([clock.now, i])))
    }
    for (let i = 0; i < 500; i += 3) expect(clock.cancel(timers[i]!)).toBe(true)
    expect(clock.cancel(timers[0]!)).toBe(false)
    while (clock.advanceToNextTimer()) {
      // drain
    }
    const expected = Array.from({ length: 500 }, (_, i) => [1000 + ((i * 7919) % 37), i] as [number, number])
      .filter(([, i]) => i % 3 !== 0)
      .sort((x, y) => x[0] - y[0] || x[1] - y[1])
    expect(fired).toEqual(expected)
  })

  it("fires a timer registered by a callback for the same instant on the next advance", () => {
    const clock = new VirtualClock()
    const log: Array<string> = []
    clock.schedule(1, () => {
      log.push("first")
      clock.schedule(0, () => log.push("second"))
    })
    clock.advanceToNextTimer()
    expect(log).toEqual(["first"])
    expect(clock.nextDue).toBe(1)
    clock.advanceToNextTimer()
    expect([clock.now, log]).toEqual([1, ["first", "second"]])
  })

  it("advanceTo fires everything due by then and never moves backwards", () => {
    const clock = new VirtualClock()
    const log: Array<number> = []
    for (const d of [30, 10, 20]) clock.schedule(d, () => log.push(d))
    expect(clock.advanceTo(25)).toBe(2)
    expect([clock.now, log]).toEqual([25, [10, 20]])
    expect(clock.advanceTo(5)).toBe(0)
    expect(clock.now).toBe(25)
  })

  it("reports nanoseconds exactly for large epochs", () => {
    const clock = new VirtualClock(1_700_000_000_123)
    expect(clock.unsafeCurrentTimeNanos()).toBe(1_700_000_000_123_000_000n)
  })
})

describe("VirtualClock as Effect's Clock", () => {
  it("drives Effect.sleep and Clock.currentTimeMillis in virtual time", () => {
    const kernel = new Kernel({ epochMs: 100 })
    const fiber = kernel.fork(
      Effect.gen(function*() {
        const t0 = yield* Clock.currentTimeMillis
        yield* Effect.sleep("1500 millis")
        const t1 = yield* Clock.currentTimeMillis
        return [t0, t1]
      })
    )
    kernel.runUntilQuiet()
    expect(kernel.clock.nextDue).toBe(1600)
    expect(kernel.advanceTime()).toBe(true)
    expect(fiber.unsafePoll()).toMatchObject({ _tag: "Success", value: [100, 1600] })
  })

  it("removes the timer of an interrupted sleep", () => {
    const kernel = new Kernel()
    const fiber = kernel.fork(Effect.sleep("1 hour"))
    kernel.runUntilQuiet()
    expect(kernel.clock.timerCount).toBe(1)
    kernel.interrupt(fiber)
    kernel.runUntilQuiet()
    expect(kernel.clock.hasTimers).toBe(false)
    expect(fiber.unsafePoll()?._tag).toBe("Failure")
  })

  it("registers nothing for an infinite sleep", () => {
    const kernel = new Kernel()
    const fiber = kernel.fork(Effect.sleep(Duration.infinity))
    kernel.runUntilQuiet()
    expect(kernel.clock.hasTimers).toBe(false)
    expect(kernel.isDeadlocked).toBe(true)
    kernel.interrupt(fiber)
    kernel.runUntilQuiet()
    expect(kernel.liveFibers).toBe(0)
  })

  it("lets a timeout fire first when the driver advances time", () => {
    const kernel = new Kernel()
    const fiber = kernel.fork(
      Effect.gen(function*() {
        const slow = yield* Effect.fork(Effect.sleep("10 seconds").pipe(Effect.as("slow")))
        return yield* Fiber.join(slow).pipe(Effect.timeout("1 second"), Effect.either)
      })
    )
    kernel.runUntilQuiet()
    kernel.advanceTime()
    expect(kernel.clock.now).toBe(1000)
    expect(fiber.unsafePoll()).toMatchObject({ _tag: "Success", value: { _tag: "Left" } })
  })
})
