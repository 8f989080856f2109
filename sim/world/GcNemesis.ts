/**
 * The GC-race nemesis (issue 10, RACE-10 and the GC-behind family): GC requests that arrive
 * late, twice, out of order, or at a process other than the one that computed them. Persist
 * hands GC requests to a background worker through a channel with no ordering or exactly-once
 * promise across processes, so GC must be correct whatever request it is given, whenever: a
 * request may be older than a GC that already finished (stale), newer than the worker's cached
 * state (race.gcCacheOlderThanRequest: it must refetch), or run by two workers at once.
 *
 * Every GC request any process computed is visible in the history: `maybe_gc` records it as the
 * state's `last_gc_req`. Each time the committed `last_gc_req` advances, the nemesis draws what
 * to do with a copy of that request:
 *   0 nothing;
 *   1 forward it now to another live process's GC worker (two workers run the same request);
 *   2 hold it and deliver it later, after newer requests (delayed, reordered; stale on arrival
 *     if a newer GC finished meanwhile);
 *   3 both: forward it now and deliver it again later (duplicated).
 * A request handed to some worker goes, half the time when there is one, to a worker whose cache
 * is older than the request's seqno_since (race.gcCacheOlderThanRequest: it must refresh before
 * planning, or it plans from rollups it has not seen and stops short).
 * When a held request is released, a second draw decides whether it goes alone or right behind
 * a copy of the newest request, to the same worker in one go: the worker then finds the newer
 * request queued ahead of the older one (or takes the newer and finds the older behind it), so
 * its merge must keep the largest seqno_since, not the last one queued.
 * Its draws happen only in seeds where it is on (a targeted fault or `--nemesis gc`).
 */
import { Effect } from "effect"
import type { ShardId } from "../../core/Ids.ts"
import type { MetricsRegistry } from "../../core/Metrics.ts"
import type { SeqNo } from "../../core/SeqNo.ts"
import type { GcReq } from "../../core/State.ts"
import type { Checker } from "../check/Checker.ts"
import type { Choices } from "../kernel/Choices.ts"

/** A process's GC worker, as the nemesis reaches it. */
export interface GcWorkerRef {
  readonly name: string
  /** The seqno of the process's cached state. */
  readonly cachedSeqno: number
  readonly enqueue: (req: GcReq) => Effect.Effect<unknown>
}

export interface GcNemesisHost {
  readonly checker: Checker
  readonly shardId: ShardId
  readonly metrics: MetricsRegistry
  /** The live processes whose GC worker is running, in a stable order. */
  gcWorkers(): ReadonlyArray<GcWorkerRef>
  /** Starts `effect` as a fiber of the world (it runs at the next quiet point). */
  fork(effect: Effect.Effect<unknown>): void
  record(p: string, call: string, arg: string, fault: string, result: string): void
}

/** Marks (core/Metrics.ts counters) of what the nemesis did; scenarios and sweeps read them. */
export const GC_NEMESIS_MARKS = {
  forwarded: "nemesis.gc.forwarded",
  delayed: "nemesis.gc.delayed",
  /** A held request delivered right behind a copy of the newest one, to the same worker. */
  behindNewer: "nemesis.gc.behindNewer",
  duplicated: "nemesis.gc.duplicated",
  /** A held request delivered after a GC with a newer request finished. */
  staleAfterNewerGc: "nemesis.gc.staleAfterNewerGc"
} as const

/** Ticks a held request waits, inclusive range. */
const HOLD_TICKS = { min: 20, max: 400 }

interface Held {
  readonly req: GcReq
  /** The head when the request was seen: it was computed from a state at or below it. */
  readonly computedBy: number
  readonly releaseAt: number
  /** gc.finished when it was held: more at release means some GC finished meanwhile. */
  readonly finishedAtHold: number
}

export class GcNemesis {
  private lastSeen = 0
  /** The head when `lastSeen` was seen. */
  private lastSeenComputedBy = 0
  private ticks = 0
  private readonly held: Array<Held> = []

  constructor(
    private readonly choices: Choices,
    private readonly host: GcNemesisHost
  ) {}

  /** One driver tick (faults on): release held requests that are due, react to a new request. */
  tick(): void {
    this.ticks++
    for (let i = 0; i < this.held.length; ) {
      const h = this.held[i]!
      if (h.releaseAt > this.ticks) {
        i++
        continue
      }
      this.held.splice(i, 1)
      const stale = this.host.metrics.get("gc.finished") > h.finishedAtHold && this.lastSeen > h.req.newSeqnoSince
      const behind = this.choices.draw(2, "gcNemesis.behindNewer") === 1 && this.lastSeen > h.req.newSeqnoSince
      if (!behind) this.deliver(h.req, h.computedBy, "delayed", stale)
      else this.deliverBehindNewer(h, stale)
    }
    const cur = this.host.checker.current
    if (cur === undefined) return
    const lastGcReq = cur.collections.lastGcReq
    if (lastGcReq <= this.lastSeen) return
    this.lastSeen = lastGcReq
    this.lastSeenComputedBy = this.host.checker.headSeqno
    const req: GcReq = { shardId: this.host.shardId, newSeqnoSince: lastGcReq as SeqNo }
    const computedBy = this.host.checker.headSeqno
    const action = this.choices.draw(4, "gcNemesis.action")
    if (action === 1 || action === 3) this.deliver(req, computedBy, action === 3 ? "duplicated" : "forwarded", false)
    if (action === 2 || action === 3) {
      const wait = HOLD_TICKS.min + this.choices.draw(HOLD_TICKS.max - HOLD_TICKS.min + 1, "gcNemesis.holdTicks")
      this.held.push({ req, computedBy, releaseAt: this.ticks + wait, finishedAtHold: this.host.metrics.get("gc.finished") })
      this.host.metrics.inc(GC_NEMESIS_MARKS.delayed)
    }
  }

  /**
   * Hands `req` to a live process's GC worker, drawn from those that could receive it in persist:
   * a worker whose cache is at least as new as the state the request came from (any process
   * that computed the same seqno_since), or older than the request's seqno_since (it refetches:
   * race.gcCacheOlderThanRequest). Not one cached in between: persist's GC refetches only when
   * its cached seqno is below the request's seqno_since (the hint), so such a worker would keep
   * a seqno_since older than the request and fail its assertion. Persist never hands a request
   * to another process, so it never meets that case; the nemesis respects the same bound.
   */
  private deliver(req: GcReq, computedBy: number, how: "forwarded" | "duplicated" | "delayed", staleAfterNewerGc: boolean): void {
    const workers = this.host.gcWorkers().filter((w) => mayReceive(w, req, computedBy))
    if (workers.length === 0) return
    const stale = workers.filter((w) => w.cachedSeqno < req.newSeqnoSince)
    const to = this.pick(stale.length > 0 && this.choices.draw(2, "gcNemesis.toStale") === 1 ? stale : workers)
    if (how !== "delayed") this.host.metrics.inc(GC_NEMESIS_MARKS[how])
    this.hand(to, [req], staleAfterNewerGc ? `${how} (stale: a newer GC finished)` : how, staleAfterNewerGc)
  }

  /**
   * Hands a copy of the newest request and then the held (older) one to one worker that may
   * receive both, one right after the other in a single fiber, so whether the worker is busy or
   * idle, its next merge meets the newer request first and the older one after it.
   */
  private deliverBehindNewer(h: Held, staleAfterNewerGc: boolean): void {
    const newer: GcReq = { shardId: this.host.shardId, newSeqnoSince: this.lastSeen as SeqNo }
    const workers = this.host.gcWorkers().filter((w) => mayReceive(w, newer, this.lastSeenComputedBy) && mayReceive(w, h.req, h.computedBy))
    if (workers.length === 0) return this.deliver(h.req, h.computedBy, "delayed", staleAfterNewerGc)
    this.host.metrics.inc(GC_NEMESIS_MARKS.behindNewer)
    this.hand(this.pick(workers), [newer, h.req], "delayed behind newer", staleAfterNewerGc)
  }

  private pick(workers: ReadonlyArray<GcWorkerRef>): GcWorkerRef {
    return workers[this.choices.draw(workers.length, "gcNemesis.worker")]!
  }

  /** Enqueues `reqs` at `to`, in order, in one fiber; traced as one nemesis action. */
  private hand(to: GcWorkerRef, reqs: ReadonlyArray<GcReq>, result: string, staleAfterNewerGc: boolean): void {
    if (staleAfterNewerGc) this.host.metrics.inc(GC_NEMESIS_MARKS.staleAfterNewerGc)
    this.host.record("nemesis", "nemesis.gcRequest", `seqno_since ${reqs.map((r) => r.newSeqnoSince).join(", then ")} -> ${to.name}`, "nemesis", result)
    this.host.fork(Effect.forEach(reqs, (r) => to.enqueue(r), { discard: true }))
  }
}

/**
 * Whether `w` could receive `req` in persist: its cache is at least as new as the state the
 * request came from, or older than the request's seqno_since (see `deliver`).
 */
const mayReceive = (w: GcWorkerRef, req: GcReq, computedBy: number): boolean => w.cachedSeqno >= computedBy || w.cachedSeqno < req.newSeqnoSince
