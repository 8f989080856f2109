/**
 * Consensus (spec CT-1): per key, an ascending list of `VersionedData` with compare-and-set
 * append and prefix truncation. Linearizable per key.
 *
 * `MemConsensus` is the reference implementation of the contract, synchronous so that both
 * the plain in-memory Layer and the simulator (which adds parking and faults around it) share
 * one definition of the rules.
 */
import { Context, Effect, Either, Layer, Option } from "effect"
import { Determinate, type ExternalError } from "./Errors.ts"
import { SeqNo } from "./SeqNo.ts"

export interface VersionedData {
  readonly seqno: SeqNo
  readonly data: Uint8Array
}

export type CaSResult = "Committed" | "ExpectationMismatch"

export interface ConsensusShape {
  /** The entry with the largest seqno, or none when the key has no data. */
  readonly head: (key: string) => Effect.Effect<Option.Option<VersionedData>, ExternalError>
  /** Appends `next` iff the current head seqno equals `expected` (`null`: the key has no data). */
  readonly compareAndSet: (key: string, expected: SeqNo | null, next: VersionedData) => Effect.Effect<CaSResult, ExternalError>
  /** Up to `limit` entries with `seqno >= from`, ascending. */
  readonly scan: (key: string, from: SeqNo, limit: number) => Effect.Effect<ReadonlyArray<VersionedData>, ExternalError>
  /** Deletes every entry with `seqno < seqno`; errors on an empty key or `seqno > head`. */
  readonly truncate: (key: string, seqno: SeqNo) => Effect.Effect<number, ExternalError>
}

export class Consensus extends Context.Tag("persist/Consensus")<Consensus, ConsensusShape>() {
  /** A fresh in-memory Consensus. */
  static readonly memory: Layer.Layer<Consensus> = Layer.sync(Consensus, () => fromStore(new MemConsensus()))
}

/** A caller error: the request broke the contract and was rejected without effect. */
export class ConsensusContractError extends Error {
  override readonly name = "ConsensusContractError"
}

/** The rules of CT-1 on a plain map; every method either applies fully or throws. */
export class MemConsensus {
  private readonly data = new Map<string, Array<VersionedData>>()

  unsafeHead(key: string): VersionedData | undefined {
    const rows = this.data.get(key)
    return rows === undefined ? undefined : rows[rows.length - 1]
  }

  unsafeCompareAndSet(key: string, expected: SeqNo | null, next: VersionedData): CaSResult {
    if (!SeqNo.isValid(next.seqno) || next.seqno > SeqNo.maximum) {
      throw new ConsensusContractError(`new seqno must be in [0, ${SeqNo.maximum}]: ${next.seqno}`)
    }
    if (expected !== null && next.seqno <= expected) {
      throw new ConsensusContractError(`new seqno must be strictly greater than expected: ${next.seqno} vs ${expected}`)
    }
    const head = this.unsafeHead(key)
    const current = head === undefined ? null : head.seqno
    if (current !== expected) return "ExpectationMismatch"
    let rows = this.data.get(key)
    if (rows === undefined) {
      rows = []
      this.data.set(key, rows)
    }
    rows.push(next)
    return "Committed"
  }

  unsafeScan(key: string, from: SeqNo, limit: number): ReadonlyArray<VersionedData> {
    if (!(limit > 0)) throw new ConsensusContractError(`scan limit must be positive: ${limit}`)
    const rows = this.data.get(key)
    if (rows === undefined || rows.length === 0) return []
    // Rows are contiguous only by persist's convention (INV-3), not by contract: search.
    let lo = 0
    let hi = rows.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (rows[mid]!.seqno < from) lo = mid + 1
      else hi = mid
    }
    return rows.slice(lo, Math.min(rows.length, lo + limit))
  }

  unsafeTruncate(key: string, seqno: SeqNo): number {
    const rows = this.data.get(key)
    const head = rows === undefined ? undefined : rows[rows.length - 1]
    if (rows === undefined || head === undefined) {
      throw new ConsensusContractError(`cannot truncate ${key}: it has no data`)
    }
    if (head.seqno < seqno) {
      throw new ConsensusContractError(`upper bound too high for truncate: ${seqno} (head is ${head.seqno})`)
    }
    let n = 0
    while (n < rows.length && rows[n]!.seqno < seqno) n++
    rows.splice(0, n)
    return n
  }

  /** Every key, sorted (admin and checker use). */
  listKeys(): ReadonlyArray<string> {
    return [...this.data.keys()].sort()
  }

  /** All rows of a key without copying them (checker use). */
  rows(key: string): ReadonlyArray<VersionedData> {
    return this.data.get(key) ?? []
  }
}

/**
 * Runs one operation on a MemConsensus. A call that breaks the contract comes back as the
 * Determinate error a real store would answer with; anything else thrown is a bug and rethrown.
 */
export const runContract = <A>(f: () => A): Either.Either<A, Determinate> => {
  try {
    return Either.right(f())
  } catch (e) {
    if (e instanceof ConsensusContractError) return Either.left(new Determinate({ message: e.message }))
    throw e
  }
}

const attempt = <A>(f: () => A): Effect.Effect<A, ExternalError> => Effect.suspend(() => runContract(f))

/** The service over a MemConsensus, with contract violations as Determinate errors. */
export const fromStore = (store: MemConsensus): ConsensusShape => ({
  head: (key) => attempt(() => Option.fromNullable(store.unsafeHead(key))),
  compareAndSet: (key, expected, next) => attempt(() => store.unsafeCompareAndSet(key, expected, next)),
  scan: (key, from, limit) => attempt(() => store.unsafeScan(key, from, limit)),
  truncate: (key, seqno) => attempt(() => store.unsafeTruncate(key, seqno))
})
