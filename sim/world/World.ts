/**
 * A simulated world: shared Consensus and Blob, processes running the real core/ code over
 * parked store calls, and the driver that — drawing every decision from one Choices source —
 * picks the next request, its fault, crashes and restarts, checks every invariant after every
 * step, and records the trace.
 *
 * A run is one synchronous call: nothing touches the event loop, and it runs inside the
 * nondeterminism traps, so the same tape gives the same trace on any machine.
 *
 *   loop: run every fiber until it parks → pick a deliverable request → draw its fault →
 *         apply it to the stores → check → trace; with nothing to deliver, advance time.
 *   then: the liveness phase (Liveness.ts).
 */
import { Cause, Either, Exit, Option } from "effect"
import { type Attribution, noAttribution } from "../../core/Attribution.ts"
import { MemBlob } from "../../core/Blob.ts"
import { type BugSwitchesShape, noBugs } from "../../core/BugSwitches.ts"
import { MemConsensus, runContract } from "../../core/Consensus.ts"
import { Determinate, Indeterminate } from "../../core/Errors.ts"
import { ShardId } from "../../core/Ids.ts"
import { MetricsRegistry, type Warning } from "../../core/Metrics.ts"
import { PersistPanic } from "../../core/Panic.ts"
import { PartialRollupKey } from "../../core/Paths.ts"
import { BlobKey } from "../../core/Paths.ts"
import { defaultPersistConfig, type PersistConfigShape } from "../../core/PersistConfig.ts"
import { Checker } from "../check/Checker.ts"
import { classify, type RunFact } from "../check/Findings.ts"
import * as V from "../check/Violations.ts"
import type { RequestBy, Violation } from "../check/Violations.ts"
import type { Choices } from "../kernel/Choices.ts"
import { Kernel, type PendingRequest } from "../kernel/Kernel.ts"
import { TrapSession, withNondeterminismTraps } from "../kernel/Traps.ts"
import { TraceRecorder, type TraceEvent } from "../trace/Trace.ts"
import { defaultFaultOptions, FaultDrawer, type FaultKind, type FaultOptions, type FaultPlan } from "./Faults.ts"
import { beginLiveness, runLiveness } from "./Liveness.ts"
import { type Backend, exitOf, sameAnswer, settle } from "./Backend.ts"
import { Nemesis, type NemesisOptions } from "./Nemesis.ts"
import { GcNemesis } from "./GcNemesis.ts"
import { type Proc, startProcess } from "./Processes.ts"
import type { FieldsOf, WorldHost } from "./Host.ts"
import type { StoreCall } from "./SimStores.ts"
import { debugAssertionsFor, drawSwarmConfig, inlineWritesFor, targetedFaultsFor, unwatchedGcFor, targetedShape, type Role, type SwarmConfig } from "./SwarmConfig.ts"

export interface RunOptions {
  /** Delivered requests in the main phase (the liveness phase has its own budget). */
  readonly steps: number
  readonly bugs?: Partial<BugSwitchesShape>
  /** Replaces the drawn configuration (scenarios). */
  readonly config?: SwarmConfig
  /** Replaces the fixed fault ranges and odds. */
  readonly faultOptions?: FaultOptions
  /** Keep every event in memory (for trace files and reports). */
  readonly keepEvents?: boolean
  /**
   * Run the liveness phase after the main phase (default true). Off only for a shrunk run whose
   * violation happens in the main phase: the janitor's thousands of steps are not the story.
   */
  readonly liveness?: boolean
  /**
   * The liveness phase stops after this many steps (default: its own budget, LIVENESS_STEPS),
   * and a janitor still running then is not a timeout: a shrunk run whose violation happens in
   * the liveness phase ends there, as its trace header says (the janitor's clean-up after the
   * violation is not the story).
   */
  readonly livenessSteps?: number
  /** Run the invariant checker (default true; off only to measure its cost). */
  readonly check?: boolean
  /**
   * Core's debug assertions (persist's `cfg(debug_assertions)`): on or off for every seed.
   * Unset: the configuration's own setting, else the seed's draw (see `debugAssertionsFor`).
   */
  readonly debugAssertions?: boolean
  /** The deletion nemesis (Nemesis.ts); off when absent. */
  readonly nemesis?: NemesisOptions
  /** The GC-race nemesis (GcNemesis.ts): forced on or off; unset, the seed's targeted draw decides. */
  readonly gcNemesis?: boolean
}

export interface RunResult {
  readonly config: SwarmConfig
  readonly faultPlan: FaultPlan
  readonly steps: number
  /** Steps delivered when the main phase ended (the liveness phase's come after). */
  readonly mainSteps: number
  readonly virtualTimeMs: number
  readonly violations: ReadonlyArray<Violation>
  /** Known findings that explain some of the violations (see check/Findings.ts). */
  readonly findings: ReadonlyArray<string>
  /** Violations no known finding explains: a run with any is a new failure. */
  readonly unexplained: ReadonlyArray<Violation>
  readonly faults: Readonly<Record<string, number>>
  readonly marks: ReadonlyArray<readonly [string, number]>
  readonly warnings: number
  readonly leaks: { readonly rollups: number; readonly parts: number }
  readonly checks: number
  readonly digest: string
  readonly events: ReadonlyArray<TraceEvent>
  readonly tape: ReadonlyArray<number>
}

/** Warnings persist logs that, in a single linearizable Blob, mean something is wrong. */
const WARNINGS_THAT_ARE_FINDINGS: Record<string, "RACE-3" | "RACE-4" | "INV-7"> = {
  fetchCurrentStateEarliestDidNotAdvance: "RACE-3",
  fetchAllLiveStatesEarliestDidNotAdvance: "RACE-4",
  gcEarliestWithoutRollup: "INV-7"
}
// Not in the list: `rollupAtSeqnoMigration`. The spec expects the migration fallback never to run
// in a correct system, but seed 177 shows it does: fetch_all_live_states scans [E, H];
// fetch_current_state then finds H's rollup gone (GC moved on), refetches, and returns a newer
// state whose rollups no longer include E, so the lookup falls back to the key sniffed from the
// old diffs. Ground truth (INV-7 in the checker) held throughout; the counter is a coverage mark.

/** Injected errors carry no information beyond their kind, so one instance of each serves every request. */
const SIMULATED_DETERMINATE = new Determinate({ message: "simulated determinate error" })
const SIMULATED_NOT_APPLIED = new Indeterminate({ message: "simulated indeterminate error (not applied)" })
const SIMULATED_APPLIED = new Indeterminate({ message: "simulated indeterminate error (applied)" })

/** A delivery whose fault is drawn and that now needs the stores' answer (World.beginDelivery). */
interface Delivery {
  readonly index: number
  readonly req: PendingRequest<StoreCall>
  readonly by: RequestBy
  readonly fault: FaultKind
  /** What the answer becomes: held for later, unheard (the sender crashes), or the response. */
  readonly then: "holdResponse" | "crash" | "respond"
  readonly label: string
}

/** Virtual time starts here, so wall-clock-looking timestamps in state are plausible. */
const EPOCH_MS = 1_000_000
/** Coverage mark: versions that unlinked an inline part and that a truncation passed (GC walked them). */
export const INLINE_UNLINK_MARK = "check.inlineUnlinkTruncated"
const WORLD: Attribution = { ...noAttribution, task: "" as Attribution["task"] }

export class World implements WorldHost {
  readonly consensus = new MemConsensus()
  readonly blob = new MemBlob()
  readonly metrics: MetricsRegistry
  readonly kernel: Kernel<StoreCall>
  readonly checker: Checker
  readonly trace: TraceRecorder
  readonly config: SwarmConfig
  readonly shardId = ShardId.make("00000000-0000-4000-8000-000000000001")
  readonly persistCfg: PersistConfigShape
  readonly bugs: BugSwitchesShape
  private readonly faults: FaultDrawer
  private readonly procs: Array<Proc> = []
  private readonly faultCounts: Record<string, number> = {}
  /** Requests held back by a latency fault: request id -> virtual time it becomes deliverable. */
  private readonly delayedUntil = new Map<number, number>()
  /** Requests already applied whose response is held back (slow responses). */
  private readonly heldResponses = new Map<number, { readonly exit: Exit.Exit<unknown, unknown>; readonly result: string }>()
  /** Faults on mutating requests and persist's warnings: the causes findings ask about. */
  private readonly facts: Array<RunFact> = []
  private step = 0
  private mainSteps: number | undefined
  /** See WorldHost.drawer. */
  drawer = "world"
  /** Indices into `kernel.pending` the next `deliver` draw chooses among (a shrinker follows picks by request). */
  deliverable: ReadonlyArray<number> = []
  private faultsOn = true

  constructor(
    readonly choices: Choices,
    readonly options: RunOptions
  ) {
    const self = this
    const drawn = options.config ?? drawSwarmConfig(choices)
    const randomSeed = choices.draw(2 ** 32, "randomSeed")
    this.kernel = new Kernel<StoreCall>({ randomSeed, epochMs: EPOCH_MS })
    const debugAssertions = options.debugAssertions ?? drawn.persist.debugAssertions ?? debugAssertionsFor(randomSeed)
    const seedTargets = drawn.targeted ?? targetedFaultsFor(randomSeed)
    const targeted = options.gcNemesis === undefined ? seedTargets : { ...seedTargets, gcRace: options.gcNemesis }
    const shaped = targetedShape(drawn, targeted)
    // Inline writes only in swarm-drawn worlds: a given configuration (scenarios) says its own.
    const inlineWritesSingleMaxBytes = drawn.persist.inlineWritesSingleMaxBytes ?? (options.config === undefined ? inlineWritesFor(randomSeed) : 0)
    const unwatchedGc = drawn.unwatchedGc ?? (options.config === undefined ? unwatchedGcFor(randomSeed) : undefined)
    this.config = { ...shaped, persist: { ...shaped.persist, debugAssertions, inlineWritesSingleMaxBytes }, targeted, ...(unwatchedGc === undefined ? {} : { unwatchedGc }) }
    this.faults = new FaultDrawer(choices, { rates: drawn.faults, targeted, options: options.faultOptions ?? defaultFaultOptions })
    this.persistCfg = { ...defaultPersistConfig, ...this.config.persist }
    this.bugs = { ...noBugs, ...options.bugs }
    this.metrics = new MetricsRegistry((w) => this.onWarn(w))
    this.checker = new Checker(this.shardId, this.consensus, this.blob, this.persistCfg.buildVersion)
    this.trace = new TraceRecorder(options.keepEvents ?? true)
    this.checker.enabled = options.check ?? true
    // Last: its draws must not shift any other construction draw.
    this.nemesis = options.nemesis === undefined ? undefined : new Nemesis(choices, {
      blob: this.blob, consensus: this.consensus, checker: this.checker, shardId: this.shardId, buildVersion: this.persistCfg.buildVersion,
      get stepCount() { return self.step },
      // Each nemesis action is also a coverage mark (nemesis.delete / nemesis.wipe / nemesis.restore).
      record: (p, call, arg, fault, result) => (this.metrics.inc(call), this.record(p, call, arg, fault, result)),
      fact: (f) => this.facts.push(f)
    }, options.nemesis)
    this.gcNemesis = targeted.gcRace !== true ? undefined : new GcNemesis(choices, {
      checker: this.checker, shardId: this.shardId, metrics: this.metrics,
      gcWorkers: () => this.procs.flatMap((p) => {
        const handle = p.done ? undefined : p.client?.opened(this.shardId)
        return handle === undefined ? [] : [{ name: p.name, cachedSeqno: handle.machine.seqno, enqueue: (req) => handle.gc.gcAndTruncateBackground(req) }]
      }),
      fork: (effect) => void this.kernel.fork(effect),
      record: (p, call, arg, fault, result) => this.record(p, call, arg, fault, result)
    })
  }

  readonly nemesis: Nemesis | undefined
  readonly gcNemesis: GcNemesis | undefined

  get stepCount(): number {
    return this.step
  }

  private get now(): number {
    return this.kernel.clock.now - EPOCH_MS
  }

  /** Reports a violation the world itself sees (the checker reports its own). */
  violation<S extends { make: (props: any) => Violation }>(kind: S, fields: FieldsOf<S>): void {
    this.checker.violations.push(kind.make({ ...fields, step: this.step, t: this.now }))
  }

  private onWarn(w: Warning): void {
    const invariant = WARNINGS_THAT_ARE_FINDINGS[w.kind]
    if (invariant !== undefined) this.checker.violations.push(V.PersistWarned.make({ invariant, step: this.step, t: this.now, warning: w.kind, message: w.message }))
    if (w.kind === "caaWriterGoneAfterIndeterminate") {
      // The warning names no process; the request being delivered is the one that led to it.
      this.facts.push({ _tag: "Warned", step: this.step, process: this.delivering?.process ?? "-", warning: w.kind })
      this.record("-", "signal", "caaWriterGoneAfterIndeterminate", "none", w.message)
    }
  }

  /** The request whose response the processes are reacting to (for facts). */
  private delivering: PendingRequest<StoreCall> | undefined

  record(p: string, call: string, arg: string, fault: string, result: string, by: Attribution = WORLD): void {
    this.trace.record({
      step: this.step,
      t: Math.round(this.now),
      p,
      task: by.task,
      cmd: by.cmd,
      cmdAttempt: by.cmdAttempt,
      op: by.op,
      site: by.site,
      attempt: by.attempt,
      call,
      arg,
      fault,
      result
    })
  }

  onProcessFailure(process: string, cause: Cause.Cause<unknown>, where: string): void {
    for (const d of Cause.defects(cause)) {
      if (d instanceof PersistPanic) {
        const key = d.key === undefined ? "" : d.key.startsWith(this.shardId) ? d.key : PartialRollupKey.complete(d.key as PartialRollupKey, this.shardId)
        this.violation(V.Panic, { process, where, message: d.message, site: d.site ?? "", key })
      } else this.violation(V.Defect, { process, where, message: d instanceof Error ? `${d.name}: ${d.message}` : String(d) })
    }
    for (const f of Cause.failures(cause)) this.violation(V.Defect, { process, where, message: `failed: ${JSON.stringify(f)}` })
  }

  private start(role: Role, index: number, incarnation: number): void {
    const proc = startProcess(this, role, index, incarnation)
    this.procs.push(proc)
    this.record(proc.name, "process.start", role, "none", "ok")
  }

  private crash(proc: Proc): void {
    if (proc.fiber === undefined || proc.done) return
    this.kernel.interrupt(proc.fiber)
    this.checker.forgetProcess(proc.name)
    this.record(proc.name, "process.crash", "", "crash", "interrupted")
    const restartAfter = this.config.restartAfterMs
    if (restartAfter > 0) {
      this.kernel.clock.schedule(restartAfter, () => {
        if (this.faultsOn) this.start(proc.role, proc.index, proc.incarnation + 1)
      })
    }
  }

  /** Applies a request to the stores; a contract violation comes back as the store's error. */
  private perform(call: StoreCall, by: RequestBy): Exit.Exit<unknown, unknown> {
    const ran = runContract(call.perform)
    if (Either.isLeft(ran)) {
      // A mark for scenarios (RACE-P3: no truncate past the head, no call that breaks the contract).
      this.metrics.inc(`store.contractViolation.${call.by.op || "?"}`)
      this.metrics.inc("store.contractViolation")
      return Exit.fail(ran.left)
    }
    call.observe(ran.right, by)
    return Exit.succeed(ran.right)
  }

  /**
   * With a real backend: the backend has answered `real`; now the model (the checker's ground
   * truth) applies the same request, and any difference between the two answers is a
   * violation. The process is handed the backend's answer.
   */
  private performBoth(d: Delivery, real: Exit.Exit<unknown, unknown>): Exit.Exit<unknown, unknown> {
    const call = d.req.complete
    const model = this.perform(call, d.by)
    if (!sameAnswer(model, real)) {
      const rm = this.rendered(call, model)
      const rb = this.rendered(call, real)
      this.violation(V.BackendDiverged, { call: d.req.op, arg: d.req.detail ?? "", model: rm, backend: rm === rb ? `${rb} (different bytes)` : rb })
    }
    return real
  }

  private rendered(call: StoreCall, done: Exit.Exit<unknown, unknown>): string {
    if (Exit.isSuccess(done)) return call.render(done.value)
    // The models fail only on a contract violation; a real backend may fail otherwise too.
    const e = Option.getOrUndefined(Cause.failureOption(done.cause))
    if (e instanceof Indeterminate && e.contractViolation !== true) return `Indeterminate(${e.message})`
    if (e instanceof Determinate) return `Determinate(${e.message})`
    return "Indeterminate(contract violation)"
  }

  private traceDelivery(req: PendingRequest<StoreCall>, fault: string, result: string): void {
    this.record(req.process, req.op, req.detail ?? "", fault, result, req.complete.by)
  }

  /**
   * First half of delivering the request at `index` of the pending list: draws its fault and,
   * when the request does not reach the stores, finishes it. When it does, returns what
   * `finishDelivery` needs once the stores have answered: every draw happens before the
   * stores are touched, so the driver may perform the request synchronously (models) or
   * await a real backend in between without changing what is drawn.
   */
  private beginDelivery(index: number): Delivery | undefined {
    const req = this.kernel.pending[index]!
    const call = req.complete
    const by: RequestBy = { process: req.process, task: call.by.task, cmd: call.by.cmd, op: call.by.op }
    this.delivering = req
    const held = this.heldResponses.get(req.id)
    if (held !== undefined) {
      // The operation applied earlier; only its response was slow.
      this.heldResponses.delete(req.id)
      this.kernel.deliver(index, held.exit)
      // A slow read that found nothing where the nemesis took a blob: the caller hears of it only now.
      if (held.result === "None" && req.op === "blob.get") this.nemesis?.onMiss(req.detail ?? "", req.process)
      this.traceDelivery(req, "response", held.result)
      return undefined
    }
    const target = this.faults.targetOf(call.by, req.op)
    const fault: FaultKind = this.faultsOn ? this.faults.kind(call.mutates, target) : "none"
    this.faultCounts[fault] = (this.faultCounts[fault] ?? 0) + 1
    if (fault !== "none" && call.mutates) {
      this.facts.push({ _tag: "FaultInjected", step: this.step + 1, process: req.process, task: call.by.task, cmd: call.by.cmd, call: req.op, fault })
    }
    // Whatever the checker finds while this request applies belongs to the next step.
    this.checker.step = this.step + 1
    this.checker.t = this.now
    switch (fault) {
      case "latency": {
        const hold = this.faults.hold(target)
        this.delayedUntil.set(req.id, this.kernel.clock.now + hold.ms)
        // The held request needs a timer so time can reach it when nothing else is runnable.
        this.kernel.clock.schedule(hold.ms, () => {})
        if (!hold.slowResponse) {
          this.traceDelivery(req, hold.stall ? `stall ${hold.ms}ms` : `latency ${hold.ms}ms`, "held")
          return undefined
        }
        this.step++
        return { index, req, by, fault, then: "holdResponse", label: hold.stall ? `slow response ${hold.ms}ms (stall)` : `slow response ${hold.ms}ms` }
      }
      case "crash": {
        if (this.faults.crashApplies(call.mutates, target)) {
          // The store changes, so this is a delivered step like any other: counted, checked
          // and traced with its result; only the caller never hears of it.
          this.step++
          return { index, req, by, fault, then: "crash", label: "crash(applied)" }
        }
        this.traceDelivery(req, "crash", "—")
        this.crashSender(req)
        return undefined
      }
    }
    this.step++
    if (fault === "determinate" || fault === "indeterminateNotApplied") {
      const determinate = fault === "determinate"
      this.kernel.deliver(index, Exit.fail(determinate ? SIMULATED_DETERMINATE : SIMULATED_NOT_APPLIED))
      this.afterApply()
      this.traceDelivery(req, fault, determinate ? "Determinate" : "Indeterminate")
      return undefined
    }
    return { index, req, by, fault, then: "respond", label: fault }
  }

  /** Second half of a delivery: the stores answered `done`. */
  private finishDelivery(d: Delivery, done: Exit.Exit<unknown, unknown>): void {
    const call = d.req.complete
    switch (d.then) {
      case "holdResponse": {
        const result = this.rendered(call, done)
        this.heldResponses.set(d.req.id, { exit: done, result })
        this.afterApply()
        return this.traceDelivery(d.req, d.label, `${result} (response held)`)
      }
      case "crash": {
        const result = `${this.rendered(call, done)} (unheard)`
        this.afterApply()
        this.traceDelivery(d.req, d.label, result)
        return this.crashSender(d.req)
      }
      case "respond": {
        if (d.fault === "indeterminateApplied") {
          this.kernel.deliver(d.index, Exit.fail(SIMULATED_APPLIED))
          this.afterApply()
          return this.traceDelivery(d.req, d.fault, `Indeterminate(applied: ${Exit.isSuccess(done) ? call.render(done.value) : "Determinate"})`)
        }
        this.kernel.deliver(d.index, done)
        const result = this.rendered(call, done)
        // A read that finds nothing where the nemesis took a blob: its consequences are the nemesis's.
        if (result === "None" && d.req.op === "blob.get") this.nemesis?.onMiss(d.req.detail ?? "", d.req.process)
        this.afterApply()
        return this.traceDelivery(d.req, d.fault, result)
      }
    }
  }

  private crashSender(req: PendingRequest<StoreCall>): void {
    const proc = this.procs.find((p) => p.name === req.process && !p.done)
    if (proc !== undefined) this.crash(proc)
  }

  private afterApply(): void {
    this.checker.step = this.step
    this.checker.t = this.now
    this.checker.afterStep()
  }

  /** Checks every live process's cached state (INV-4). */
  private checkCaches(): void {
    for (const p of this.procs) {
      if (p.done || p.machine === undefined) continue
      this.checker.onCachedSeqno(p.name, p.machine.seqno)
      this.checker.onCachedState(p.name, p.machine.state.state)
      this.checker.checkGcWorker(p.name)
    }
  }

  /** One driver iteration; false when nothing can happen any more. */
  tick(): boolean {
    const next = this.nextDelivery()
    if (typeof next === "boolean") return next
    this.finishDelivery(next, this.perform(next.req.complete, next.by))
    return true
  }

  /**
   * `tick` with a real backend: the segments that run simulated code run inside `traps`; the
   * backend call in between runs outside them, while no fiber can run (the kernel runs fibers
   * only in runUntilQuiet, inside a segment).
   */
  private async tickOn(backend: Backend, traps: TrapSession): Promise<boolean> {
    const next = traps.run(() => this.nextDelivery())
    if (typeof next === "boolean") return next
    const real = next.req.complete.real(backend)
    if (real === undefined) {
      traps.run(() => this.finishDelivery(next, this.perform(next.req.complete, next.by)))
      return true
    }
    const settled = await settle(real)
    traps.run(() => this.finishDelivery(next, this.performBoth(next, exitOf(settled))))
    return true
  }

  /** Runs fibers until quiet, then picks and begins the next delivery, or moves time. */
  private nextDelivery(): Delivery | boolean {
    this.kernel.runUntilQuiet()
    this.delivering = undefined
    if (this.faultsOn) this.nemesis?.tick()
    if (this.faultsOn) this.gcNemesis?.tick()
    this.checkCaches()
    const now = this.kernel.clock.now
    const deliverable: Array<number> = []
    const pending = this.kernel.pending
    for (let i = 0; i < pending.length; i++) {
      const until = this.delayedUntil.get(pending[i]!.id)
      if (until === undefined || until <= now) deliverable.push(i)
    }
    this.deliverable = deliverable
    if (deliverable.length > 0) {
      const pick = deliverable[this.choices.draw(deliverable.length, "deliver")]!
      this.delayedUntil.delete(pending[pick]!.id)
      // The fault draws are the sender's (WorldHost.drawer).
      this.drawer = pending[pick]!.process
      try {
        return this.beginDelivery(pick) ?? true
      } finally {
        this.drawer = "world"
      }
    }
    return this.kernel.advanceTime()
  }

  /** Ends the main phase: no more faults, no more restarts, every process stopped. */
  stopFaultsAndProcesses(): void {
    this.faultsOn = false
    this.nemesis?.healAll()
    for (const id of [...this.delayedUntil.keys()]) if (!this.heldResponses.has(id)) this.delayedUntil.delete(id)
    for (const p of this.procs) if (!p.done && p.fiber !== undefined) this.kernel.interrupt(p.fiber)
    this.kernel.runUntilQuiet()
  }

  /** Runs the world: main phase, then the liveness phase. */
  run(): RunResult {
    return withNondeterminismTraps(() => {
      try {
        return this.runTrapped()
      } catch (e) {
        // Anything the driver, the checker or core throws outside a process's fiber: this
        // seed's result (HARNESS), not the end of a sweep.
        this.checker.enabled = false
        this.violation(V.HarnessError, { message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) })
        return this.result()
      } finally {
        // Unfinished root fibers sit in Effect's process-global set until interrupted.
        this.kernel.shutdown()
      }
    })
  }

  private runTrapped(): RunResult {
    this.startAll()
    while (this.step < this.options.steps && !this.mainDone()) if (!this.tick()) break
    this.mainSteps = this.step
    if (this.options.liveness !== false) runLiveness(this, this.mainDone(), this.options.livenessSteps)
    return this.result()
  }

  /**
   * Runs the same world with every delivered request also executed on `backend` (see
   * Backend.ts): the same draws in the same order, so on a backend that answers as the models
   * do, the same trace and digest as `run()`.
   */
  async runOn(backend: Backend): Promise<RunResult> {
    const traps = new TrapSession()
    try {
      traps.run(() => this.startAll())
      while (this.step < this.options.steps && !this.mainDone()) if (!(await this.tickOn(backend, traps))) break
      this.mainSteps = this.step
      const live = this.options.liveness === false ? undefined : traps.run(() => beginLiveness(this, this.mainDone(), this.options.livenessSteps))
      if (live !== undefined) {
        while (!live.over()) if (!(await this.tickOn(backend, traps))) break
        traps.run(() => live.finish())
      }
      return traps.run(() => this.result())
    } finally {
      traps.run(() => this.kernel.shutdown())
    }
  }

  private startAll(): void {
    this.config.roles.forEach((role, i) => this.start(role, i, 1))
  }

  private mainDone(): boolean {
    return this.procs.every((p) => p.done)
  }

  private safely<A>(f: () => A, fallback: A): A {
    try {
      return f()
    } catch {
      return fallback
    }
  }

  private result(): RunResult {
    const violations = this.checker.violations
    const final = `${violations.length}|${this.checker.earliestSeqno}|${this.checker.headSeqno}|${this.kernel.clock.now}`
    const leaked = this.safely(() => this.checker.unreferencedBlobs(), [])
    const { findings, unexplained } = classify({ violations, facts: this.facts })
    // Coverage mark (issue 15): versions unlinking an inline part that GC truncated past.
    if (this.checker.inlineUnlinksTruncated > 0) this.metrics.inc(INLINE_UNLINK_MARK, this.checker.inlineUnlinksTruncated)
    return {
      config: this.config,
      faultPlan: this.faults.plan,
      steps: this.step,
      mainSteps: this.mainSteps ?? this.step,
      virtualTimeMs: this.now,
      violations,
      findings,
      unexplained,
      faults: this.faultCounts,
      marks: this.metrics.snapshot(),
      warnings: this.metrics.warningCount,
      leaks: { rollups: leaked.filter(BlobKey.isRollup).length, parts: leaked.filter((k) => !BlobKey.isRollup(k)).length },
      checks: this.checker.checks,
      digest: this.trace.digest(final),
      events: this.trace.events,
      tape: this.choices.tape
    }
  }
}

/** Runs one world from a Choices source. */
export const runWorld = (choices: Choices, options: RunOptions): RunResult => new World(choices, options).run()

/** Runs one world from a Choices source with every delivered request also on `backend`. */
export const runWorldOn = (choices: Choices, options: RunOptions, backend: Backend): Promise<RunResult> => new World(choices, options).runOn(backend)
