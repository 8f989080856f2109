/**
 * The simulation kernel: one SimScheduler, one VirtualClock, and the list of
 * parked requests. It is only the mechanism; the sim world decides (from
 * Choices) which request to deliver, with which result, and when time moves.
 *
 * Driver loop (DESIGN.md §4):
 *   kernel.runUntilQuiet()                       // every fiber parked or done
 *   if kernel.pending.length > 0: kernel.deliver(i, exit)
 *   else if !kernel.advanceTime(): done or kernel.isDeadlocked
 *
 * Forking never runs anything: the fiber's first step is queued on the
 * scheduler and runs in the next runUntilQuiet, so all simulated code runs
 * inside the driver loop (and inside the traps, if the driver is).
 */
import {
  ConfigProvider,
  Context,
  Effect,
  Exit,
  type Fiber,
  FiberId,
  Option,
  Random,
  Runtime,
  RuntimeFlags,
  Tracer
} from "effect"
import { SimScheduler } from "./Scheduler.ts"
import { VirtualClock } from "./VirtualClock.ts"

/** What a parked call is, for the driver's choices and the trace. */
export interface RequestInfo {
  readonly process: string
  readonly op: string
  readonly detail?: string
}

export interface PendingRequest<C> {
  /** Monotonically increasing per kernel, in arrival order. */
  readonly id: number
  readonly process: string
  readonly op: string
  readonly detail: string | undefined
  /** Opaque to the kernel: what the world needs to complete the request (e.g. a function performing the op). */
  readonly complete: C
}

class Parked<C> implements PendingRequest<C> {
  constructor(
    readonly id: number,
    readonly process: string,
    readonly op: string,
    readonly detail: string | undefined,
    readonly complete: C,
    readonly resume: (effect: Effect.Effect<any, any>) => void
  ) {}
}

export interface KernelOptions {
  /** Initial virtual time in ms (default 0). */
  readonly epochMs?: number
  /** Seed of Effect's `Random` service inside the simulation (default 0). */
  readonly randomSeed?: number
  /** Livelock guard: max tasks per runUntilQuiet (default 10 million). */
  readonly taskBudget?: number
}

export class Kernel<C = unknown> {
  readonly scheduler = new SimScheduler()
  readonly clock: VirtualClock
  private readonly parked: Array<Parked<C>> = []
  private nextRequestId = 0
  // Insertion-ordered, so shutdown interrupts in fork order.
  private readonly roots = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
  private readonly taskBudget: number
  private readonly baseRuntime: Runtime.Runtime<never>

  constructor(options: KernelOptions = {}) {
    this.clock = new VirtualClock(options.epochMs ?? 0)
    this.taskBudget = options.taskBudget ?? 10_000_000
    // Capture a Runtime from inside a fiber whose FiberRefs carry our
    // scheduler and services: the public way to get a Runtime with the
    // (otherwise internal) CurrentScheduler FiberRef set. runSync uses its
    // own synchronous scheduler, so no event loop is involved.
    // RuntimeMetrics is on in Effect's default runtime: every fiber exit then
    // reads the wall clock and updates process-global fiber metrics. Off, for
    // determinism (and speed); forked fibers inherit the flags.
    this.baseRuntime = Runtime.runSync(Runtime.disableRuntimeFlag(Runtime.defaultRuntime, RuntimeFlags.RuntimeMetrics))(
      Effect.runtime<never>().pipe(
        Effect.withScheduler(this.scheduler),
        Effect.withClock(this.clock),
        Effect.withRandom(Random.make(options.randomSeed ?? 0)),
        // Config must not read process.env: the environment is an input no seed controls.
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
        Effect.withTracer(makeSimTracer())
      )
    )
  }

  /**
   * A Runtime whose fibers run on this kernel (scheduler, clock, Random,
   * Config, Tracer), with `context` added. `Runtime.runFork` on it starts the
   * fiber synchronously unless given `{ immediate: false }`, and such fibers
   * are not counted by `liveFibers`/`isDeadlocked`: prefer `fork`.
   */
  runtime<R = never>(context?: Context.Context<R>): Runtime.Runtime<R> {
    if (context === undefined) return this.baseRuntime as Runtime.Runtime<R>
    return Runtime.updateContext(this.baseRuntime, (base) => Context.merge(base, context))
  }

  /**
   * Forks `effect` as a root fiber of this kernel; it starts at the next
   * runUntilQuiet. Observe its end with `fiber.unsafePoll()` or
   * `fiber.addObserver`. Root fibers count towards `liveFibers`/deadlock.
   */
  fork<A, E>(effect: Effect.Effect<A, E>): Fiber.RuntimeFiber<A, E> {
    const fiber = Runtime.runFork(this.baseRuntime, effect, { immediate: false })
    this.roots.add(fiber)
    fiber.addObserver(() => this.roots.delete(fiber))
    return fiber
  }

  /**
   * An effect that, each time it runs, parks its fiber as a pending request
   * until the driver calls `deliver`. If the fiber is interrupted while
   * parked (a crash), the request leaves the pending list.
   */
  park<A, E = never>(info: RequestInfo, complete: C): Effect.Effect<A, E> {
    return Effect.async<A, E>((resume) => {
      const request = new Parked<C>(
        this.nextRequestId++,
        info.process,
        info.op,
        info.detail,
        complete,
        resume
      )
      this.parked.push(request)
      return Effect.sync(() => this.remove(request))
    })
  }

  /** Parked requests in arrival order: index 0 is the oldest, the "simplest" choice. */
  get pending(): ReadonlyArray<PendingRequest<C>> {
    return this.parked
  }

  /**
   * Resumes the request at `index` of `pending` with `exit` (success or
   * failure) and removes it. The fiber continues at the next runUntilQuiet.
   * The exit's types are the world's responsibility: it must match the
   * `park<A, E>` that created the request.
   */
  deliver(index: number, exit: Exit.Exit<unknown, unknown>): PendingRequest<C> {
    const request = this.parked[index]
    if (request === undefined) {
      throw new RangeError(`Kernel.deliver(${index}): only ${this.parked.length} pending requests`)
    }
    if (index === 0) this.parked.shift()
    else this.parked.splice(index, 1)
    request.resume(exit)
    return request
  }

  /** Queues an interruption of `fiber` (a crash); it takes effect at the next runUntilQuiet. */
  interrupt(fiber: Fiber.RuntimeFiber<unknown, unknown>): void {
    fiber.unsafeInterruptAsFork(FiberId.none)
  }

  /** Runs fibers until every one is parked, sleeping, blocked or done. Returns the number of tasks run. */
  runUntilQuiet(): number {
    return this.scheduler.runUntilIdle(this.taskBudget)
  }

  /** Fires the next timer(s) and runs until quiet; false if there was no timer. */
  advanceTime(): boolean {
    if (!this.clock.advanceToNextTimer()) return false
    this.runUntilQuiet()
    return true
  }

  /** Root fibers forked by this kernel that have not finished. */
  get liveFibers(): number {
    return this.roots.size
  }

  /** Some root fiber is unfinished, yet nothing can ever wake it: no task, no request, no timer. */
  get isDeadlocked(): boolean {
    return this.roots.size > 0 && this.scheduler.isIdle && this.parked.length === 0 && !this.clock.hasTimers
  }

  /**
   * Ends a run: interrupts every live root fiber, fails whatever their
   * finalizers park, fires their timers, until all are done or `maxRounds`
   * is spent. Needed because Effect keeps every unfinished root fiber in a
   * process-global set (FiberScope.globalScope): a kernel abandoned with
   * fibers still parked or sleeping would never be garbage-collected.
   * Returns true when no root fiber is left.
   */
  shutdown(maxRounds: number = 1000): boolean {
    const interrupted = Exit.interrupt(FiberId.none)
    for (let round = 0; round < maxRounds && this.roots.size > 0; round++) {
      for (const fiber of this.roots) fiber.unsafeInterruptAsFork(FiberId.none)
      this.runUntilQuiet()
      while (this.parked.length > 0) {
        this.deliver(0, interrupted)
        this.runUntilQuiet()
      }
      if (this.roots.size > 0) this.advanceTime()
    }
    return this.roots.size === 0
  }

  private remove(request: Parked<C>): void {
    const i = this.parked.indexOf(request)
    if (i >= 0) this.parked.splice(i, 1)
  }
}

/**
 * Effect's native tracer draws span and trace ids from the global PRNG; this one
 * numbers them per kernel, so `Effect.withSpan`/`Effect.fn` work under the
 * traps and span ids are reproducible.
 */
const makeSimTracer = (): Tracer.Tracer => {
  let nextId = 0
  return Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const id = (nextId++).toString(16).padStart(16, "0")
      const traceId = Option.isSome(parent) ? parent.value.traceId : `sim-${id}`
      return new SimSpan(name, id, traceId, parent, context, links, startTime, kind)
    },
    context: (f) => f()
  })
}

class SimSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly sampled = true
  status: Tracer.SpanStatus
  readonly attributes = new Map<string, unknown>()
  readonly links: Array<Tracer.SpanLink>
  readonly events: Array<readonly [string, bigint, Record<string, unknown>]> = []

  constructor(
    readonly name: string,
    readonly spanId: string,
    readonly traceId: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: Iterable<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.status = { _tag: "Started", startTime }
    this.links = Array.from(links)
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }

  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }

  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    this.events.push([name, startTime, attributes ?? {}])
  }

  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    for (const link of links) this.links.push(link)
  }
}
