import { Either, Exit, Option } from "effect"
import { describe, expect, it } from "vitest"
import { MemBlob } from "../../core/Blob.ts"
import { MemConsensus, runContract } from "../../core/Consensus.ts"
import { Determinate, Indeterminate } from "../../core/Errors.ts"
import { Choices } from "../kernel/Choices.ts"
import { trapsActive } from "../kernel/Traps.ts"
import { type Backend, type BackendBlob, type BackendConsensus, sameAnswer, sameValue } from "./Backend.ts"
import { runWorld, runWorldOn } from "./World.ts"

/** A second pair of in-memory stores behind the promise faces: a backend that answers as the models do. */
const settleContract = <A>(f: () => A): Promise<A> => {
  const r = runContract(f)
  return Either.isLeft(r) ? Promise.reject(r.left) : Promise.resolve(r.right)
}
const memConsensus = (c = new MemConsensus()): BackendConsensus => ({
  head: (k) => settleContract(() => c.unsafeHead(k)),
  compareAndSet: (k, e, n) => settleContract(() => c.unsafeCompareAndSet(k, e, n)),
  scan: (k, f, l) => settleContract(() => c.unsafeScan(k, f, l)),
  truncate: (k, s) => settleContract(() => c.unsafeTruncate(k, s))
})
const memBlob = (b = new MemBlob()): BackendBlob => ({
  get: async (k) => b.unsafeGet(k),
  set: async (k, v) => b.unsafeSet(k, v),
  delete: async (k) => b.unsafeDelete(k),
  list: async (p) => b.unsafeList(p)
})

/** Real asynchrony between the driver's segments: the traps must be lifted while this runs. */
const slow = <T extends object>(inner: T): T =>
  Object.fromEntries(
    Object.entries(inner).map(([k, f]) => [k, (...a: Array<unknown>) => new Promise((r) => setTimeout(r, 0)).then(() => (f as (...x: Array<unknown>) => unknown)(...a))])
  ) as T

describe("World.runOn (a real backend beside the models)", () => {
  it("a backend that answers as the models do gives the same digest and events as run(), through real timers", async () => {
    for (const seed of [2, 5]) {
      const sync = runWorld(Choices.seeded(seed), { steps: 300 })
      const backend: Backend = { consensus: slow(memConsensus()), blob: slow(memBlob()) }
      const real = await runWorldOn(Choices.seeded(seed), { steps: 300 }, backend)
      expect(real.violations.map((v) => v._tag)).toEqual(sync.violations.map((v) => v._tag))
      expect(real.events).toEqual(sync.events)
      expect(real.digest).toBe(sync.digest)
    }
  })

  it("only one side real (Blob alone) also matches", async () => {
    const sync = runWorld(Choices.seeded(4), { steps: 300 })
    const real = await runWorldOn(Choices.seeded(4), { steps: 300 }, { blob: memBlob() })
    expect(real.digest).toBe(sync.digest)
  })

  it("a backend whose scan drops the last row is caught at its first answer as BackendDiverged, and the process gets the backend's answer", async () => {
    const c = memConsensus()
    const lying: BackendConsensus = { ...c, scan: async (k, f, l) => (await c.scan(k, f, l)).slice(0, -1) }
    const sync = runWorld(Choices.seeded(3), { steps: 300 })
    const real = await runWorldOn(Choices.seeded(3), { steps: 300 }, { consensus: lying })
    const diverged = real.violations.filter((v) => v._tag === "BackendDiverged")
    expect(diverged.length).toBeGreaterThan(0)
    const first = diverged[0]!
    expect(first).toMatchObject({ invariant: "MODEL", call: "consensus.scan" })
    // The trace shows what the process saw: the backend's (shorter) answer at that step.
    const event = real.events.find((e) => e.step === first.step && e.call === "consensus.scan")
    expect(event?.result).toBe(first._tag === "BackendDiverged" ? first.backend : "")
    expect(real.digest).not.toBe(sync.digest)
  })

  it("backend calls run with the traps lifted (timers, clocks work), and the traps are off after the run", async () => {
    const inner = memConsensus()
    const seen: Array<boolean> = []
    const probing: BackendConsensus = {
      ...inner,
      head: (k) => {
        seen.push(trapsActive())
        Date.now()
        return inner.head(k)
      }
    }
    const r = await runWorldOn(Choices.seeded(1), { steps: 50 }, { consensus: probing })
    expect(r.steps).toBeGreaterThan(0)
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.every((active) => !active)).toBe(true)
    expect(trapsActive()).toBe(false)
  })
})

describe("sameAnswer", () => {
  const bytes = (...b: Array<number>) => new Uint8Array(b)
  it("compares values structurally, bytes by content", () => {
    expect(sameValue(Option.some({ seqno: 1, data: bytes(1, 2) }), Option.some({ seqno: 1, data: bytes(1, 2) }))).toBe(true)
    expect(sameValue(Option.some({ seqno: 1, data: bytes(1, 2) }), Option.some({ seqno: 1, data: bytes(1, 3) }))).toBe(false)
    expect(sameValue(Option.none(), Option.some(1))).toBe(false)
    expect(sameValue([{ key: "a", sizeInBytes: 1 }], [{ key: "a", sizeInBytes: 1 }])).toBe(true)
    expect(sameValue([{ key: "a", sizeInBytes: 1 }], [{ key: "b", sizeInBytes: 1 }])).toBe(false)
    expect(sameValue(undefined, undefined)).toBe(true)
    expect(sameValue(2, 3)).toBe(false)
  })
  it("failures agree by kind: contract violation vs other Indeterminate vs Determinate", () => {
    const cv = (m: string) => Exit.fail(new Indeterminate({ message: m, contractViolation: true }))
    expect(sameAnswer(cv("model words"), cv("backend words"))).toBe(true)
    expect(sameAnswer(cv("x"), Exit.fail(new Indeterminate({ message: "connection reset" })))).toBe(false)
    expect(sameAnswer(cv("x"), Exit.fail(new Determinate({ message: "40001" })))).toBe(false)
    expect(sameAnswer(Exit.succeed(1), cv("x"))).toBe(false)
  })
})
