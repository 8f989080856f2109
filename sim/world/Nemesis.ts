/**
 * The deletion nemesis: deletions the system does not make itself. At a random step it deletes
 * a blob the current state still references (an operator, a lifecycle rule) or wipes every
 * blob of the shard (RACE-19: a bucket emptied, or a process pointed at another Blob), keeping
 * a backup; some steps later it heals the way persist's `restore_blob`
 * (src/persist-client/src/internal/restore.rs) does: walk the live diffs in Consensus and put
 * back, from the backup, every blob they reference that is missing.
 *
 * It writes the stores directly (no process asks), so the checker never sees its deletes as a
 * process's (INV-9/INV-17 blame only process deletes); what the loss causes until healed —
 * a referenced blob missing, persist's "earliest did not advance" warnings, a reader's panic —
 * is recorded as facts, and the NEMESIS-LOSS finding (check/Findings.ts) explains exactly the
 * violations about the keys it took, inside its outage window.
 *
 * Off unless RunOptions.nemesis is given; its draws come after every other construction draw,
 * so runs without it keep their tapes and digests.
 */
import { Either } from "effect"
import type { MemBlob } from "../../core/Blob.ts"
import type { MemConsensus } from "../../core/Consensus.ts"
import { decodeRollup, decodeStateDiff } from "../../core/Encoding.ts"
import type { ShardId } from "../../core/Ids.ts"
import { BlobKey, PartialBatchKey, PartialRollupKey } from "../../core/Paths.ts"
import { referencedBlobKeys } from "../../core/State.ts"
import type { RunFact } from "../check/Findings.ts"
import type { Checker } from "../check/Checker.ts"
import type { Choices } from "../kernel/Choices.ts"

export interface NemesisOptions {
  /** Per driver tick, the chance an outage starts (when none is in progress). */
  readonly rate: number
  /** Ticks an outage lasts before the restore, inclusive range. */
  readonly outageTicks: { readonly min: number; readonly max: number }
  /** The chance an outage wipes every blob of the shard instead of deleting one referenced blob. */
  readonly wipe: number
}

export const defaultNemesisOptions: NemesisOptions = { rate: 0.003, outageTicks: { min: 1, max: 200 }, wipe: 0.2 }

export interface NemesisHost {
  readonly blob: MemBlob
  readonly consensus: MemConsensus
  readonly checker: Checker
  readonly shardId: ShardId
  readonly buildVersion: string
  readonly stepCount: number
  record(p: string, call: string, arg: string, fault: string, result: string): void
  fact(f: RunFact): void
}

export class Nemesis {
  private readonly backup = new Map<string, Uint8Array>()
  private healAtTick: number | null = null
  private ticks = 0
  /** Set at construction: some seeds run without the nemesis (rate 0). */
  readonly on: boolean
  deletions = 0
  wipes = 0
  restored = 0

  constructor(
    private readonly choices: Choices,
    private readonly host: NemesisHost,
    private readonly options: NemesisOptions
  ) {
    this.on = choices.draw(4, "nemesis.on") !== 0
  }

  /** One driver tick: maybe start an outage, maybe heal one. */
  tick(): void {
    if (!this.on) return
    this.ticks++
    if (this.healAtTick !== null) {
      if (this.ticks >= this.healAtTick) this.heal()
      return
    }
    if (!this.choices.drawBool(this.options.rate, "nemesis.strike")) return
    const cur = this.host.checker.current
    if (cur === undefined) return
    const { min, max } = this.options.outageTicks
    const outage = min + this.choices.draw(max - min + 1, "nemesis.outageTicks")
    if (this.choices.drawBool(this.options.wipe, "nemesis.wipe")) {
      const keys = this.host.blob.unsafeList(BlobKey.shardPrefix(this.host.shardId)).map((m) => m.key)
      for (const k of keys) this.take(k)
      this.wipes++
      this.host.record("nemesis", "nemesis.wipe", `${keys.length} blobs`, "nemesis", "wiped")
    } else {
      const live = referencedBlobKeys(cur).filter((k) => this.host.blob.has(k)).sort()
      if (live.length === 0) return
      const key = live[this.choices.draw(live.length, "nemesis.victim")]!
      this.take(key)
      this.deletions++
      this.host.record("nemesis", "nemesis.delete", key, "nemesis", "deleted")
    }
    this.healAtTick = this.ticks + outage
  }

  /** Every key ever taken, by its path after the shard id (how the trace shows a request's key). */
  private readonly takenPaths = new Set<string>()

  /** A process's blob.get of `detail` (SimStores' short key) found nothing. */
  onMiss(detail: string, process: string): void {
    if (this.takenPaths.has(detail.slice(2))) this.host.fact({ _tag: "NemesisMiss", step: this.host.stepCount, process })
  }

  private take(key: string): void {
    this.takenPaths.add(key.slice(key.indexOf("/")))
    const bytes = this.host.blob.unsafeGet(key)
    if (bytes === undefined) return
    this.backup.set(key, bytes)
    this.host.blob.unsafeDelete(key)
    this.host.fact({ _tag: "NemesisDeleted", step: this.host.stepCount, key })
  }

  /** Heals any outage still open (before the liveness phase). */
  healAll(): void {
    if (this.healAtTick !== null) this.heal()
  }

  /** persist's restore_blob, from our backup: every blob the live diffs reference, if missing. */
  private heal(): void {
    const shardId = this.host.shardId
    const rows = this.host.consensus.rows(shardId)
    const first = rows[0]?.seqno
    let n = 0
    const restore = (key: string): void => {
      if (this.host.blob.has(key)) return
      const bytes = this.backup.get(key)
      if (bytes === undefined) return
      this.host.blob.unsafeSet(key, bytes)
      n++
    }
    if (first !== undefined) {
      for (const row of rows) {
        const d = decodeStateDiff(this.host.buildVersion, row.data)
        if (Either.isLeft(d)) continue
        const diff = d.right
        for (const r of diff.rollups) {
          // We never reference rollups from before the first live diff.
          if (r.key < first || r.val._tag === "Delete") continue
          const key = PartialRollupKey.complete(r.val.to.key, shardId)
          restore(key)
          if (r.key !== first) continue
          // Everything the first live rollup references, too.
          const bytes = this.host.blob.unsafeGet(key)
          const rollup = bytes === undefined ? undefined : decodeRollup(this.host.buildVersion, bytes)
          if (rollup === undefined || Either.isLeft(rollup)) continue
          for (const k of referencedBlobKeys(rollup.right.state)) {
            if (!BlobKey.isRollup(k)) restore(k)
            else {
              const p = BlobKey.parseIds(k)
              if (Either.isRight(p) && p.right[1]._tag === "Rollup" && p.right[1].seqno >= first) restore(k)
            }
          }
        }
        for (const s of diff.spine) {
          if (s.val._tag !== "Insert") continue
          for (const p of s.key.parts) if (p._tag === "Hollow") restore(PartialBatchKey.complete(p.key, shardId))
        }
      }
    }
    // The initial state's rollup at seqno 1 lists itself: restore_blob finds it through the first diff.
    this.restored += n
    this.healAtTick = null
    this.backup.clear()
    this.host.fact({ _tag: "NemesisHealed", step: this.host.stepCount })
    this.host.record("nemesis", "nemesis.restore", `${n} blobs`, "nemesis", "restored")
  }
}
