/**
 * Test-only: small, readable builders for States, handles and batches, and a way to run one
 * command on a state without any stores.
 */
import { Antichain } from "../Antichain.ts"
import {
  CriticalReaderId,
  IdempotencyToken,
  LeasedReaderId,
  PartId,
  RollupId,
  ShardId,
  WriterId
} from "../Ids.ts"
import { PartialBatchKey, PartialRollupKey } from "../Paths.ts"
import { SeqNo } from "../SeqNo.ts"
import {
  type ActiveClaim,
  type BatchPart,
  cloneApply,
  type ControlFlow,
  type CriticalReaderState,
  type HollowBatch,
  type HollowRollup,
  type LeasedReaderState,
  type MutableCollections,
  type State,
  thaw,
  type WriterState
} from "../State.ts"

/** A fixed id with a readable last group: `uuid(7)` = `00000000-0000-4000-8000-000000000007`. */
export const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`

export const shard = ShardId.make(uuid(1))
export const otherShard = ShardId.make(uuid(2))
export const rollupId = (n: number): RollupId => RollupId.make(uuid(1000 + n))
export const writerId = (n: number): WriterId => WriterId.make(uuid(100 + n))
export const readerId = (n: number): LeasedReaderId => LeasedReaderId.make(uuid(200 + n))
export const criticalId = (n: number): CriticalReaderId => CriticalReaderId.make(uuid(300 + n))
export const token = (n: number): IdempotencyToken => IdempotencyToken.make(uuid(400 + n))
export const partId = (n: number): PartId => PartId.make(uuid(500 + n))

/** `v<seqno>/r<uuid(1000 + n)>`; `n` defaults to the seqno. */
export const rollupKey = (seqno: number, n = seqno): PartialRollupKey => PartialRollupKey.new(SeqNo(seqno), rollupId(n))
export const hollowRollup = (seqno: number, n = seqno, encodedSizeBytes: number | null = 100): HollowRollup => ({
  key: rollupKey(seqno, n),
  encodedSizeBytes
})

export const debug = { hostname: "host", purpose: "test" }

export const hollowPart = (writer: number, part: number, size = 10): BatchPart => ({
  _tag: "Hollow",
  key: PartialBatchKey.new(writerId(writer), partId(part)),
  encodedSizeBytes: size
})
export const inlinePart = (updates: string, tsRewrite: Antichain | null = null): BatchPart => ({ _tag: "Inline", updates, tsRewrite })

/** A batch over `[lower, upper)` (`upper` null: the empty antichain) with one hollow part named after its lower. */
export const batch = (lower: number, upper: number | null, opts: { len?: number; parts?: ReadonlyArray<BatchPart>; since?: Antichain } = {}): HollowBatch => ({
  desc: { lower: Antichain.from(lower), upper: upper === null ? Antichain.empty : Antichain.from(upper), since: opts.since ?? Antichain.minimum },
  len: opts.len ?? 1,
  parts: opts.parts ?? [hollowPart(1, lower)]
})

export const leased = (seqno: number, since: number | null, lastHeartbeatTimestampMs = 0, leaseDurationMs = 1_000): LeasedReaderState => ({
  seqno: SeqNo(seqno),
  since: since === null ? Antichain.empty : Antichain.from(since),
  lastHeartbeatTimestampMs,
  leaseDurationMs,
  debug
})

export const critical = (since: number | null, opaque = "o0"): CriticalReaderState => ({
  since: since === null ? Antichain.empty : Antichain.from(since),
  opaque,
  opaqueCodec: "u64",
  debug
})

export const writerState = (lastHeartbeatTimestampMs = 0, leaseDurationMs = 1_000, tok: IdempotencyToken = IdempotencyToken.SENTINEL, upper: Antichain = Antichain.minimum): WriterState => ({
  lastHeartbeatTimestampMs,
  leaseDurationMs,
  mostRecentWriteToken: tok,
  mostRecentWriteUpper: upper,
  debug
})

export interface StateOpts {
  readonly seqno: number
  /** Rollup seqnos (each with the key `rollupKey(s)`), or explicit entries. */
  readonly rollups?: ReadonlyArray<number | readonly [number, HollowRollup]>
  readonly lastGcReq?: number
  readonly walltimeMs?: number
  readonly hostname?: string
  readonly applierVersion?: string
  readonly shardId?: ShardId
  readonly activeRollup?: ActiveClaim | null
  readonly activeGc?: ActiveClaim | null
  readonly leasedReaders?: ReadonlyArray<readonly [LeasedReaderId, LeasedReaderState]>
  readonly criticalReaders?: ReadonlyArray<readonly [CriticalReaderId, CriticalReaderState]>
  readonly writers?: ReadonlyArray<readonly [WriterId, WriterState]>
  readonly since?: Antichain
  readonly batches?: ReadonlyArray<HollowBatch>
}

export const makeState = (o: StateOpts): State => ({
  applierVersion: o.applierVersion ?? "0.130.0",
  shardId: o.shardId ?? shard,
  seqno: SeqNo(o.seqno),
  walltimeMs: o.walltimeMs ?? 1_000,
  hostname: o.hostname ?? "host",
  collections: {
    lastGcReq: SeqNo(o.lastGcReq ?? 0),
    rollups: new Map((o.rollups ?? [1]).map((r) => (typeof r === "number" ? ([SeqNo(r), hollowRollup(r)] as const) : ([SeqNo(r[0]), r[1]] as const)))),
    activeRollup: o.activeRollup ?? null,
    activeGc: o.activeGc ?? null,
    leasedReaders: new Map(o.leasedReaders ?? []),
    criticalReaders: new Map(o.criticalReaders ?? []),
    writers: new Map(o.writers ?? []),
    trace: { since: o.since ?? Antichain.minimum, batches: [...(o.batches ?? [])] }
  }
})

/** A tombstone: empty upper and since, no handles, one empty batch. */
export const tombstoneState = (seqno: number, rollups: ReadonlyArray<number> = [1]): State =>
  makeState({
    seqno,
    rollups,
    since: Antichain.empty,
    batches: [{ desc: { lower: Antichain.minimum, upper: Antichain.empty, since: Antichain.empty }, len: 0, parts: [] }]
  })

/** Runs a command on a draft of `state` at `state.seqno + 1`; returns the result and the draft. */
export const runCmd = <B, R>(
  state: State,
  work: (seqno: SeqNo, c: MutableCollections) => ControlFlow<B, R>
): { readonly res: ControlFlow<B, R>; readonly c: MutableCollections } => {
  const c = thaw(state.collections)
  return { res: work(SeqNo.next(state.seqno), c), c }
}

/** `cloneApply` with a fixed hostname and clock; throws if the command Breaks. */
export const commit = <B, R>(state: State, work: (seqno: SeqNo, c: MutableCollections) => ControlFlow<B, R>, nowMs = state.walltimeMs + 1): readonly [R, State] => {
  const res = cloneApply(state, { hostname: "host", nowMs }, work)
  if (res._tag === "Break") throw new Error(`commit: command broke with ${JSON.stringify(res.value)}`)
  return res.value
}

/** The Continue value of a command result; throws on Break. */
export const continued = <B, R>(res: ControlFlow<B, R>): R => {
  if (res._tag === "Break") throw new Error(`expected Continue, got Break ${JSON.stringify(res.value)}`)
  return res.value
}

/** The Break value of a command result; throws on Continue. */
export const broke = <B, R>(res: ControlFlow<B, R>): B => {
  if (res._tag === "Continue") throw new Error(`expected Break, got Continue ${JSON.stringify(res.value)}`)
  return res.value
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
