/**
 * The promise face of a store, for real backends: what the simulator calls directly (it awaits
 * the answer, then resumes the parked fiber) and what `toService()` turns into the Effect
 * `ConsensusShape` / `BlobShape` that core/ uses.
 *
 * Errors: every method rejects only with core's `Determinate` or `Indeterminate` (spec CT-3).
 * A backend maps its driver's errors the way persist does (`location.rs`): Determinate only
 * for what is certainly without effect (Postgres serialization failure `40001`), Indeterminate
 * for everything else, connection-level failures and timeouts included. A call that breaks
 * the contract is Indeterminate with core's `CONTRACT_VIOLATION` prefix, as in core/.
 *
 * Bytes: a backend stores a copy of what it is given and returns fresh buffers, so callers may
 * mutate both (core/Consensus.ts, core/Blob.ts).
 *
 * `memoryConsensus` / `memoryBlob` put core's in-memory stores behind the same face, so the
 * bench and the simulator can treat every backend alike.
 */
import { Effect, Either, Option } from "effect"
import { type BlobMetadata, type BlobShape, MemBlob } from "../core/Blob.ts"
import { type CaSResult, type ConsensusShape, MemConsensus, runContract, type VersionedData } from "../core/Consensus.ts"
import { Determinate, type ExternalError, Indeterminate } from "../core/Errors.ts"
import type { SeqNo } from "../core/SeqNo.ts"

export interface AsyncConsensus {
  readonly name: string
  head(key: string): Promise<VersionedData | undefined>
  compareAndSet(key: string, expected: SeqNo | null, next: VersionedData): Promise<CaSResult>
  scan(key: string, from: SeqNo, limit: number): Promise<ReadonlyArray<VersionedData>>
  truncate(key: string, seqno: SeqNo): Promise<number>
  /** The Effect service over this store. */
  toService(): ConsensusShape
  /** Releases the backend (drops a per-instance schema, closes connections). Idempotent. */
  close(): Promise<void>
}

export interface AsyncBlob {
  readonly name: string
  get(key: string): Promise<Uint8Array | undefined>
  set(key: string, value: Uint8Array): Promise<void>
  /** The removed size, or undefined when the key was missing. */
  delete(key: string): Promise<number | undefined>
  /** Every key with the prefix and its size, in key order. */
  list(prefix: string): Promise<ReadonlyArray<BlobMetadata>>
  toService(): BlobShape
  close(): Promise<void>
}

/** Whatever a backend threw, as an ExternalError: ours pass through, anything else is Indeterminate. */
export const toExternalError = (e: unknown): ExternalError => {
  if (e instanceof Determinate || e instanceof Indeterminate) return e
  const message = e instanceof Error ? e.message : String(e)
  return new Indeterminate({ message })
}

const lift = <A>(f: () => Promise<A>): Effect.Effect<A, ExternalError> => Effect.tryPromise({ try: f, catch: toExternalError })

/** The Effect service over an AsyncConsensus. */
export const consensusService = (c: Omit<AsyncConsensus, "toService" | "close" | "name">): ConsensusShape => ({
  head: (key) => Effect.map(lift(() => c.head(key)), Option.fromNullable),
  compareAndSet: (key, expected, next) => lift(() => c.compareAndSet(key, expected, next)),
  scan: (key, from, limit) => lift(() => c.scan(key, from, limit)),
  truncate: (key, seqno) => lift(() => c.truncate(key, seqno))
})

/** The Effect service over an AsyncBlob. */
export const blobService = (b: Omit<AsyncBlob, "toService" | "close" | "name">): BlobShape => ({
  get: (key) => Effect.map(lift(() => b.get(key)), Option.fromNullable),
  set: (key, value) => lift(() => b.set(key, value)),
  delete: (key) => Effect.map(lift(() => b.delete(key)), Option.fromNullable),
  listKeysAndMetadata: (prefix) => lift(() => b.list(prefix))
})

const settle = <A>(f: () => A): Promise<A> => {
  const ran = runContract(f)
  return Either.isLeft(ran) ? Promise.reject(ran.left) : Promise.resolve(ran.right)
}

/** core's MemConsensus behind the promise face (contract violations reject, as everywhere). */
export const memoryConsensus = (store: MemConsensus = new MemConsensus()): AsyncConsensus & { readonly store: MemConsensus } => {
  const self = {
    name: "memory",
    store,
    head: (key: string) => settle(() => store.unsafeHead(key)),
    compareAndSet: (key: string, expected: SeqNo | null, next: VersionedData) => settle(() => store.unsafeCompareAndSet(key, expected, next)),
    scan: (key: string, from: SeqNo, limit: number) => settle(() => store.unsafeScan(key, from, limit)),
    truncate: (key: string, seqno: SeqNo) => settle(() => store.unsafeTruncate(key, seqno)),
    toService: () => consensusService(self),
    close: () => Promise.resolve()
  }
  return self
}

/** core's MemBlob behind the promise face. */
export const memoryBlob = (store: MemBlob = new MemBlob()): AsyncBlob & { readonly store: MemBlob } => {
  const self = {
    name: "memory",
    store,
    get: (key: string) => Promise.resolve(store.unsafeGet(key)),
    set: (key: string, value: Uint8Array) => Promise.resolve(store.unsafeSet(key, value)),
    delete: (key: string) => Promise.resolve(store.unsafeDelete(key)),
    list: (prefix: string) => Promise.resolve(store.unsafeList(prefix)),
    toService: () => blobService(self),
    close: () => Promise.resolve()
  }
  return self
}
