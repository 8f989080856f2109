import { Config, Context, Deferred, Effect, Exit, Option, Runtime } from "effect"
import { describe, expect, it } from "vitest"
import { Choices } from "./Choices.ts"
import { Kernel } from "./Kernel.ts"
import { withNondeterminismTraps } from "./Traps.ts"

type Complete = () => Exit.Exit<unknown, unknown>

/**
 * A miniature sim world: processes that call a shared counter service
 * through parked requests, sleep between calls, and sometimes get failures;
 * the driver picks every delivery, fault and time step from Choices.
 */
const runWorld = (seed: number): Array<string> => {
  const choices = Choices.seeded(seed)
  const kernel = new Kernel<Complete>()
  const events: Array<string> = []
  let counter = 0
  const increment = (process: string) =>
    kernel.park<number, string>({ process, op: "increment" }, () => Exit.succeed(++counter))
  const proc = (name: string, calls: number) =>
    Effect.gen(function*() {
      for (let i = 0; i < calls; i++) {
        const r = yield* Effect.either(increment(name))
        events.push(`t=${kernel.clock.now} ${name} got ${r._tag === "Right" ? r.right : r.left}`)
        yield* Effect.sleep(choices.draw(50, `${name} think time`))
      }
    })
  const fibers = ["a", "b", "c"].map((name, i) => kernel.fork(proc(name, 20 + i)))
  withNondeterminismTraps(() => {
    for (;;) {
      kernel.runUntilQuiet()
      const pending = kernel.pending
      if (pending.length > 0 && (!kernel.clock.hasTimers || !choices.drawBool(0.2, "advance time first"))) {
        const i = choices.draw(pending.length, "which request")
        const req = pending[i]!
        const fail = choices.drawBool(0.1, "fault")
        kernel.deliver(i, fail ? Exit.fail("injected") : req.complete())
        events.push(`t=${kernel.clock.now} deliver #${req.id} ${req.process}.${req.op}${fail ? " (fault)" : ""}`)
      } else if (!kernel.advanceTime()) {
        break
      }
    }
  })
  expect(fibers.every((f) => f.unsafePoll()?._tag === "Success")).toBe(true)
  expect(kernel.isDeadlocked).toBe(false)
  events.push(`tape ${choices.tape.join(",")}`)
  return events
}

describe("Kernel", () => {
  it("is deterministic: same seed, same events at the same virtual times", () => {
    const a = runWorld(1)
    const b = runWorld(1)
    expect(b).toEqual(a)
    expect(a.length).toBeGreaterThan(120)
    expect(runWorld(2)).not.toEqual(a)
  })

  it("does not run a forked fiber before runUntilQuiet", () => {
    const kernel = new Kernel()
    let ran = false
    const fiber = kernel.fork(Effect.sync(() => (ran = true)))
    expect(ran).toBe(false)
    expect(fiber.unsafePoll()).toBeNull()
    kernel.runUntilQuiet()
    expect(ran).toBe(true)
    expect(fiber.unsafePoll()).toEqual(Exit.succeed(true))
    expect(kernel.liveFibers).toBe(0)
  })

  it("parks requests in arrival order with increasing ids and delivers successes and failures", () => {
    const kernel = new Kernel<string>()
    const call = (process: string, op: string) => kernel.park<string, string>({ process, op, detail: "d" }, `${process}:${op}`)
    const p = kernel.fork(Effect.all([call("p", "get"), call("p", "put").pipe(Effect.flip)]))
    const q = kernel.fork(call("q", "get"))
    kernel.runUntilQuiet()
    expect(kernel.pending.map((r) => [r.id, r.process, r.op, r.detail, r.complete])).toEqual([
      [0, "p", "get", "d", "p:get"],
      [1, "q", "get", "d", "q:get"]
    ])
    expect(kernel.deliver(1, Exit.succeed("q-result")).id).toBe(1)
    expect(kernel.deliver(0, Exit.succeed("p-result")).id).toBe(0)
    kernel.runUntilQuiet()
    expect(kernel.pending.map((r) => r.id)).toEqual([2])
    kernel.deliver(0, Exit.fail("nope"))
    kernel.runUntilQuiet()
    expect(q.unsafePoll()).toEqual(Exit.succeed("q-result"))
    expect(p.unsafePoll()).toEqual(Exit.succeed(["p-result", "nope"]))
    expect(() => kernel.deliver(0, Exit.void)).toThrow(RangeError)
  })

  it("removes the request of a fiber interrupted while parked (a crash)", () => {
    const kernel = new Kernel()
    const victim = kernel.fork(kernel.park({ process: "victim", op: "cas" }, undefined))
    const bystander = kernel.fork(kernel.park({ process: "bystander", op: "cas" }, undefined))
    kernel.runUntilQuiet()
    expect(kernel.pending.map((r) => r.process)).toEqual(["victim", "bystander"])
    kernel.interrupt(victim)
    kernel.runUntilQuiet()
    expect(kernel.pending.map((r) => r.process)).toEqual(["bystander"])
    expect(Exit.isInterrupted(victim.unsafePoll()!)).toBe(true)
    kernel.deliver(0, Exit.succeed(1))
    kernel.runUntilQuiet()
    expect(bystander.unsafePoll()).toEqual(Exit.succeed(1))
  })

  it("removes the requests of child fibers interrupted with their parent", () => {
    const kernel = new Kernel()
    const parent = kernel.fork(
      Effect.all([1, 2, 3].map((i) => kernel.park({ process: "p", op: `op${i}` }, undefined)), { concurrency: "unbounded" })
    )
    kernel.runUntilQuiet()
    expect(kernel.pending.length).toBe(3)
    kernel.interrupt(parent)
    kernel.runUntilQuiet()
    expect(kernel.pending.length).toBe(0)
    expect(kernel.liveFibers).toBe(0)
  })

  it("completes 10k fibers ping-ponging through park/deliver", () => {
    const kernel = new Kernel()
    const n = 10_000
    const rounds = 3
    const fibers = Array.from({ length: n }, (_, i) =>
      kernel.fork(
        Effect.gen(function*() {
          let sum = 0
          for (let r = 0; r < rounds; r++) sum += yield* kernel.park<number>({ process: `p${i}`, op: "ping" }, undefined)
          return sum
        })
      )
    )
    let delivered = 0
    kernel.runUntilQuiet()
    while (kernel.pending.length > 0) {
      // Deliver newest-first to exercise delivery from the end of the list.
      kernel.deliver(kernel.pending.length - 1, Exit.succeed(1))
      delivered++
      if (kernel.pending.length === 0 || delivered % 100 === 0) kernel.runUntilQuiet()
    }
    kernel.runUntilQuiet()
    expect(delivered).toBe(n * rounds)
    expect(fibers.every((f) => Exit.isExit(f.unsafePoll()) && (f.unsafePoll() as Exit.Exit<number>)._tag === "Success")).toBe(true)
    expect(kernel.liveFibers).toBe(0)
  })

  it("detects a deadlock: a live fiber with no request, no timer and nothing queued", () => {
    const kernel = new Kernel()
    const fiber = kernel.fork(
      Effect.gen(function*() {
        const never = yield* Deferred.make<void>()
        yield* Deferred.await(never)
      })
    )
    expect(kernel.isDeadlocked).toBe(false) // queued, not yet run
    kernel.runUntilQuiet()
    expect(kernel.advanceTime()).toBe(false)
    expect(kernel.isDeadlocked).toBe(true)
    expect(kernel.liveFibers).toBe(1)
    kernel.interrupt(fiber)
    kernel.runUntilQuiet()
    expect(kernel.isDeadlocked).toBe(false)
  })

  it("is not deadlocked while a request is pending or a timer is set", () => {
    const kernel = new Kernel()
    kernel.fork(kernel.park({ process: "p", op: "x" }, undefined))
    kernel.fork(Effect.sleep(10))
    kernel.runUntilQuiet()
    expect(kernel.isDeadlocked).toBe(false)
    kernel.deliver(0, Exit.void)
    kernel.runUntilQuiet()
    expect(kernel.isDeadlocked).toBe(false)
    kernel.advanceTime()
    expect([kernel.isDeadlocked, kernel.liveFibers]).toEqual([false, 0])
  })

  it("provides services through runtime(context) and runs its fibers on the kernel", () => {
    class Greeting extends Context.Tag("Greeting")<Greeting, string>() {}
    const kernel = new Kernel()
    const rt = kernel.runtime(Context.make(Greeting, "hello"))
    const fiber = Runtime.runFork(rt, Effect.sleep(5).pipe(Effect.zipRight(Greeting)), { immediate: false })
    expect(fiber.unsafePoll()).toBeNull()
    kernel.runUntilQuiet()
    expect(kernel.clock.nextDue).toBe(5)
    kernel.advanceTime()
    expect(fiber.unsafePoll()).toEqual(Exit.succeed("hello"))
  })

  it("gives reproducible Effect Random values and span ids", () => {
    const sample = () => {
      const kernel = new Kernel({ randomSeed: 9 })
      const fiber = kernel.fork(
        Effect.all([
          Effect.randomWith((r) => r.nextIntBetween(0, 1_000_000)),
          Effect.currentSpan.pipe(Effect.withSpan("s"), Effect.map((span) => span.spanId))
        ])
      )
      kernel.runUntilQuiet()
      return fiber.unsafePoll()
    }
    const first = withNondeterminismTraps(sample)
    expect(first?._tag).toBe("Success")
    expect(withNondeterminismTraps(sample)).toEqual(first)
  })

  it("isolates Config from the process environment", () => {
    const kernel = new Kernel()
    const fiber = kernel.fork(Config.string("PATH").pipe(Effect.option))
    kernel.runUntilQuiet()
    expect(fiber.unsafePoll()).toEqual(Exit.succeed(Option.none()))
  })

  it("shutdown ends every root fiber: parked, sleeping, deadlocked, parked again by a finalizer", () => {
    const kernel = new Kernel()
    const park = kernel.park({ process: "p", op: "x" }, undefined)
    kernel.fork(park)
    kernel.fork(Effect.sleep("1 hour"))
    kernel.fork(Deferred.make<void>().pipe(Effect.flatMap(Deferred.await)))
    kernel.fork(Effect.never.pipe(Effect.ensuring(Effect.ignore(park)), Effect.ensuring(Effect.sleep(10))))
    kernel.runUntilQuiet()
    expect(kernel.liveFibers).toBe(4)
    expect(kernel.shutdown()).toBe(true)
    expect([kernel.liveFibers, kernel.pending.length, kernel.clock.hasTimers]).toEqual([0, 0, false])
  })
})
