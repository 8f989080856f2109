/**
 * Consensus (spec CT-1): per key, an ascending list of `VersionedData` with compare-and-set
 * append and prefix truncation. Linearizable per key.
 *
 * `MemConsensus` is the reference implementation of the contract, synchronous so that both
 * the plain in-memory Layer and the simulator (which adds parking and faults around it) share
 * one definition of the rules.
 *
 * Rules every implementation here keeps (the in-memory one below, and `stores/`):
 * - Bytes are owned by the store: `compareAndSet` stores a copy of `next.data`, and `head` /
 *   `scan` hand out copies, so a caller mutating a buffer before or after a call never changes
 *   what is stored (persist's `Bytes` are immutable; a JS `Uint8Array` is not).
 * - Every seqno argument (`expected`, `next.seqno`, `from`, the truncate bound) must be a
 *   non-negative safe integer no larger than `SeqNo.maximum`; NaN, negatives, fractions and
 *   larger numbers are refused. A scan `limit` must be a non-negative safe integer (`SCAN_ALL`
 *   is the largest); a limit of 0 is not an error and returns no rows, as in persist's
 *   in-memory and Postgres Consensus (`min(limit, len)` / `LIMIT 0`).
 * - A call that breaks the contract changes nothing and fails with a *contract violation*
 *   (see `runContract`): `new.seqno <= expected`, a seqno out of range, a truncate past the
 *   head or of a key with no data, a bad limit.
 */
import { Context, Effect, Either, Layer, Option } from "effect"
import { type ExternalError, Indeterminate } from "./Errors.ts"
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
  /** Up to `limit` entries with `seqno >= from`, ascending (`limit` 0: none). */
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

/** Whether `n` is a seqno Consensus accepts: a safe integer in `[0, SeqNo.maximum]`. */
export const isConsensusSeqNo = (n: number): boolean => SeqNo.isValid(n) && n <= SeqNo.maximum

/** Throws the contract error for a seqno argument outside `[0, SeqNo.maximum]`. */
export const checkSeqNo = (what: string, n: number): void => {
  if (!isConsensusSeqNo(n)) throw new ConsensusContractError(`${what} must be an integer in [0, ${SeqNo.maximum}]: ${n}`)
}

/** Throws the contract error for a scan limit that is not an integer in `[0, SCAN_ALL]`. */
export const checkLimit = (limit: number): void => {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new ConsensusContractError(`scan limit must be an integer in [0, ${Number.MAX_SAFE_INTEGER}]: ${limit}`)
}

/** The argument checks of a compare-and-set, in persist's order of concern. */
export const checkCompareAndSet = (expected: SeqNo | null, next: VersionedData): void => {
  if (expected !== null) checkSeqNo("expected seqno", expected)
  checkSeqNo("new seqno", next.seqno)
  if (expected !== null && next.seqno <= expected) {
    throw new ConsensusContractError(`new seqno must be strictly greater than expected: ${next.seqno} vs ${expected}`)
  }
}

const copyRow = (r: VersionedData): VersionedData => ({ seqno: r.seqno, data: r.data.slice() })

/** The rules of CT-1 on a plain map; every method either applies fully or throws. */
export class MemConsensus {
  private readonly data = new Map<string, Array<VersionedData>>()

  /** The head row, as a copy the caller may keep and mutate. */
  unsafeHead(key: string): VersionedData | undefined {
    const head = this.peekHead(key)
    return head === undefined ? undefined : copyRow(head)
  }

  unsafeCompareAndSet(key: string, expected: SeqNo | null, next: VersionedData): CaSResult {
    checkCompareAndSet(expected, next)
    const head = this.peekHead(key)
    const current = head === undefined ? null : head.seqno
    if (current !== expected) return "ExpectationMismatch"
    let rows = this.data.get(key)
    if (rows === undefined) {
      rows = []
      this.data.set(key, rows)
    }
    rows.push(copyRow(next))
    return "Committed"
  }

  /** Up to `limit` rows with `seqno >= from`, ascending, each a copy. */
  unsafeScan(key: string, from: SeqNo, limit: number): ReadonlyArray<VersionedData> {
    checkSeqNo("scan lower bound", from)
    checkLimit(limit)
    const rows = this.data.get(key)
    if (rows === undefined || rows.length === 0 || limit === 0) return []
    // Rows are contiguous only by persist's convention (INV-3), not by contract: search.
    let lo = 0
    let hi = rows.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (rows[mid]!.seqno < from) lo = mid + 1
      else hi = mid
    }
    return rows.slice(lo, Math.min(rows.length, lo + limit)).map(copyRow)
  }

  unsafeTruncate(key: string, seqno: SeqNo): number {
    checkSeqNo("truncate bound", seqno)
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

  /**
   * All rows of a key, not copied: a read-only view for observers (the checker, tests). The
   * rows and their bytes belong to the store; callers must not mutate or keep them across
   * operations. Callers of the service (and of the `unsafe*` methods) get copies instead.
   */
  rows(key: string): ReadonlyArray<VersionedData> {
    return this.data.get(key) ?? []
  }

  /** The head row, not copied: a read-only view for observers, like `rows`. */
  peekHead(key: string): VersionedData | undefined {
    const rows = this.data.get(key)
    return rows === undefined ? undefined : rows[rows.length - 1]
  }
}

/** The message prefix that marks an Indeterminate as a contract violation, not a fault. */
export const CONTRACT_VIOLATION = "contract violation: "

/** Whether an error is the Indeterminate a store answers to a call that broke its contract. */
export const isContractViolation = (e: ExternalError): boolean => e._tag === "Indeterminate" && e.contractViolation === true

/**
 * Runs one operation on a MemConsensus. A call that breaks the contract comes back as the
 * error persist's own stores answer with; anything else thrown is a bug and rethrown.
 *
 * That error is **Indeterminate**, as in persist: `MemConsensus` and `PostgresConsensus`
 * build their contract errors from `anyhow!`/`Error::from(String)`, and both
 * `From<anyhow::Error>` and `From<Error>` for `ExternalError` give `Indeterminate`
 * (`location.rs`); the shared `consensus_impl_test` asserts exactly that value for a
 * `new <= expected` CaS. So `retry_determinate` hands it back to the caller at once (it only
 * retries Determinate) and `retry_external` retries it forever (spec OP-8's hazard). The
 * error carries `contractViolation: true` (and a message starting with CONTRACT_VIOLATION) so observers can tell it from a fault.
 */
export const runContract = <A>(f: () => A): Either.Either<A, Indeterminate> => {
  try {
    return Either.right(f())
  } catch (e) {
    if (e instanceof ConsensusContractError) return Either.left(new Indeterminate({ message: CONTRACT_VIOLATION + e.message, contractViolation: true }))
    throw e
  }
}

const attempt = <A>(f: () => A): Effect.Effect<A, ExternalError> => Effect.suspend(() => runContract(f))

/** The service over a MemConsensus, with contract violations as Indeterminate errors. */
export const fromStore = (store: MemConsensus): ConsensusShape => ({
  head: (key) => attempt(() => Option.fromNullable(store.unsafeHead(key))),
  compareAndSet: (key, expected, next) => attempt(() => store.unsafeCompareAndSet(key, expected, next)),
  scan: (key, from, limit) => attempt(() => store.unsafeScan(key, from, limit)),
  truncate: (key, seqno) => attempt(() => store.unsafeTruncate(key, seqno))
})
