import { Data, Deferred, Effect, Exit, Fiber, Hash, HashSet, Queue, Schedule } from "effect"
import { describe, expect, it } from "vitest"
import { Kernel } from "./Kernel.ts"
import { NondeterminismError, TrapSession, trapsActive, withNondeterminismTraps } from "./Traps.ts"

const g = globalThis as Record<string, any>

const sources: Array<[string, () => unknown]> = [
  ["Math.random", () => Math.random()],
  ["Date.now", () => Date.now()],
  ["new Date()", () => new Date()],
  ["Date()", () => (Date as unknown as () => string)()],
  ["performance.now", () => performance.now()],
  ["process.hrtime", () => process.hrtime()],
  ["process.hrtime.bigint", () => process.hrtime.bigint()],
  ["process.nextTick", () => process.nextTick(() => {})],
  ["setTimeout", () => setTimeout(() => {}, 1)],
  ["setInterval", () => setInterval(() => {}, 1)],
  ["setImmediate", () => setImmediate(() => {})],
  ["queueMicrotask", () => queueMicrotask(() => {})],
  ["crypto.getRandomValues", () => crypto.getRandomValues(new Uint8Array(4))],
  ["crypto.randomUUID", () => crypto.randomUUID()]
]

const snapshot = () => [
  Math.random,
  Date,
  Date.now,
  performance.now,
  process.hrtime,
  process.nextTick,
  g.setTimeout,
  g.setInterval,
  g.clearInterval,
  g.setImmediate,
  g.queueMicrotask,
  crypto.getRandomValues,
  crypto.randomUUID
]

describe("withNondeterminismTraps", () => {
  for (const [name, call] of sources) {
    it(`traps ${name}`, () => {
      let inside: unknown
      expect(() =>
        withNondeterminismTraps(() => {
          try {
            call()
          } catch (e) {
            inside = e
          }
        })
      ).toThrow(NondeterminismError) // swallowed inside, still reported by the outermost call
      expect(inside).toBeInstanceOf(NondeterminismError)
      expect((inside as Error).message).toBe(`nondeterminism in simulated code: ${name} called`)
    })
  }

  it("restores every original afterwards, also after an exception", () => {
    const before = snapshot()
    expect(withNondeterminismTraps(() => 42)).toBe(42)
    expect(snapshot()).toEqual(before)
    expect(() =>
      withNondeterminismTraps(() => {
        throw new Error("boom")
      })
    ).toThrow("boom")
    expect(snapshot()).toEqual(before)
    expect(() => withNondeterminismTraps(() => Date.now())).toThrow(NondeterminismError)
    expect(snapshot()).toEqual(before)
    expect(typeof Date.now()).toBe("number")
    expect(new Date(0).getTime()).toBe(0)
    expect(trapsActive()).toBe(false)
  })

  it("leaves deterministic uses of Date alone", () => {
    withNondeterminismTraps(() => {
      const d = new Date(86_400_000)
      expect(d).toBeInstanceOf(Date)
      expect(d.toISOString()).toBe("1970-01-02T00:00:00.000Z")
      expect(Date.UTC(2020, 0, 1)).toBe(1577836800000)
      expect(Date.parse("1970-01-01T00:00:01Z")).toBe(1000)
    })
  })

  it("nests: inner calls run inside the outer traps", () => {
    expect(() =>
      withNondeterminismTraps(() => {
        expect(withNondeterminismTraps(() => trapsActive())).toBe(true)
        expect(() => Math.random()).toThrow(NondeterminismError)
      })
    ).toThrow(NondeterminismError)
  })
})

describe("Effect on the kernel under the traps", () => {
  const run = <A, E>(effect: Effect.Effect<A, E>): { exit: Exit.Exit<A, E> | null; now: number } => {
    const kernel = new Kernel()
    return withNondeterminismTraps(() => {
      const fiber = kernel.fork(effect)
      for (let i = 0; i < 1000; i++) {
        kernel.runUntilQuiet()
        if (kernel.pending.length > 0) kernel.deliver(0, Exit.succeed(1))
        else if (!kernel.advanceTime()) break
      }
      return { exit: fiber.unsafePoll(), now: kernel.clock.now }
    })
  }

  const cases: Record<string, Effect.Effect<unknown, unknown>> = {
    "fork/join": Effect.fork(Effect.succeed(1)).pipe(Effect.flatMap(Fiber.join)),
    "all with concurrency": Effect.all([Effect.succeed(1), Effect.sleep(10)], { concurrency: "unbounded" }),
    race: Effect.race(Effect.sleep(5), Effect.sleep(10)),
    "timeout of never": Effect.never.pipe(Effect.timeout(5), Effect.either),
    "retry with schedule": Effect.fail("e").pipe(Effect.retry(Schedule.exponential(10).pipe(Schedule.intersect(Schedule.recurs(3)))), Effect.either),
    deferred: Effect.gen(function*() {
      const d = yield* Deferred.make<number>()
      yield* Effect.fork(Deferred.succeed(d, 3))
      return yield* Deferred.await(d)
    }),
    queue: Effect.gen(function*() {
      const q = yield* Queue.bounded<number>(1)
      yield* Effect.fork(Queue.offer(q, 1))
      return yield* Queue.take(q)
    }),
    semaphore: Effect.gen(function*() {
      const s = yield* Effect.makeSemaphore(1)
      return yield* Effect.all([s.withPermits(1)(Effect.sleep(1)), s.withPermits(1)(Effect.sleep(1))], { concurrency: 2 })
    }),
    "spans and Effect.fn": Effect.fn("f")(function*() {
      return yield* Effect.succeed(1).pipe(Effect.withSpan("inner"))
    })(),
    // Below the minimum level, so nothing reaches the console. (Under vitest,
    // console output inside the traps trips Date.now: vitest's console capture
    // timestamps each line. Plain Node's console is fine.)
    "logDebug": Effect.logDebug("quiet"),
    "interrupt a child": Effect.fork(Effect.never).pipe(Effect.flatMap(Fiber.interrupt)),
    scoped: Effect.scoped(Effect.acquireRelease(Effect.succeed(1), () => Effect.void)),
    "HashSet of plain objects": Effect.sync(() => HashSet.fromIterable([{ a: 1 }, { a: 2 }])),
    "Data keys": Effect.sync(() => HashSet.fromIterable([Data.struct({ a: 1 }), Data.struct({ a: 1 })]).pipe(HashSet.size))
  }

  for (const [name, effect] of Object.entries(cases)) {
    it(`runs ${name} without tripping a trap`, () => {
      const { exit } = run(effect)
      expect(exit?._tag).toBe("Success")
    })
  }

  it("catches Date.now inside a fiber even though Effect turns it into a defect", () => {
    expect(() => run(Effect.sync(() => Date.now()))).toThrow(NondeterminismError)
  })

  it("makes the iteration order of plain-object HashSets reproducible", () => {
    const order = () =>
      run(Effect.sync(() => Array.from(HashSet.fromIterable(Array.from({ length: 50 }, (_, i) => ({ i })))).map((o) => o.i)))
    const a = order()
    expect(a.exit?._tag).toBe("Success")
    expect(order()).toEqual(a)
  })
})

describe("TrapSession", () => {
  it("arms the traps only inside run(), and carries the Hash.random sequence across segments", () => {
    // Fresh objects hashed in one whole run vs the same hashing split over two segments of a session.
    const hashesOf = (split: boolean): Array<number> => {
      const objs = [{}, {}, {}, {}]
      const h = (o: object) => HashSet.make(o).pipe((s) => [...s].length) // forces a hash
      const draw = (o: object) => void h(o)
      if (!split) withNondeterminismTraps(() => objs.forEach(draw))
      else {
        const session = new TrapSession()
        session.run(() => objs.slice(0, 2).forEach(draw))
        expect(trapsActive()).toBe(false)
        expect(() => Math.random()).not.toThrow()
        session.run(() => objs.slice(2).forEach(draw))
      }
      return objs.map((o) => Hash.hash(o))
    }
    const whole = hashesOf(false)
    const split = hashesOf(true)
    expect(split).toEqual(whole)
    const session = new TrapSession()
    expect(() => session.run(() => Math.random())).toThrow(NondeterminismError)
    expect(() => Math.random()).not.toThrow()
  })
})
