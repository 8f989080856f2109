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
import { Cause, Either, Exit } from "effect"
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
import { withNondeterminismTraps } from "../kernel/Traps.ts"
import { TraceRecorder, type TraceEvent } from "../trace/Trace.ts"
import { defaultFaultOptions, FaultDrawer, type FaultKind, type FaultOptions, type FaultPlan } from "./Faults.ts"
import { runLiveness } from "./Liveness.ts"
import { Nemesis, type NemesisOptions } from "./Nemesis.ts"
import { type Proc, startProcess } from "./Processes.ts"
import type { FieldsOf, WorldHost } from "./Host.ts"
import type { StoreCall } from "./SimStores.ts"
import { drawSwarmConfig, type Role, type SwarmConfig } from "./SwarmConfig.ts"

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
  /** Run the invariant checker (default true; off only to measure its cost). */
  readonly check?: boolean
  /** The deletion nemesis (Nemesis.ts); off when absent. */
  readonly nemesis?: NemesisOptions
}

export interface RunResult {
  readonly config: SwarmConfig
  readonly faultPlan: FaultPlan
  readonly steps: number
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

/** Virtual time starts here, so wall-clock-looking timestamps in state are plausible. */
const EPOCH_MS = 1_000_000
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
  private faultsOn = true

  constructor(
    readonly choices: Choices,
    readonly options: RunOptions
  ) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this
    this.config = options.config ?? drawSwarmConfig(choices)
    this.faults = new FaultDrawer(choices, { rates: this.config.faults, options: options.faultOptions ?? defaultFaultOptions })
    this.kernel = new Kernel<StoreCall>({ randomSeed: choices.draw(2 ** 32, "randomSeed"), epochMs: EPOCH_MS })
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
      record: (p, call, arg, fault, result) => this.record(p, call, arg, fault, result),
      fact: (f) => this.facts.push(f)
    }, options.nemesis)
  }

  readonly nemesis: Nemesis | undefined

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

  private rendered(call: StoreCall, done: Exit.Exit<unknown, unknown>): string {
    return Exit.isSuccess(done) ? call.render(done.value) : "Indeterminate(contract violation)"
  }

  /** Delivers the request at `index` of the pending list, with a drawn fault. */
  private deliverOne(index: number): void {
    const req = this.kernel.pending[index]!
    const call = req.complete
    const by: RequestBy = { process: req.process, task: call.by.task, cmd: call.by.cmd, op: call.by.op }
    const arg = req.detail ?? ""
    const trace = (fault: string, result: string) => this.record(req.process, req.op, arg, fault, result, call.by)
    this.delivering = req
    const held = this.heldResponses.get(req.id)
    if (held !== undefined) {
      // The operation applied earlier; only its response was slow.
      this.heldResponses.delete(req.id)
      this.kernel.deliver(index, held.exit)
      return trace("response", held.result)
    }
    const fault: FaultKind = this.faultsOn ? this.faults.kind(call.mutates) : "none"
    this.faultCounts[fault] = (this.faultCounts[fault] ?? 0) + 1
    if (fault !== "none" && call.mutates) {
      this.facts.push({ _tag: "FaultInjected", step: this.step + 1, process: req.process, task: call.by.task, cmd: call.by.cmd, call: req.op, fault })
    }
    // Whatever the checker finds while this request applies belongs to the next step.
    this.checker.step = this.step + 1
    this.checker.t = this.now
    switch (fault) {
      case "latency": {
        const hold = this.faults.hold()
        this.delayedUntil.set(req.id, this.kernel.clock.now + hold.ms)
        // The held request needs a timer so time can reach it when nothing else is runnable.
        this.kernel.clock.schedule(hold.ms, () => {})
        const kind = hold.stall ? `stall ${hold.ms}ms` : `latency ${hold.ms}ms`
        if (!hold.slowResponse) return trace(kind, "held")
        this.step++
        const done = this.perform(call, by)
        const result = this.rendered(call, done)
        this.heldResponses.set(req.id, { exit: done, result })
        this.afterApply()
        return trace(hold.stall ? `slow response ${hold.ms}ms (stall)` : `slow response ${hold.ms}ms`, `${result} (response held)`)
      }
      case "crash": {
        const applied = this.faults.crashApplies(call.mutates)
        let result = "—"
        if (applied) {
          // The store changed, so this is a delivered step like any other: counted, checked
          // and traced with its result; only the caller never hears of it.
          this.step++
          result = `${this.rendered(call, this.perform(call, by))} (unheard)`
          this.afterApply()
        }
        const proc = this.procs.find((p) => p.name === req.process && !p.done)
        trace(applied ? "crash(applied)" : "crash", result)
        if (proc !== undefined) this.crash(proc)
        return
      }
    }
    this.step++
    let exit: Exit.Exit<unknown, unknown>
    let result: string
    if (fault === "determinate") {
      exit = Exit.fail(SIMULATED_DETERMINATE)
      result = "Determinate"
    } else if (fault === "indeterminateNotApplied") {
      exit = Exit.fail(SIMULATED_NOT_APPLIED)
      result = "Indeterminate"
    } else {
      const done = this.perform(call, by)
      if (fault === "indeterminateApplied") {
        exit = Exit.fail(SIMULATED_APPLIED)
        result = `Indeterminate(applied: ${Exit.isSuccess(done) ? call.render(done.value) : "Determinate"})`
      } else {
        exit = done
        result = this.rendered(call, done)
      }
    }
    this.kernel.deliver(index, exit)
    if (result === "None" && req.op === "blob.get") this.nemesis?.onMiss(arg, req.process)
    this.afterApply()
    trace(fault, result)
  }

  private afterApply(): void {
    this.checker.step = this.step
    this.checker.t = this.now
    this.checker.afterStep()
  }

  /** Checks every live process's cached state (INV-4). */
  private checkCaches(): void {
    for (const p of this.procs) if (!p.done && p.machine !== undefined) this.checker.onCachedSeqno(p.name, p.machine.seqno)
  }

  /** One driver iteration; false when nothing can happen any more. */
  tick(): boolean {
    this.kernel.runUntilQuiet()
    this.delivering = undefined
    if (this.faultsOn) this.nemesis?.tick()
    this.checkCaches()
    const now = this.kernel.clock.now
    const deliverable: Array<number> = []
    const pending = this.kernel.pending
    for (let i = 0; i < pending.length; i++) {
      const until = this.delayedUntil.get(pending[i]!.id)
      if (until === undefined || until <= now) deliverable.push(i)
    }
    if (deliverable.length > 0) {
      const pick = deliverable[this.choices.draw(deliverable.length, "deliver")]!
      this.delayedUntil.delete(pending[pick]!.id)
      this.deliverOne(pick)
      return true
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
      } finally {
        // Unfinished root fibers sit in Effect's process-global set until interrupted.
        this.kernel.shutdown()
      }
    })
  }

  private runTrapped(): RunResult {
    this.config.roles.forEach((role, i) => this.start(role, i, 1))
    const mainDone = () => this.procs.every((p) => p.done)
    while (this.step < this.options.steps && !mainDone()) if (!this.tick()) break
    runLiveness(this, mainDone())
    const violations = this.checker.violations
    const final = `${violations.length}|${this.checker.earliestSeqno}|${this.checker.headSeqno}|${this.kernel.clock.now}`
    const leaked = this.checker.unreferencedBlobs()
    const { findings, unexplained } = classify({ violations, facts: this.facts })
    return {
      config: this.config,
      faultPlan: this.faults.plan,
      steps: this.step,
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
