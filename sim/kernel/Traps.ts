/**
 * Nondeterminism traps (DESIGN.md §4): while a simulated run executes, every
 * ambient source of time, randomness and event-loop scheduling throws a
 * NondeterminismError, so a stray call fails at once instead of surfacing
 * later as a flaky digest.
 *
 * What Effect itself does on the simulator's path (effect 3.22), and how we
 * cope:
 * - `FiberId.unsafeMake` (every fork, every runFork/runSync) reads the wall clock (`Date` `now`)
 *   to stamp `startTimeMillis`, which also feeds FiberId's hash, hence the
 *   iteration order of any HashSet of fiber ids (e.g. Cause interruptors).
 *   We cannot patch the ES module, but the function first bumps a global
 *   counter (`effect/Fiber/Id/_fiberCounter`, a MutableRef in Effect's
 *   globalValue store); while trapped, that ref's `current` becomes an
 *   accessor whose setter arms a one-shot pass, and the very next wall-clock
 *   read returns 0 instead of throwing. So forks work, and fiber ids no longer
 *   depend on the wall clock. (A stack-inspection check would cost ~2.5 µs
 *   per fork; this costs nothing measurable.) The ids themselves still come
 *   from that process-global counter, so they differ between two runs in
 *   one process: keep fiber ids (e.g. Effect.log's `fiber=#n`) out of traces.
 * - `Hash.random` (the hash of any object without its own Hash: plain
 *   objects, fiber scopes...) draws from the global PRNG once per object and
 *   caches it in a global WeakMap. Effect's own internals reach it on our
 *   path (e.g. `Effect.all({ concurrency })` compares `Option.some(scope)`
 *   FiberRef values with `Equal.equals`, which hashes first). Same trick:
 *   while trapped, a cache miss (the WeakMap's `has` returning false) arms a
 *   pass, and that the global PRNG returns the next value of a fixed
 *   sequence restarted by every outermost `withNondeterminismTraps`. So
 *   HashMap/HashSet keyed by plain objects iterate in an order that depends
 *   only on the order in which the run first hashed its keys. Caveat: an
 *   object already hashed before the run keeps its old random hash; key maps
 *   by strings or `Data` values anyway.
 * - Effect's default runtime has the RuntimeMetrics flag on: every fiber
 *   exit reads the wall clock (and updates process-global metrics). The Kernel
 *   turns the flag off.
 * - `Effect.never` registers a do-nothing `setInterval(f, 2**31 - 1)` only to
 *   keep Node alive. That exact delay is allowed and returns an inert handle.
 * - Effect's default Clock (the wall clock, the high-resolution timers and
 *   real timers) and default Random are replaced by the Kernel's services, and
 *   its native Tracer (span ids from the global PRNG) by a deterministic one, so they
 *   are never reached.
 * - Nothing on the path uses queueMicrotask, setImmediate, process.nextTick
 *   or promises (checked in Traps.test.ts), so those are trapped outright.
 *   Node's own internals (console, streams) use internal references, not the
 *   globals, so logging still works under the traps in plain Node. Under
 *   vitest it does not: vitest's console capture reads the wall clock.
 */
import { FiberId } from "effect"

export class NondeterminismError extends Error {
  override readonly name = "NondeterminismError"
  constructor(readonly source: string) {
    super(`nondeterminism in simulated code: ${source} called`)
  }
}

// Referencing FiberId guarantees Effect's fiber-id module (and so the counter
// the wall-clock pass hooks into) is loaded before the first trap is installed.
void FiberId.none

const EFFECT_NEVER_INTERVAL = 2 ** 31 - 1
const INERT_INTERVAL = Symbol("persist-sim inert interval")

let depth = 0
let firstViolation: NondeterminismError | undefined
let fiberIdPass = false
let hashPass = false
let hashCounter = 0

// A fixed 32-bit mix of a counter (splitmix-style), as a double in [0, 1).
const nextHashDouble = (): number => {
  let x = (hashCounter = (hashCounter + 0x9e3779b9) | 0)
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return ((x ^ (x >>> 16)) >>> 0) / 4294967296
}

const trip = (source: string): never => {
  const error = new NondeterminismError(source)
  firstViolation ??= error
  throw error
}

const thrower = (source: string) =>
  function trapped(): never {
    return trip(source)
  }

interface Saved {
  readonly target: object
  readonly key: PropertyKey
  readonly descriptor: PropertyDescriptor | undefined
  /** Restore the value the trap accessor holds now, not the saved one (the fiber counter keeps counting). */
  readonly keepLive?: boolean
}

const swap = (
  saved: Array<Saved>,
  target: object | undefined,
  key: PropertyKey,
  descriptor: PropertyDescriptor,
  keepLive = false
) => {
  if (target === undefined || target === null) return
  const original = Object.getOwnPropertyDescriptor(target, key)
  if (original !== undefined && original.configurable === false) return
  saved.push({ target, key, descriptor: original, keepLive })
  Object.defineProperty(target, key, { configurable: true, enumerable: original?.enumerable ?? false, ...descriptor })
}

const value = (v: unknown): PropertyDescriptor => ({ value: v, writable: true })

const effectGlobal = (key: string): unknown => {
  const store = (globalThis as Record<string, unknown>)["effect/GlobalValue"]
  return store instanceof Map ? store.get(Symbol.for(key)) : undefined
}

const install = (): Array<Saved> => {
  const saved: Array<Saved> = []
  const g = globalThis as Record<string, any>
  const RealDate: DateConstructor = g.Date
  const trappedNow = function now(): number {
    if (fiberIdPass) {
      fiberIdPass = false
      return 0
    }
    return trip("Date.now")
  }
  function TrappedDate(this: unknown, ...args: Array<unknown>): unknown {
    if (new.target === undefined) return trip("Date()")
    if (args.length === 0) return trip("new Date()")
    return Reflect.construct(RealDate, args, new.target)
  }
  Object.defineProperties(TrappedDate, {
    prototype: { value: RealDate.prototype },
    now: { value: trappedNow },
    parse: { value: RealDate.parse },
    UTC: { value: RealDate.UTC }
  })

  // Order matters only for restore, which runs in reverse.
  const counter = effectGlobal("effect/Fiber/Id/_fiberCounter") as { current: number } | undefined
  if (typeof counter === "object" && counter !== null && "current" in counter) {
    let current = counter.current
    swap(saved, counter, "current", {
      get: () => current,
      set: (v: number) => {
        current = v
        fiberIdPass = true
      }
    }, true)
  }
  const hashCache = effectGlobal("effect/Hash/randomHashCache")
  if (hashCache instanceof WeakMap) {
    const has = WeakMap.prototype.has
    swap(
      saved,
      hashCache,
      "has",
      value(function(this: WeakMap<object, number>, key: object): boolean {
        const found = has.call(this, key)
        if (!found) hashPass = true
        return found
      })
    )
  }
  swap(saved, RealDate, "now", value(trappedNow))
  swap(saved, g, "Date", value(TrappedDate))
  swap(
    saved,
    Math,
    "random",
    value(function random(): number {
      if (hashPass) {
        hashPass = false
        return nextHashDouble()
      }
      return trip("Math.random")
    })
  )
  swap(saved, g.performance, "now", value(thrower("performance.now")))
  const hrtime = thrower("process.hrtime")
  Object.defineProperty(hrtime, "bigint", { value: thrower("process.hrtime.bigint") })
  swap(saved, g.process, "hrtime", value(hrtime))
  swap(saved, g.process, "nextTick", value(thrower("process.nextTick")))
  swap(saved, g, "setTimeout", value(thrower("setTimeout")))
  swap(saved, g, "setImmediate", value(thrower("setImmediate")))
  swap(saved, g, "queueMicrotask", value(thrower("queueMicrotask")))
  const realClearInterval = g.clearInterval
  swap(
    saved,
    g,
    "setInterval",
    value((_f: unknown, ms?: number) => (ms === EFFECT_NEVER_INTERVAL ? INERT_INTERVAL : trip("setInterval")))
  )
  swap(saved, g, "clearInterval", value((h: unknown) => (h === INERT_INTERVAL ? undefined : realClearInterval(h))))
  swap(saved, g.crypto, "getRandomValues", value(thrower("crypto.getRandomValues")))
  swap(saved, g.crypto, "randomUUID", value(thrower("crypto.randomUUID")))
  return saved
}

const restore = (saved: Array<Saved>): void => {
  for (let i = saved.length - 1; i >= 0; i--) {
    const { target, key, descriptor, keepLive } = saved[i]!
    if (descriptor === undefined) {
      delete (target as Record<PropertyKey, unknown>)[key]
    } else if (keepLive === true) {
      Object.defineProperty(target, key, { ...descriptor, value: (target as Record<PropertyKey, unknown>)[key] })
    } else {
      Object.defineProperty(target, key, descriptor)
    }
  }
  fiberIdPass = false
  hashPass = false
}

/**
 * One simulated run split into synchronous segments, with real asynchronous work between them
 * (the simulator awaiting a real store: PGlite and pg need promises and timers). `run(f)` arms
 * the traps for one segment and lifts them when it returns, so nothing but the segment ever
 * runs armed and nothing simulated ever runs lifted. Unlike separate `withNondeterminismTraps`
 * calls, a session carries the `Hash.random` sequence from one segment to the next, so a run
 * cut into segments hashes exactly as the same run in one call (same digests).
 */
export class TrapSession {
  private hashes = 0

  /**
   * Runs `f` with the traps installed and restores the originals afterwards, also when `f`
   * throws. If simulated code hit a trap and swallowed the error (Effect turns a throw into a
   * defect that a `catchAll`-style handler may absorb), the first violation is still thrown
   * when `f` returns. Nested calls run `f` inside the outer traps; the outermost call reports.
   */
  run<A>(f: () => A): A {
    if (depth > 0) return f()
    const saved = install()
    depth++
    firstViolation = undefined
    hashCounter = this.hashes
    let result: A
    try {
      result = f()
    } catch (error) {
      const violation = firstViolation
      if (violation !== undefined && violation !== error) throw violation
      throw error
    } finally {
      depth--
      this.hashes = hashCounter
      restore(saved)
    }
    const violation = firstViolation
    firstViolation = undefined
    if (violation !== undefined) throw violation
    return result
  }
}

/** Runs `f` as a whole run in one segment (see `TrapSession.run`). */
export const withNondeterminismTraps = <A>(f: () => A): A => new TrapSession().run(f)

/** True while `withNondeterminismTraps` is running. */
export const trapsActive = (): boolean => depth > 0
