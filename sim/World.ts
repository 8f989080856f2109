/**
 * A simulated world: shared Consensus and Blob, processes running the real core/ code over
 * parked store calls, and the driver that — drawing every decision from one Choices source —
 * picks the next request, its fault, crashes and restarts, checks every invariant after every
 * step, and records the trace.
 *
 * A run is one synchronous call: nothing touches the event loop, and it runs inside the
 * nondeterminism traps, so the same tape gives the same trace on any machine.
 */
import { Cause, Effect, Either, Exit, Layer, type Fiber } from "effect"
import { Blob, MemBlob } from "../core/Blob.ts"
import { BlobKey } from "../core/Paths.ts"
import { BugSwitches, type BugSwitchesShape, noBugs } from "../core/BugSwitches.ts"
import { PersistClient } from "../core/Client.ts"
import { Consensus, MemConsensus, runContract } from "../core/Consensus.ts"
import { Determinate, Indeterminate } from "../core/Errors.ts"
import { LeasedReaderId, ShardId } from "../core/Ids.ts"
import { detectLeakedBlobs } from "../core/LeakedBlobs.ts"
import { gcAndTruncate } from "../core/Gc.ts"
import { Metrics, MetricsRegistry } from "../core/Metrics.ts"
import { PersistPanic } from "../core/Panic.ts"
import { defaultPersistConfig, PersistConfig, type PersistConfigShape } from "../core/PersistConfig.ts"
import { seqnoSince } from "../core/State.ts"
import { Checker } from "./Checker.ts"
import type { Choices } from "./Choices.ts"
import { Kernel } from "./Kernel.ts"
import { simBlob, simConsensus, type StoreCall } from "./SimStores.ts"
import { drawSwarmConfig, type SwarmConfig, type Role } from "./SwarmConfig.ts"
import { TraceRecorder, type TraceEvent, type Violation } from "./Trace.ts"
import { withNondeterminismTraps } from "./Traps.ts"
import { programFor } from "./Workload.ts"

export interface RunOptions {
  /** Delivered requests in the main phase (the liveness phase has its own budget). */
  readonly steps: number
  readonly bugs?: Partial<BugSwitchesShape>
  /** Replaces the drawn configuration (scenarios). */
  readonly config?: SwarmConfig
  /** Keep every event in memory (for trace files and reports). */
  readonly keepEvents?: boolean
  /** Run the invariant checker (default true; off only to measure its cost). */
  readonly check?: boolean
}

/**
 * Findings the harness reproduces in the faithful port and reports by name rather than as
 * harness failures. RACE-P2 (spec §8.1): add_rollup's Indeterminate retry re-inserts a rollup
 * that GC already removed from state, and a later GC deletes its blob while state lists it.
 */
export const classifyKnownFinding = (violations: ReadonlyArray<Violation>, signals: ReadonlySet<string> = new Set()): string | null => {
  const first = violations[0]
  if (first === undefined) return null
  if (first.invariant === "INV-18" && /re-inserts \S*\/v\d+\/r/.test(first.message)) return "RACE-P2"
  // CAA-LEASE: a compare_and_append retried past its writer's lease commits its batch while
  // the same transition expires the writer; the retry cannot see its token, reports
  // UpperMismatch, and the caller deletes the parts of a committed batch.
  if (signals.has("CAA-LEASE") && first.invariant === "INV-17" && first.message.startsWith("deleted ")) return "CAA-LEASE"
  return null
}

export interface RunResult {
  readonly config: SwarmConfig
  readonly steps: number
  readonly virtualTimeMs: number
  readonly violations: ReadonlyArray<Violation>
  /** The named known finding these violations reproduce, if any (see classifyKnownFinding). */
  readonly knownFinding: string | null
  readonly faults: Readonly<Record<string, number>>
  readonly marks: ReadonlyArray<readonly [string, number]>
  readonly warnings: number
  readonly leaks: { readonly rollups: number; readonly parts: number }
  readonly checks: number
  readonly digest: string
  readonly events: ReadonlyArray<TraceEvent>
  readonly tape: ReadonlyArray<number>
}

/**
 * Warnings persist logs that, in a single linearizable Blob, mean something is wrong.
 *
 * Not in the list: `rollupAtSeqnoMigration`. The spec expects the migration fallback never to
 * run in a correct system, but seed 177 shows it does: fetch_all_live_states scans [E, H];
 * fetch_current_state then finds H's rollup gone (GC moved on), refetches, and returns a newer
 * state whose rollups no longer include E, so the lookup falls back to the key sniffed from
 * the old diffs. Ground truth (INV-7 in the checker) held throughout; the counter is a
 * coverage mark, not a finding.
 */
const WARNINGS_THAT_ARE_FINDINGS: Record<string, string> = {
  fetchCurrentStateEarliestDidNotAdvance: "RACE-3",
  fetchAllLiveStatesEarliestDidNotAdvance: "RACE-4",
  gcEarliestWithoutRollup: "INV-7"
}

interface Proc {
  readonly name: string
  readonly role: Role
  readonly incarnation: number
  fiber: Fiber.RuntimeFiber<void, unknown> | undefined
  client: PersistClient | undefined
  done: boolean
  /** Its place in the configured roles: a restart keeps it. */
  readonly index: number
}

const FAULT_KINDS = ["none", "determinate", "indeterminateNotApplied", "indeterminateApplied", "latency", "crash"] as const
type FaultKind = (typeof FAULT_KINDS)[number]

/** Injected errors carry no information beyond their kind, so one instance of each serves every request. */
const SIMULATED_DETERMINATE = new Determinate({ message: "simulated determinate error" })
const SIMULATED_NOT_APPLIED = new Indeterminate({ message: "simulated indeterminate error (not applied)" })
const SIMULATED_APPLIED = new Indeterminate({ message: "simulated indeterminate error (applied)" })

const LIVENESS_STEPS = 5_000
/** Virtual time starts here, so wall-clock-looking timestamps in state are plausible. */
const EPOCH_MS = 1_000_000

export class World {
  readonly consensus = new MemConsensus()
  readonly blob = new MemBlob()
  readonly metrics = new MetricsRegistry()
  readonly kernel: Kernel<StoreCall>
  readonly checker: Checker
  readonly trace: TraceRecorder
  readonly config: SwarmConfig
  readonly shardId: ShardId
  private readonly persistCfg: PersistConfigShape
  private readonly procs: Array<Proc> = []
  private readonly faultCounts: Record<string, number> = {}
  /** Requests held back by a latency fault: request id -> virtual time it becomes deliverable. */
  private readonly delayedUntil = new Map<number, number>()
  /** Requests already applied whose response is held back (slow responses). */
  private readonly heldResponses = new Map<number, { readonly exit: Exit.Exit<unknown, unknown>; readonly result: string }>()
  private step = 0
  private faultsOn = true
  /** Shapes seen during the run that name a known finding (see classifyKnownFinding). */
  private readonly signals = new Set<string>()
  private readonly bugs: BugSwitchesShape
  private readonly weightsMutating: ReadonlyArray<number>
  private readonly weightsReading: ReadonlyArray<number>

  constructor(
    readonly choices: Choices,
    readonly options: RunOptions
  ) {
    this.config = options.config ?? drawSwarmConfig(choices)
    this.weightsMutating = this.faultWeights(true)
    this.weightsReading = this.faultWeights(false)
    this.kernel = new Kernel<StoreCall>({ randomSeed: choices.draw(2 ** 32, "randomSeed"), epochMs: EPOCH_MS })
    this.persistCfg = { ...defaultPersistConfig, ...this.config.persist }
    this.bugs = { ...noBugs, ...options.bugs }
    this.shardId = ShardId.make("00000000-0000-4000-8000-000000000001")
    this.checker = new Checker(this.shardId, this.consensus, this.blob, this.persistCfg.buildVersion)
    this.trace = new TraceRecorder(options.keepEvents ?? true)
    this.checker.enabled = options.check ?? true
    this.metrics.onWarn = (w) => {
      const inv = WARNINGS_THAT_ARE_FINDINGS[w.kind]
      if (inv !== undefined) this.violation(inv, `persist warned: ${w.message}`)
      if (w.kind === "caaWriterGoneAfterIndeterminate") {
        this.signals.add("CAA-LEASE")
        this.record("-", "signal", "CAA-LEASE", "none", w.message)
      }
    }
  }

  private violation(invariant: string, message: string): void {
    this.checker.violations.push({ step: this.step, t: this.kernel.clock.now - EPOCH_MS, invariant, message })
  }

  private record(p: string, op: string, arg: string, fault: string, result: string): void {
    this.trace.record({ step: this.step, t: Math.round(this.kernel.clock.now - EPOCH_MS), p, op, arg, fault, result })
  }

  /** The services of process `name` (also its hostname in state). */
  private layerFor(name: string) {
    return Layer.mergeAll(
      Layer.succeed(Consensus, simConsensus(this, name)),
      Layer.succeed(Blob, simBlob(this, name)),
      Layer.succeed(PersistConfig, { ...this.persistCfg, hostname: name }),
      Layer.succeed(Metrics, this.metrics)
    )
  }

  /** Starts (or restarts) a process running `role`'s program. */
  private start(role: Role, index: number, incarnation: number): Proc {
    const name = incarnation === 1 ? `p${index}` : `p${index}.${incarnation}`
    const proc: Proc = { name, role, index, incarnation, fiber: undefined, client: undefined, done: false }
    const world = this
    const program = Effect.scoped(
      Effect.gen(function* () {
        const client = yield* PersistClient.make
        client.onBackgroundFailure = (cause) => world.onProcessFailure(name, cause, "background task")
        proc.client = client
        yield* programFor(role)({
          client,
          shardId: world.shardId,
          ops: world.config.opsPerProcess,
          draw: (bound, label) => Effect.sync(() => world.choices.draw(bound, label)),
          onAck: (upper) => world.checker.onAppendAcked(upper)
        })
      })
    ).pipe(Effect.provide(this.layerFor(name)), Effect.provideService(BugSwitches, this.bugs))
    proc.fiber = this.kernel.fork(program)
    proc.fiber.addObserver((exit) => {
      proc.done = true
      if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) this.onProcessFailure(name, exit.cause, "program")
    })
    this.procs.push(proc)
    this.record(name, "process.start", role, "none", "ok")
    return proc
  }

  private onProcessFailure(process: string, cause: Cause.Cause<unknown>, where: string): void {
    const defects = Cause.defects(cause)
    for (const d of defects) {
      if (d instanceof PersistPanic) this.violation("PANIC", `${process} ${where} panicked: ${d.message}`)
      else this.violation("DEFECT", `${process} ${where} died: ${d instanceof Error ? `${d.name}: ${d.message}` : String(d)}`)
    }
    const failures = Cause.failures(cause)
    for (const f of failures) this.violation("DEFECT", `${process} ${where} failed: ${JSON.stringify(f)}`)
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

  /**
   * The weights of FAULT_KINDS for a request that does (or does not) change a store: each
   * fault's rate in millionths, and "none" the rest of a million (at least 1).
   */
  private faultWeights(mutates: boolean): ReadonlyArray<number> {
    const f = this.config.faults
    const weights = [
      1_000_000,
      f.determinate * 1e6,
      f.indeterminateNotApplied * 1e6,
      (mutates ? f.indeterminateApplied : 0) * 1e6,
      f.latency * 1e6,
      f.crash * 1e6
    ]
    const total = weights.reduce((a, b) => a + b, 0)
    weights[0] = Math.max(1, total > 2e6 ? 1 : 2e6 - total)
    return weights
  }

  private drawFault(mutates: boolean): FaultKind {
    if (!this.faultsOn) return "none"
    return FAULT_KINDS[this.choices.drawWeighted(mutates ? this.weightsMutating : this.weightsReading, "fault")]!
  }

  /** Delivers the request at `index` of the pending list, with a drawn fault. */
  private deliverOne(index: number): void {
    const req = this.kernel.pending[index]!
    const call = req.complete
    const held = this.heldResponses.get(req.id)
    if (held !== undefined) {
      // The operation applied earlier; only its response was slow.
      this.heldResponses.delete(req.id)
      this.kernel.deliver(index, held.exit)
      this.record(req.process, req.op, req.detail ?? "", "response", held.result)
      return
    }
    const fault = this.drawFault(call.mutates)
    this.faultCounts[fault] = (this.faultCounts[fault] ?? 0) + 1
    // Whatever the checker finds while this request applies belongs to the next step.
    this.checker.step = this.step + 1
    this.checker.t = this.kernel.clock.now - EPOCH_MS
    const arg = req.detail ?? ""
    const perform = (): Exit.Exit<unknown, unknown> => {
      const ran = runContract(call.perform)
      if (Either.isLeft(ran)) return Exit.fail(ran.left)
      call.observe(ran.right)
      return Exit.succeed(ran.right)
    }
    switch (fault) {
      case "latency": {
        const stall = this.choices.drawBool(this.config.faults.stall, "latency.stall")
        const ms = stall ? 5_000 + this.choices.draw(60_000, "latency.stallMs") : 1 + this.choices.draw(200, "latency.ms")
        // Either the request is slow to arrive (nothing happens yet) or it applies now and its
        // response is slow (the caller acts on old news while others move on).
        const slowResponse = this.choices.draw(2, "latency.slowResponse") === 1
        this.delayedUntil.set(req.id, this.kernel.clock.now + ms)
        // The held request needs a timer so time can reach it when nothing else is runnable.
        this.kernel.clock.schedule(ms, () => {})
        if (!slowResponse) {
          this.record(req.process, req.op, arg, stall ? `stall ${ms}ms` : `latency ${ms}ms`, "held")
          return
        }
        this.step++
        const done = perform()
        const result = Exit.isSuccess(done) ? call.render(done.value) : "Determinate(contract)"
        this.heldResponses.set(req.id, { exit: done, result })
        this.afterApply()
        this.record(req.process, req.op, arg, stall ? `slow response ${ms}ms (stall)` : `slow response ${ms}ms`, `${result} (response held)`)
        return
      }
      case "crash": {
        const applied = call.mutates && this.choices.draw(2, "crash.applied") === 1
        let result = "—"
        if (applied) {
          // The store changed, so this is a delivered step like any other: counted, checked
          // and traced with its result; only the caller never hears of it.
          this.step++
          const done = perform()
          result = `${Exit.isSuccess(done) ? call.render(done.value) : "Determinate(contract)"} (unheard)`
          this.afterApply()
        }
        const proc = this.procs.find((p) => p.name === req.process && !p.done)
        this.record(req.process, req.op, arg, applied ? "crash(applied)" : "crash", result)
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
      const done = perform()
      if (fault === "indeterminateApplied") {
        exit = Exit.fail(SIMULATED_APPLIED)
        result = `Indeterminate(applied: ${Exit.isSuccess(done) ? call.render(done.value) : "Determinate"})`
      } else {
        exit = done
        result = Exit.isSuccess(done) ? call.render(done.value) : "Determinate(contract)"
      }
    }
    this.kernel.deliver(index, exit)
    this.afterApply()
    this.record(req.process, req.op, arg, fault, result)
  }

  private afterApply(): void {
    this.checker.step = this.step
    this.checker.t = this.kernel.clock.now - EPOCH_MS
    this.checker.afterStep()
  }

  /** Checks every live process's cached state (INV-4). */
  private checkCaches(): void {
    for (const p of this.procs) {
      if (p.done || p.client === undefined) continue
      const h = p.client.opened.get(this.shardId)
      if (h !== undefined) this.checker.onCachedSeqno(p.name, h.machine.seqno)
    }
  }

  /** One driver iteration; false when nothing can happen any more. */
  private tick(): boolean {
    this.kernel.runUntilQuiet()
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

  private mainPhaseDone(): boolean {
    return this.procs.every((p) => p.done)
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
    while (this.step < this.options.steps && !this.mainPhaseDone()) {
      if (!this.tick()) break
    }
    const finishedMain = this.mainPhaseDone()
    this.liveness(finishedMain)
    const final = `${this.checker.violations.length}|${this.checker.earliestSeqno}|${this.checker.headSeqno}|${this.kernel.clock.now}`
    const digest = this.trace.digest(final)
    const leaked = this.checker.unreferencedBlobs()
    return {
      config: this.config,
      steps: this.step,
      virtualTimeMs: this.kernel.clock.now - EPOCH_MS,
      violations: this.checker.violations,
      knownFinding: classifyKnownFinding(this.checker.violations, this.signals),
      faults: this.faultCounts,
      marks: this.metrics.snapshot(),
      warnings: this.metrics.warnings.length,
      leaks: { rollups: leaked.filter(BlobKey.isRollup).length, parts: leaked.filter((k) => !BlobKey.isRollup(k)).length },
      checks: this.checker.checks,
      digest,
      events: this.trace.events,
      tape: this.choices.tape
    }
  }

  /**
   * The liveness phase: faults stop, every process stops, and a janitor — a fresh process
   * with empty memory — waits out every lease, commits a version (expiring dead handles),
   * runs GC to the seqno_since and the leaked-blob detector. It must finish in bounded
   * steps; afterwards Consensus must be truncated to the latest rollup <= seqno_since and the
   * detector must account for exactly the blobs no live state references.
   */
  private liveness(finishedMain: boolean): void {
    this.faultsOn = false
    for (const id of [...this.delayedUntil.keys()]) if (!this.heldResponses.has(id)) this.delayedUntil.delete(id)
    for (const p of this.procs) if (!p.done && p.fiber !== undefined) this.kernel.interrupt(p.fiber)
    this.kernel.runUntilQuiet()
    if (this.consensus.rows(this.shardId).length === 0) return
    this.record("janitor", "phase.liveness", finishedMain ? "main finished" : "main cut at step budget", "none", "start")
    const world = this
    const lease = Math.max(this.persistCfg.readerLeaseDurationMs, this.persistCfg.writerLeaseDurationMs)
    let report: { leaked: ReadonlyArray<{ key: string }> } | undefined
    let gcTarget = -1
    const janitor = Effect.scoped(
      Effect.gen(function* () {
        const client = yield* PersistClient.make
        const handle = yield* Effect.orDie(client.openMachine(world.shardId))
        yield* Effect.sleep(lease + 1)
        // Any committed command runs expire_at: dead readers and writers lose their holds.
        const nobody = LeasedReaderId.make("00000000-0000-4000-8000-00000000dead")
        yield* handle.machine.expireLeasedReader(nobody)
        const since = seqnoSince(handle.machine.state.state)
        gcTarget = since
        yield* gcAndTruncate(handle.machine, { shardId: world.shardId, newSeqnoSince: since })
        report = yield* detectLeakedBlobs(client.stateVersions, world.shardId)
      })
    ).pipe(Effect.provide(this.layerFor("janitor")), Effect.provideService(BugSwitches, this.bugs))
    const fiber = this.kernel.fork(janitor)
    let janitorExit: Exit.Exit<void, unknown> | undefined
    fiber.addObserver((e) => (janitorExit = e))
    const budget = this.step + LIVENESS_STEPS
    while (janitorExit === undefined && this.step < budget) if (!this.tick()) break
    if (janitorExit === undefined) {
      this.violation("LIVENESS", `the janitor did not finish within ${LIVENESS_STEPS} steps (a retry loop that never ends, or a deadlock)`)
      return
    }
    if (Exit.isFailure(janitorExit)) {
      this.onProcessFailure("janitor", janitorExit.cause, "liveness phase")
      return
    }
    const cur = this.checker.current
    if (cur !== undefined && gcTarget >= 0) {
      let expected = -1
      for (const s of cur.collections.rollups.keys()) if (s <= gcTarget && s > expected) expected = s
      if (expected >= 0 && this.checker.earliestSeqno < expected) {
        this.violation("LIVENESS-GC", `after GC to ${gcTarget}, earliest is ${this.checker.earliestSeqno}, expected the latest rollup <= seqno_since (${expected})`)
      }
    }
    const reported = new Set((report?.leaked ?? []).map((l) => l.key))
    // Without the checker (benchmarks only) there is no ground truth to compare with.
    if (this.checker.enabled) {
      const unreferenced = new Set(this.checker.unreferencedBlobs())
      const missing = [...unreferenced].filter((k) => !reported.has(k))
      const extra = [...reported].filter((k) => !unreferenced.has(k))
      if (missing.length > 0 || extra.length > 0) {
        this.violation("LEAKS", `leaked-blob detector disagrees with the checker: missed ${missing.length} (${missing.slice(0, 2).join(", ")}), extra ${extra.length} (${extra.slice(0, 2).join(", ")})`)
      }
    }
    this.record("janitor", "phase.liveness", `gc to v${gcTarget}`, "none", `leaks ${reported.size}`)
  }
}

/** Runs one world from a Choices source. */
export const runWorld = (choices: Choices, options: RunOptions): RunResult => new World(choices, options).run()

