/**
 * The contract suites every store must pass (spec CT-1 Consensus, CT-2 Blob), in the spirit
 * of persist's shared `consensus_impl_test` / `blob_impl_test` (`location.rs`): one list of
 * behaviours, run against each backend through its Effect service, which is what core/ sees.
 *
 * `consensusContract(name, make)` / `blobContract(name, make)` declare a vitest `describe`
 * block. `make` opens one store for the block (backends such as PGlite are slow to start);
 * each test uses keys of its own, so tests do not see each other. Besides persist's cases the
 * suites cover the edges our stores promise: seqno 0 and `SeqNo.maximum`, refused seqnos on
 * every operation, empty and 10 KiB values, scan limits 0/1/several/`SCAN_ALL`, truncate
 * at/below/above the head and on an empty key, independent keys, and aliasing (a caller
 * mutating buffers it passed in or got back never changes what is stored).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Effect, Either, Option } from "effect"
import type { BlobShape } from "../core/Blob.ts"
import { type ConsensusShape, isContractViolation, type VersionedData } from "../core/Consensus.ts"
import type { ExternalError } from "../core/Errors.ts"
import { SCAN_ALL, SeqNo } from "../core/SeqNo.ts"

export interface Opened<S> {
  readonly service: S
  readonly close: () => Promise<void>
}

const enc = new TextEncoder()
const dec = new TextDecoder()
const bytes = (s: string): Uint8Array => enc.encode(s)
const text = (b: Uint8Array): string => dec.decode(b)
const row = (seqno: number, data: string | Uint8Array = `d${seqno}`): VersionedData => ({
  seqno: SeqNo(seqno),
  data: typeof data === "string" ? bytes(data) : data
})
const seqnos = (rows: ReadonlyArray<VersionedData>): Array<number> => rows.map((r) => r.seqno)

const run = <A>(e: Effect.Effect<A, ExternalError>): Promise<A> => Effect.runPromise(e)
const fail = async <A>(e: Effect.Effect<A, ExternalError>): Promise<ExternalError> => {
  const r = await Effect.runPromise(Effect.either(e))
  if (Either.isRight(r)) throw new Error(`expected an error, got ${JSON.stringify(r.right)}`)
  return r.left
}
/** The error a contract violation must be: Indeterminate, marked as a violation (persist: anyhow -> Indeterminate). */
const expectViolation = async <A>(e: Effect.Effect<A, ExternalError>): Promise<void> => {
  const err = await fail(e)
  expect(err._tag).toBe("Indeterminate")
  expect(isContractViolation(err)).toBe(true)
}

export const consensusContract = (name: string, make: () => Promise<Opened<ConsensusShape>>): void => {
  describe(`Consensus contract (CT-1): ${name}`, () => {
    let opened: Opened<ConsensusShape> | undefined
    let n = 0
    const c = (): ConsensusShape => opened!.service
    /** A key no other test uses. */
    const key = (): string => `${name}-k${++n}-${"x".repeat(n % 3)}/v${n}`
    /** A key holding rows at the given seqnos. */
    const keyWith = async (...ss: Array<number>): Promise<string> => {
      const k = key()
      let prev: SeqNo | null = null
      for (const s of ss) {
        expect(await run(c().compareAndSet(k, prev, row(s)))).toBe("Committed")
        prev = SeqNo(s)
      }
      return k
    }
    const all = async (k: string) => seqnos(await run(c().scan(k, SeqNo(0), SCAN_ALL)))

    beforeAll(async () => {
      opened = await make()
    }, 120_000)
    afterAll(async () => {
      await opened?.close()
    })

    it("head - none on a key without data; scan of it is empty", async () => {
      const k = key()
      expect(Option.isNone(await run(c().head(k)))).toBe(true)
      expect(await run(c().scan(k, SeqNo(0), SCAN_ALL))).toEqual([])
    })

    it("compareAndSet - none commits on an empty key; head and scan see the row", async () => {
      const k = key()
      expect(await run(c().compareAndSet(k, null, row(5, "abc")))).toBe("Committed")
      const h = Option.getOrThrow(await run(c().head(k)))
      expect(h.seqno).toBe(5)
      expect(text(h.data)).toBe("abc")
      expect((await run(c().scan(k, SeqNo(0), SCAN_ALL))).map((r) => [r.seqno, text(r.data)])).toEqual([[5, "abc"]])
      expect(await all(k)).toEqual([5])
    })

    it("compareAndSet - a Some expectation on an empty key is a mismatch; none on a key with data is a mismatch", async () => {
      const k = key()
      expect(await run(c().compareAndSet(k, SeqNo(0), row(1)))).toBe("ExpectationMismatch")
      expect(Option.isNone(await run(c().head(k)))).toBe(true)
      const k2 = await keyWith(1)
      expect(await run(c().compareAndSet(k2, null, row(2)))).toBe("ExpectationMismatch")
      expect(await all(k2)).toEqual([1])
    })

    it("compareAndSet - mismatch when the expectation is behind or ahead of the head; nothing changes", async () => {
      const k = await keyWith(5)
      expect(await run(c().compareAndSet(k, SeqNo(7), row(10)))).toBe("ExpectationMismatch")
      expect(await run(c().compareAndSet(k, SeqNo(3), row(10)))).toBe("ExpectationMismatch")
      expect(await all(k)).toEqual([5])
      expect(text(Option.getOrThrow(await run(c().head(k))).data)).toBe("d5")
    })

    it("compareAndSet - a matching expectation appends; the new seqno need not be expected + 1", async () => {
      const k = await keyWith(5)
      expect(await run(c().compareAndSet(k, SeqNo(5), row(10, "def")))).toBe("Committed")
      expect(Option.getOrThrow(await run(c().head(k))).seqno).toBe(10)
      expect(await all(k)).toEqual([5, 10])
    })

    it("compareAndSet - a new seqno equal to or below the expectation is a contract violation without effect", async () => {
      const k = await keyWith(5)
      await expectViolation(c().compareAndSet(k, SeqNo(5), row(5, "invalid")))
      await expectViolation(c().compareAndSet(k, SeqNo(5), row(3, "invalid")))
      expect(await all(k)).toEqual([5])
      expect(text(Option.getOrThrow(await run(c().head(k))).data)).toBe("d5")
    })

    it("seqno 0 and SeqNo.maximum are accepted; above the maximum is refused", async () => {
      const k = key()
      expect(await run(c().compareAndSet(k, null, row(0, "")))).toBe("Committed")
      expect(await run(c().compareAndSet(k, SeqNo(0), row(SeqNo.maximum, "")))).toBe("Committed")
      expect(await all(k)).toEqual([0, SeqNo.maximum])
      expect(seqnos(await run(c().scan(k, SeqNo.maximum, SCAN_ALL)))).toEqual([SeqNo.maximum])
      expect(await run(c().truncate(k, SeqNo.maximum))).toBe(1)
      const k2 = key()
      await expectViolation(c().compareAndSet(k2, null, row(SeqNo.maximum + 1)))
      expect(Option.isNone(await run(c().head(k2)))).toBe(true)
    })

    it("every seqno argument is checked: NaN, negatives and fractions are refused on every operation without effect", async () => {
      const k = await keyWith(1, 2)
      for (const bad of [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY, SeqNo.maximum + 1]) {
        const b = bad as SeqNo
        await expectViolation(c().compareAndSet(k, SeqNo(2), { seqno: b, data: bytes("x") }))
        await expectViolation(c().compareAndSet(k, b, row(3)))
        await expectViolation(c().scan(k, b, SCAN_ALL))
        await expectViolation(c().truncate(k, b))
      }
      expect(await all(k)).toEqual([1, 2])
    })

    it("values - empty and 10 KiB data round-trip exactly", async () => {
      const big = new Uint8Array(10 * 1024).map((_, i) => (i * 31) & 0xff)
      const k = key()
      expect(await run(c().compareAndSet(k, null, row(1, new Uint8Array())))).toBe("Committed")
      expect(await run(c().compareAndSet(k, SeqNo(1), row(2, big)))).toBe("Committed")
      const rows = await run(c().scan(k, SeqNo(0), SCAN_ALL))
      expect(rows[0]!.data.byteLength).toBe(0)
      expect(rows[1]!.data).toEqual(big)
      expect(Option.getOrThrow(await run(c().head(k))).data).toEqual(big)
    })

    it("scan - from below, at and above the head; from inside a gap starts at the next row", async () => {
      const k = await keyWith(5, 10)
      expect(seqnos(await run(c().scan(k, SeqNo(0), SCAN_ALL)))).toEqual([5, 10])
      expect(seqnos(await run(c().scan(k, SeqNo(5), SCAN_ALL)))).toEqual([5, 10])
      expect(seqnos(await run(c().scan(k, SeqNo(6), SCAN_ALL)))).toEqual([10])
      expect(seqnos(await run(c().scan(k, SeqNo(10), SCAN_ALL)))).toEqual([10])
      expect(await run(c().scan(k, SeqNo(11), SCAN_ALL))).toEqual([])
    })

    it("scan - limits: 1, several, exactly all, more than all, SCAN_ALL; 0 returns no rows", async () => {
      const k = await keyWith(1, 2, 3, 4, 5)
      expect(seqnos(await run(c().scan(k, SeqNo(0), 1)))).toEqual([1])
      expect(seqnos(await run(c().scan(k, SeqNo(2), 1)))).toEqual([2])
      expect(seqnos(await run(c().scan(k, SeqNo(2), 3)))).toEqual([2, 3, 4])
      expect(seqnos(await run(c().scan(k, SeqNo(0), 5)))).toEqual([1, 2, 3, 4, 5])
      expect(seqnos(await run(c().scan(k, SeqNo(4), 100)))).toEqual([4, 5])
      expect(seqnos(await run(c().scan(k, SeqNo(0), SCAN_ALL)))).toEqual([1, 2, 3, 4, 5])
      expect(await run(c().scan(k, SeqNo(0), 0))).toEqual([])
      expect(await run(c().scan(key(), SeqNo(0), 0))).toEqual([])
    })

    it("scan - a negative or fractional limit is a contract violation", async () => {
      const k = await keyWith(1)
      await expectViolation(c().scan(k, SeqNo(0), -1))
      await expectViolation(c().scan(k, SeqNo(0), 2.5))
      await expectViolation(c().scan(k, SeqNo(0), Number.NaN))
    })

    it("truncate - below the earliest or at it deletes nothing; the bound is exclusive", async () => {
      const k = await keyWith(5)
      expect(await run(c().truncate(k, SeqNo(0)))).toBe(0)
      expect(await run(c().truncate(k, SeqNo(5)))).toBe(0)
      expect(await all(k)).toEqual([5])
    })

    it("truncate - deletes the rows below the bound, returns how many, and is idempotent", async () => {
      const k = await keyWith(5, 10, 11, 12)
      expect(await run(c().truncate(k, SeqNo(6)))).toBe(1)
      expect(await all(k)).toEqual([10, 11, 12])
      expect(await run(c().truncate(k, SeqNo(6)))).toBe(0)
      expect(await run(c().truncate(k, SeqNo(12)))).toBe(2)
      expect(await all(k)).toEqual([12])
    })

    it("truncate - to the head keeps the head; compare-and-set still works after it", async () => {
      const k = await keyWith(1, 2, 3)
      expect(await run(c().truncate(k, SeqNo(3)))).toBe(2)
      expect(Option.getOrThrow(await run(c().head(k))).seqno).toBe(3)
      expect(await run(c().compareAndSet(k, null, row(4)))).toBe("ExpectationMismatch")
      expect(await run(c().compareAndSet(k, SeqNo(3), row(4)))).toBe("Committed")
      expect(await all(k)).toEqual([3, 4])
    })

    it("truncate - past the head is a contract violation; nothing is deleted", async () => {
      const k = await keyWith(5, 6)
      await expectViolation(c().truncate(k, SeqNo(7)))
      expect(await all(k)).toEqual([5, 6])
    })

    it("truncate - on a key without data is a contract violation", async () => {
      await expectViolation(c().truncate(key(), SeqNo(0)))
      await expectViolation(c().truncate(key(), SeqNo(3)))
    })

    it("keys are independent", async () => {
      const a = await keyWith(5, 10)
      const b = key()
      expect(Option.isNone(await run(c().head(b)))).toBe(true)
      expect(await run(c().compareAndSet(b, null, row(1, "einszweidrei")))).toBe("Committed")
      expect(Option.getOrThrow(await run(c().head(b))).seqno).toBe(1)
      expect(Option.getOrThrow(await run(c().head(a))).seqno).toBe(10)
      // An expectation that is right for one key is wrong for the other.
      expect(await run(c().compareAndSet(a, SeqNo(1), row(11)))).toBe("ExpectationMismatch")
      expect(await run(c().truncate(b, SeqNo(1)))).toBe(0)
      expect(await all(a)).toEqual([5, 10])
    })

    it("aliasing - mutating a buffer after compareAndSet, or one returned by head or scan, changes nothing stored", async () => {
      const k = key()
      const input = bytes("abc")
      expect(await run(c().compareAndSet(k, null, { seqno: SeqNo(1), data: input }))).toBe("Committed")
      input[0] = 0x7a
      const h = Option.getOrThrow(await run(c().head(k)))
      expect(text(h.data)).toBe("abc")
      h.data[1] = 0x7a
      const s = await run(c().scan(k, SeqNo(0), SCAN_ALL))
      expect(text(s[0]!.data)).toBe("abc")
      s[0]!.data[2] = 0x7a
      expect(text(Option.getOrThrow(await run(c().head(k))).data)).toBe("abc")
      expect(text((await run(c().scan(k, SeqNo(0), 1)))[0]!.data)).toBe("abc")
    })
  })
}

export const blobContract = (name: string, make: () => Promise<Opened<BlobShape>>): void => {
  describe(`Blob contract (CT-2): ${name}`, () => {
    let opened: Opened<BlobShape> | undefined
    let n = 0
    const b = (): BlobShape => opened!.service
    /** A prefix no other test uses. */
    const prefix = (): string => `t${++n}/`
    const get = async (k: string) => Option.getOrUndefined(await run(b().get(k)))
    const keys = async (p: string) => (await run(b().listKeysAndMetadata(p))).map((m) => m.key)

    beforeAll(async () => {
      opened = await make()
    }, 120_000)
    afterAll(async () => {
      await opened?.close()
    })

    it("get - none for a missing key; listing an unused prefix is empty", async () => {
      const p = prefix()
      expect(await get(`${p}missing`)).toBeUndefined()
      expect(await run(b().listKeysAndMetadata(p))).toEqual([])
    })

    it("set - get returns the value; a second set overwrites it", async () => {
      const k = `${prefix()}foo/bar/k0`
      await run(b().set(k, bytes("v0")))
      expect(text((await get(k))!)).toBe("v0")
      await run(b().set(k, bytes("v1-longer")))
      expect(text((await get(k))!)).toBe("v1-longer")
    })

    it("values - empty and 10 KiB values round-trip; an empty value is present, not missing", async () => {
      const p = prefix()
      const big = new Uint8Array(10 * 1024).map((_, i) => (i * 7) & 0xff)
      await run(b().set(`${p}empty`, new Uint8Array()))
      await run(b().set(`${p}big`, big))
      expect((await get(`${p}empty`))?.byteLength).toBe(0)
      expect(await get(`${p}big`)).toEqual(big)
      expect(await run(b().listKeysAndMetadata(p))).toEqual([
        { key: `${p}big`, sizeInBytes: 10 * 1024 },
        { key: `${p}empty`, sizeInBytes: 0 }
      ])
    })

    it("delete - returns the size, then none (twice); a never-written key is none", async () => {
      const p = prefix()
      await run(b().set(`${p}k`, bytes("12345")))
      expect(await run(b().delete(`${p}k`))).toEqual(Option.some(5))
      expect(await get(`${p}k`)).toBeUndefined()
      expect(await run(b().delete(`${p}k`))).toEqual(Option.none())
      expect(await run(b().delete(`${p}k`))).toEqual(Option.none())
      expect(await run(b().delete(`${p}nope`))).toEqual(Option.none())
      expect(await keys(p)).toEqual([])
    })

    it("delete - an empty value reports size 0, not absence", async () => {
      const k = `${prefix()}empty`
      await run(b().set(k, new Uint8Array()))
      expect(await run(b().delete(k))).toEqual(Option.some(0))
    })

    it("set - a deleted key can be written again", async () => {
      const k = `${prefix()}k`
      await run(b().set(k, bytes("one")))
      await run(b().delete(k))
      await run(b().set(k, bytes("two")))
      expect(text((await get(k))!)).toBe("two")
    })

    it("list - only keys with the prefix, in key order, with sizes", async () => {
      const p = prefix()
      await run(b().set(`${p}s1/v9/r`, bytes("aa")))
      await run(b().set(`${p}s2/w/p`, bytes("bbbb")))
      await run(b().set(`${p}s1/v10/r`, bytes("c")))
      await run(b().set(`${p}s1/w/p`, bytes("ddd")))
      await run(b().set(`${p}s10`, bytes("e")))
      expect(await run(b().listKeysAndMetadata(`${p}s1/`))).toEqual([
        { key: `${p}s1/v10/r`, sizeInBytes: 1 },
        { key: `${p}s1/v9/r`, sizeInBytes: 2 },
        { key: `${p}s1/w/p`, sizeInBytes: 3 }
      ])
      expect(await keys(`${p}s1/v`)).toEqual([`${p}s1/v10/r`, `${p}s1/v9/r`])
      expect(await keys(`${p}s1`)).toEqual([`${p}s1/v10/r`, `${p}s1/v9/r`, `${p}s1/w/p`, `${p}s10`])
      expect(await keys(`${p}s3/`)).toEqual([])
      expect((await keys(p)).length).toBe(5)
    })

    it("list - many keys written back to back are all listed", async () => {
      const p = prefix()
      const want = Array.from({ length: 12 }, (_, i) => `${p}k-${String(i).padStart(2, "0")}`)
      for (const k of [...want].reverse()) await run(b().set(k, bytes(k)))
      expect(await keys(p)).toEqual(want)
    })

    it("keys - slashes, dots, percent signs, spaces and non-ASCII are kept exactly", async () => {
      const p = prefix()
      const odd = [`${p}a/b/c`, `${p}.`, `${p}..`, `${p}.hidden`, `${p}100%`, `${p}%2F`, `${p}with space`, `${p}ünï/✓`, `${p}a.tmp`]
      for (const [i, k] of odd.entries()) await run(b().set(k, bytes(`v${i}`)))
      for (const [i, k] of odd.entries()) expect(text((await get(k))!)).toBe(`v${i}`)
      expect(await keys(p)).toEqual([...odd].sort())
      expect(await get(`${p}a`)).toBeUndefined()
      expect(await get(`${p}a/b`)).toBeUndefined()
    })

    it("aliasing - mutating a buffer after set, or one returned by get, changes nothing stored", async () => {
      const k = `${prefix()}k`
      const input = bytes("abc")
      await run(b().set(k, input))
      input[0] = 0x7a
      const got = (await get(k))!
      expect(text(got)).toBe("abc")
      got[1] = 0x7a
      expect(text((await get(k))!)).toBe("abc")
    })

    it("list - a deleted key is no longer listed", async () => {
      const p = prefix()
      await run(b().set(`${p}a`, bytes("1")))
      await run(b().set(`${p}b`, bytes("2")))
      await run(b().delete(`${p}a`))
      expect(await keys(p)).toEqual([`${p}b`])
    })
  })
}
