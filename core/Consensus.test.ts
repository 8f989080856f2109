import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, Option, TestClock } from "effect"
import {
  Consensus,
  CONTRACT_VIOLATION,
  ConsensusContractError,
  type ConsensusShape,
  fromStore,
  isContractViolation,
  MemConsensus,
  runContract,
  type VersionedData
} from "./Consensus.ts"
import { Determinate, Indeterminate } from "./Errors.ts"
import { SCAN_ALL, SeqNo } from "./SeqNo.ts"
import { MetricsRegistry } from "./Metrics.ts"
import { defaultPersistConfig } from "./PersistConfig.ts"
import { retryDeterminate, retryExternal } from "./Retry.ts"
import { bytes } from "./testing/Fixtures.ts"

const K = "s-key"
const row = (seqno: number, data = `d${seqno}`): VersionedData => ({ seqno: SeqNo(seqno), data: bytes(data) })
const seqnos = (rows: ReadonlyArray<VersionedData>): Array<number> => rows.map((r) => r.seqno)
const text = (r: VersionedData): string => new TextDecoder().decode(r.data)

/** A store with rows 1..n committed under K. */
const storeWith = (n: number): MemConsensus => {
  const s = new MemConsensus()
  for (let i = 1; i <= n; i++) expect(s.unsafeCompareAndSet(K, i === 1 ? null : SeqNo(i - 1), row(i))).toBe("Committed")
  return s
}

const run = <A, E>(e: Effect.Effect<A, E>): Either.Either<A, E> => Effect.runSync(Effect.either(e))

describe("MemConsensus", () => {
  it("head - none for a key without data, the largest seqno otherwise", () => {
    const s = storeWith(3)
    expect(s.unsafeHead("other")).toBeUndefined()
    expect(s.unsafeHead(K)?.seqno).toBe(3)
    expect(text(s.unsafeHead(K)!)).toBe("d3")
  })

  it("compareAndSet - null expectation commits only on a key without data", () => {
    const s = new MemConsensus()
    expect(s.unsafeCompareAndSet(K, null, row(1))).toBe("Committed")
    expect(s.unsafeCompareAndSet(K, null, row(2))).toBe("ExpectationMismatch")
    expect(seqnos(s.rows(K))).toEqual([1])
  })

  it("compareAndSet - a Some expectation on a key without data is a mismatch", () => {
    const s = new MemConsensus()
    expect(s.unsafeCompareAndSet(K, SeqNo(1), row(2))).toBe("ExpectationMismatch")
    expect(s.unsafeHead(K)).toBeUndefined()
    expect(s.listKeys()).toEqual([])
  })

  it("compareAndSet - mismatch when the expectation is behind the head, nothing changes", () => {
    const s = storeWith(3)
    expect(s.unsafeCompareAndSet(K, SeqNo(2), row(3, "loser"))).toBe("ExpectationMismatch")
    expect(seqnos(s.rows(K))).toEqual([1, 2, 3])
    expect(text(s.unsafeHead(K)!)).toBe("d3")
  })

  it("compareAndSet - mismatch when the expectation is ahead of the head", () => {
    const s = storeWith(3)
    expect(s.unsafeCompareAndSet(K, SeqNo(4), row(5))).toBe("ExpectationMismatch")
    expect(s.unsafeHead(K)?.seqno).toBe(3)
  })

  it("compareAndSet - a matching expectation appends the new row", () => {
    const s = storeWith(3)
    expect(s.unsafeCompareAndSet(K, SeqNo(3), row(4))).toBe("Committed")
    expect(seqnos(s.rows(K))).toEqual([1, 2, 3, 4])
    expect(text(s.unsafeHead(K)!)).toBe("d4")
  })

  it("compareAndSet - the new seqno need not be expected + 1", () => {
    const s = storeWith(1)
    expect(s.unsafeCompareAndSet(K, SeqNo(1), row(7))).toBe("Committed")
    expect(seqnos(s.rows(K))).toEqual([1, 7])
  })

  it("compareAndSet - keys are independent", () => {
    const s = storeWith(2)
    expect(s.unsafeCompareAndSet("b", null, row(1))).toBe("Committed")
    expect(s.unsafeCompareAndSet("a", null, row(5))).toBe("Committed")
    expect(s.listKeys()).toEqual(["a", "b", K])
    expect(seqnos(s.rows(K))).toEqual([1, 2])
  })

  it("compareAndSet - a new seqno not above the expectation is a contract error without effect", () => {
    const s = storeWith(3)
    expect(() => s.unsafeCompareAndSet(K, SeqNo(3), row(3))).toThrow(ConsensusContractError)
    expect(() => s.unsafeCompareAndSet(K, SeqNo(3), row(2))).toThrow(ConsensusContractError)
    expect(seqnos(s.rows(K))).toEqual([1, 2, 3])
  })

  it("compareAndSet - seqnos outside [0, SeqNo.maximum] are contract errors", () => {
    const s = new MemConsensus()
    expect(() => s.unsafeCompareAndSet(K, null, row(-1))).toThrow(ConsensusContractError)
    expect(() => s.unsafeCompareAndSet(K, null, row(SeqNo.maximum + 1))).toThrow(ConsensusContractError)
    expect(() => s.unsafeCompareAndSet(K, null, row(1.5))).toThrow(ConsensusContractError)
    expect(s.unsafeHead(K)).toBeUndefined()
    // The bounds themselves are fine.
    expect(s.unsafeCompareAndSet(K, null, row(0))).toBe("Committed")
    expect(s.unsafeCompareAndSet(K, SeqNo(0), row(SeqNo.maximum))).toBe("Committed")
    expect(seqnos(s.rows(K))).toEqual([0, SeqNo.maximum])
  })

  it("scan - rows with seqno >= from, ascending, at most limit", () => {
    const s = storeWith(5)
    expect(seqnos(s.unsafeScan(K, SeqNo(0), SCAN_ALL))).toEqual([1, 2, 3, 4, 5])
    expect(seqnos(s.unsafeScan(K, SeqNo(3), SCAN_ALL))).toEqual([3, 4, 5])
    expect(seqnos(s.unsafeScan(K, SeqNo(2), 2))).toEqual([2, 3])
    expect(seqnos(s.unsafeScan(K, SeqNo(5), 10))).toEqual([5])
    expect(s.unsafeScan(K, SeqNo(2), 1).map(text)).toEqual(["d2"])
  })

  it("scan - from above the head or on an unknown key is empty", () => {
    const s = storeWith(5)
    expect(s.unsafeScan(K, SeqNo(6), SCAN_ALL)).toEqual([])
    expect(s.unsafeScan("unknown", SeqNo(0), SCAN_ALL)).toEqual([])
  })

  it("scan - from inside a gap starts at the next row", () => {
    const s = storeWith(1)
    s.unsafeCompareAndSet(K, SeqNo(1), row(4))
    s.unsafeCompareAndSet(K, SeqNo(4), row(9))
    expect(seqnos(s.unsafeScan(K, SeqNo(2), SCAN_ALL))).toEqual([4, 9])
    expect(seqnos(s.unsafeScan(K, SeqNo(5), 1))).toEqual([9])
  })

  it("scan - a limit of 0 returns no rows and is not an error (persist: min(limit, len), LIMIT 0)", () => {
    const s = storeWith(2)
    expect(s.unsafeScan(K, SeqNo(0), 0)).toEqual([])
    expect(s.unsafeScan("unknown", SeqNo(0), 0)).toEqual([])
  })

  it("scan - a negative, fractional, NaN or unsafe limit is a contract error", () => {
    const s = storeWith(2)
    for (const limit of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, SCAN_ALL + 1]) {
      expect(() => s.unsafeScan(K, SeqNo(0), limit)).toThrow(ConsensusContractError)
    }
    expect(seqnos(s.unsafeScan(K, SeqNo(0), SCAN_ALL))).toEqual([1, 2])
  })

  it("every seqno argument is checked: NaN, negatives, fractions and seqnos above SeqNo.maximum are refused without effect", () => {
    const s = storeWith(2)
    for (const bad of [Number.NaN, -1, 0.5, SeqNo.maximum + 1, Number.POSITIVE_INFINITY]) {
      const b = bad as SeqNo
      expect(() => s.unsafeScan(K, b, SCAN_ALL)).toThrow(ConsensusContractError)
      expect(() => s.unsafeTruncate(K, b)).toThrow(ConsensusContractError)
      expect(() => s.unsafeCompareAndSet(K, b, row(3))).toThrow(ConsensusContractError)
      expect(() => s.unsafeCompareAndSet(K, SeqNo(2), { seqno: b, data: bytes("x") })).toThrow(ConsensusContractError)
    }
    expect(seqnos(s.rows(K))).toEqual([1, 2])
    // The bounds are accepted everywhere.
    expect(s.unsafeScan(K, SeqNo.maximum, SCAN_ALL)).toEqual([])
    expect(s.unsafeTruncate(K, SeqNo(0))).toBe(0)
  })

  it("aliasing - bytes are copied in on compareAndSet and out of head and scan", () => {
    const s = new MemConsensus()
    const input = bytes("abc")
    expect(s.unsafeCompareAndSet(K, null, { seqno: SeqNo(1), data: input })).toBe("Committed")
    input[0] = 0x7a
    expect(text(s.unsafeHead(K)!)).toBe("abc")
    s.unsafeHead(K)!.data[0] = 0x7a
    s.unsafeScan(K, SeqNo(0), SCAN_ALL)[0]!.data[1] = 0x7a
    expect(text(s.unsafeScan(K, SeqNo(0), SCAN_ALL)[0]!)).toBe("abc")
    // rows() and peekHead() are the stored rows themselves (read-only views for observers).
    expect(s.peekHead(K)).toBe(s.rows(K)[0])
    expect(text(s.peekHead(K)!)).toBe("abc")
  })

  it("truncate - deletes the rows below the seqno and returns how many", () => {
    const s = storeWith(5)
    expect(s.unsafeTruncate(K, SeqNo(3))).toBe(2)
    expect(seqnos(s.rows(K))).toEqual([3, 4, 5])
    expect(seqnos(s.unsafeScan(K, SeqNo(0), SCAN_ALL))).toEqual([3, 4, 5])
  })

  it("truncate - is idempotent: the same truncation again deletes nothing", () => {
    const s = storeWith(5)
    expect(s.unsafeTruncate(K, SeqNo(3))).toBe(2)
    expect(s.unsafeTruncate(K, SeqNo(3))).toBe(0)
    expect(s.unsafeTruncate(K, SeqNo(2))).toBe(0)
    expect(seqnos(s.rows(K))).toEqual([3, 4, 5])
  })

  it("truncate - to the head is allowed and keeps the head", () => {
    const s = storeWith(5)
    expect(s.unsafeTruncate(K, SeqNo(5))).toBe(4)
    expect(seqnos(s.rows(K))).toEqual([5])
    expect(s.unsafeHead(K)?.seqno).toBe(5)
    // CaS semantics are unaffected by truncation.
    expect(s.unsafeCompareAndSet(K, SeqNo(5), row(6))).toBe("Committed")
    expect(s.unsafeCompareAndSet(K, null, row(7))).toBe("ExpectationMismatch")
  })

  it("truncate - past the head is a contract error (the head can never be truncated)", () => {
    const s = storeWith(5)
    expect(() => s.unsafeTruncate(K, SeqNo(6))).toThrow(ConsensusContractError)
    expect(seqnos(s.rows(K))).toEqual([1, 2, 3, 4, 5])
  })

  it("truncate - a key without data is a contract error", () => {
    const s = new MemConsensus()
    expect(() => s.unsafeTruncate(K, SeqNo(0))).toThrow(ConsensusContractError)
  })
})

describe("Consensus service (fromStore)", () => {
  const svc = (n: number): [ConsensusShape, MemConsensus] => {
    const s = storeWith(n)
    return [fromStore(s), s]
  }

  it("head - Option.none on an unknown key, the head otherwise", () => {
    const [c] = svc(2)
    expect(run(c.head("unknown"))).toEqual(Either.right(Option.none()))
    const h = run(c.head(K))
    expect(Either.isRight(h) && Option.isSome(h.right) && h.right.value.seqno).toBe(2)
  })

  it("compareAndSet - Committed and ExpectationMismatch are successes", () => {
    const [c, s] = svc(2)
    expect(run(c.compareAndSet(K, SeqNo(1), row(2)))).toEqual(Either.right("ExpectationMismatch"))
    expect(run(c.compareAndSet(K, SeqNo(2), row(3)))).toEqual(Either.right("Committed"))
    expect(seqnos(s.rows(K))).toEqual([1, 2, 3])
  })

  it("compareAndSet - contract violations are Indeterminate errors (as persist's stores answer) without effect", () => {
    const [c, s] = svc(2)
    for (const [expected, next] of [
      [SeqNo(2), row(2)],
      [SeqNo(2), row(1)],
      [SeqNo(2), row(SeqNo.maximum + 1)],
      [null, row(-1)]
    ] as const) {
      const r = run(c.compareAndSet(K, expected, next))
      expect(Either.isLeft(r) && r.left._tag).toBe("Indeterminate")
      expect(Either.isLeft(r) && isContractViolation(r.left)).toBe(true)
    }
    expect(seqnos(s.rows(K))).toEqual([1, 2])
  })

  it("runContract - a contract error is Indeterminate with the contract prefix; other throws are rethrown", () => {
    const r = runContract(() => new MemConsensus().unsafeTruncate(K, SeqNo(1)))
    expect(Either.isLeft(r) && r.left._tag).toBe("Indeterminate")
    expect(Either.isLeft(r) && r.left.message.startsWith(CONTRACT_VIOLATION)).toBe(true)
    expect(runContract(() => 7)).toEqual(Either.right(7))
    expect(() => runContract(() => { throw new TypeError("bug") })).toThrow(TypeError)
    expect(isContractViolation(new Indeterminate({ message: "timeout" }))).toBe(false)
    expect(isContractViolation(new Determinate({ message: CONTRACT_VIOLATION }))).toBe(false)
  })

  it("scan - ascending rows from `from`, limited", () => {
    const [c] = svc(4)
    const r = run(c.scan(K, SeqNo(2), 2))
    expect(Either.map(r, seqnos)).toEqual(Either.right([2, 3]))
    expect(Either.map(run(c.scan(K, SeqNo(9), SCAN_ALL)), seqnos)).toEqual(Either.right([]))
    expect(Either.map(run(c.scan("unknown", SeqNo(0), SCAN_ALL)), seqnos)).toEqual(Either.right([]))
  })

  it("truncate - returns the count, then 0; past the head or on an empty key is Indeterminate", () => {
    const [c, s] = svc(4)
    expect(run(c.truncate(K, SeqNo(3)))).toEqual(Either.right(2))
    expect(run(c.truncate(K, SeqNo(3)))).toEqual(Either.right(0))
    expect(run(c.truncate(K, SeqNo(4)))).toEqual(Either.right(1))
    const past = run(c.truncate(K, SeqNo(5)))
    expect(Either.isLeft(past) && past.left._tag).toBe("Indeterminate")
    const empty = run(c.truncate("unknown", SeqNo(1)))
    expect(Either.isLeft(empty) && empty.left._tag).toBe("Indeterminate")
    expect(seqnos(s.rows(K))).toEqual([4])
  })

  it.effect("Consensus.memory - a fresh in-memory store per layer build", () =>
    Effect.gen(function* () {
      const c = yield* Consensus
      expect(Option.isNone(yield* c.head(K))).toBe(true)
      expect(yield* c.compareAndSet(K, null, row(1))).toBe("Committed")
      expect(yield* c.compareAndSet(K, SeqNo(1), row(2))).toBe("Committed")
      expect(seqnos(yield* c.scan(K, SeqNo(0), SCAN_ALL))).toEqual([1, 2])
    }).pipe(Effect.provide(Consensus.memory))
  )
})

describe("contract violations under persist's retry helpers", () => {
  const ctx = { cfg: defaultPersistConfig, metrics: new MetricsRegistry() }

  it.effect("retryDeterminate - hands a contract violation straight back (one attempt, no sleep), as persist's retry_determinate does with an Indeterminate", () =>
    Effect.gen(function* () {
      const s = storeWith(2)
      let attempts = 0
      const c = fromStore(s)
      const op = Effect.suspend(() => {
        attempts++
        return c.compareAndSet(K, SeqNo(2), row(2))
      })
      const r = yield* Effect.either(retryDeterminate(ctx, "contractTest", op))
      expect(Either.isLeft(r) && r.left._tag).toBe("Indeterminate")
      expect(attempts).toBe(1)
      expect(ctx.metrics.get("retries.determinate.contractTest")).toBe(0)
      expect(seqnos(s.rows(K))).toEqual([1, 2])
    })
  )

  it.effect("retryExternal - keeps retrying a truncate past the head (persist's retry_external retries every error: spec OP-8's hazard)", () =>
    Effect.gen(function* () {
      const s = storeWith(2)
      let attempts = 0
      const op = Effect.suspend(() => {
        attempts++
        return fromStore(s).truncate(K, SeqNo(3))
      })
      const fiber = yield* Effect.fork(retryExternal(ctx, "contractTruncate", op))
      yield* TestClock.adjust(Duration.seconds(10))
      expect(attempts).toBeGreaterThan(3)
      expect(fiber.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(fiber)
      expect(seqnos(s.rows(K))).toEqual([1, 2])
    })
  )
})
