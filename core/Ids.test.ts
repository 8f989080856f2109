import { describe, expect, it } from "@effect/vitest"
import { Effect, Random } from "effect"
import { CriticalReaderId, IdempotencyToken, LeasedReaderId, PartId, randomUuid, RollupId, ShardId, WriterId } from "./Ids.ts"
import { uuid } from "./testing/Fixtures.ts"

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const draw = <A>(e: Effect.Effect<A>, seed: number): A => Effect.runSync(e.pipe(Effect.withRandom(Random.make(seed))))

describe("Ids", () => {
  it("make - each id kind renders its prefix and the uuid", () => {
    const u = uuid(7)
    expect(ShardId.make(u)).toBe(`s${u}`)
    expect(RollupId.make(u)).toBe(`r${u}`)
    expect(PartId.make(u)).toBe(`p${u}`)
    expect(WriterId.make(u)).toBe(`w${u}`)
    expect(LeasedReaderId.make(u)).toBe(`r${u}`)
    expect(CriticalReaderId.make(u)).toBe(`c${u}`)
    expect(IdempotencyToken.make(u)).toBe(`i${u}`)
  })

  it("parse - strict prefix and canonical lowercase uuid", () => {
    const u = uuid(7)
    expect(ShardId.parse(`s${u}`)).toBe(`s${u}`)
    expect(ShardId.parse(`w${u}`)).toBeUndefined()
    expect(ShardId.parse(u)).toBeUndefined()
    expect(ShardId.parse(`s${u}x`)).toBeUndefined()
    expect(ShardId.parse(`s${u.replace(/0/g, "A")}`)).toBeUndefined()
    expect(ShardId.parse(`s${u.replace(/-/g, "")}`)).toBeUndefined()
    expect(WriterId.parse(`w${u}`)).toBe(`w${u}`)
    expect(PartId.parse(`p${u}`)).toBe(`p${u}`)
    expect(IdempotencyToken.parse(IdempotencyToken.SENTINEL)).toBe(IdempotencyToken.SENTINEL)
  })

  it("randomUuid - version 4 shaped", () => {
    for (let seed = 0; seed < 20; seed++) expect(draw(randomUuid, seed)).toMatch(UUID_V4)
  })

  it("random - deterministic for the same seed", () => {
    const a = draw(RollupId.random, 1)
    const b = draw(RollupId.random, 1)
    expect(a).toBe(b)
    expect(RollupId.parse(a)).toBe(a)
    const seqA = draw(Effect.all([ShardId.random, WriterId.random, PartId.random]), 7)
    const seqB = draw(Effect.all([ShardId.random, WriterId.random, PartId.random]), 7)
    expect(seqA).toEqual(seqB)
  })

  it("random - differs across seeds and across successive draws", () => {
    const ids = new Set([1, 2, 3, 4, 5].map((seed) => draw(RollupId.random, seed)))
    expect(ids.size).toBe(5)
    const [x, y] = draw(Effect.all([RollupId.random, RollupId.random]), 1)
    expect(x).not.toBe(y)
    // The first draw of a seed is the same whatever is drawn after it.
    expect(x).toBe(draw(RollupId.random, 1))
  })
})
