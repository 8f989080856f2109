import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Blob, fromStore, MemBlob } from "./Blob.ts"
import { bytes } from "./testing/Fixtures.ts"

const text = (b: Uint8Array): string => new TextDecoder().decode(b)

describe("MemBlob", () => {
  it("get - undefined for a missing key, the value after set", () => {
    const b = new MemBlob()
    expect(b.unsafeGet("k")).toBeUndefined()
    b.unsafeSet("k", bytes("hello"))
    expect(text(b.unsafeGet("k")!)).toBe("hello")
    expect(b.has("k")).toBe(true)
    expect(b.size).toBe(1)
  })

  it("set - overwrites the previous value", () => {
    const b = new MemBlob()
    b.unsafeSet("k", bytes("one"))
    b.unsafeSet("k", bytes("three"))
    expect(text(b.unsafeGet("k")!)).toBe("three")
    expect(b.size).toBe(1)
  })

  it("delete - returns the removed size, then undefined (idempotent)", () => {
    const b = new MemBlob()
    b.unsafeSet("k", bytes("12345"))
    expect(b.unsafeDelete("k")).toBe(5)
    expect(b.unsafeDelete("k")).toBeUndefined()
    expect(b.unsafeDelete("never")).toBeUndefined()
    expect(b.has("k")).toBe(false)
    expect(b.size).toBe(0)
  })

  it("delete - an empty value reports size 0, not absence", () => {
    const b = new MemBlob()
    b.unsafeSet("k", new Uint8Array())
    expect(b.unsafeDelete("k")).toBe(0)
  })

  it("aliasing - set stores a copy and get returns a copy; unsafePeek is the stored buffer", () => {
    const b = new MemBlob()
    const input = bytes("abc")
    b.unsafeSet("k", input)
    input[0] = 0x7a
    expect(text(b.unsafeGet("k")!)).toBe("abc")
    b.unsafeGet("k")![1] = 0x7a
    expect(text(b.unsafeGet("k")!)).toBe("abc")
    expect(b.unsafePeek("k")).toBe(b.unsafePeek("k"))
    expect(text(b.unsafePeek("k")!)).toBe("abc")
    expect(b.unsafePeek("missing")).toBeUndefined()
  })

  it("list - only keys with the prefix, in key order, with sizes", () => {
    const b = new MemBlob()
    b.unsafeSet("s1/v9/r", bytes("aa"))
    b.unsafeSet("s2/w/p", bytes("bbbb"))
    b.unsafeSet("s1/v10/r", bytes("c"))
    b.unsafeSet("s1/w/p", bytes("ddd"))
    expect(b.unsafeList("s1/")).toEqual([
      { key: "s1/v10/r", sizeInBytes: 1 },
      { key: "s1/v9/r", sizeInBytes: 2 },
      { key: "s1/w/p", sizeInBytes: 3 }
    ])
    expect(b.unsafeList("s1/v").map((m) => m.key)).toEqual(["s1/v10/r", "s1/v9/r"])
    expect(b.unsafeList("s3/")).toEqual([])
    expect(b.unsafeList("").length).toBe(4)
  })
})

describe("Blob service", () => {
  it.effect("get/set/delete - through the service", () =>
    Effect.gen(function* () {
      const b = yield* Blob
      expect(Option.isNone(yield* b.get("k"))).toBe(true)
      yield* b.set("k", bytes("abc"))
      const got = yield* b.get("k")
      expect(Option.map(got, text)).toEqual(Option.some("abc"))
      yield* b.set("k", bytes("abcdef"))
      expect(yield* b.delete("k")).toEqual(Option.some(6))
      expect(yield* b.delete("k")).toEqual(Option.none())
    }).pipe(Effect.provide(Blob.memory))
  )

  it("listKeysAndMetadata - key order through fromStore", () => {
    const store = new MemBlob()
    const b = fromStore(store)
    Effect.runSync(Effect.all([b.set("p/b", bytes("1")), b.set("p/a", bytes("22")), b.set("q/a", bytes("333"))]))
    expect(Effect.runSync(b.listKeysAndMetadata("p/"))).toEqual([
      { key: "p/a", sizeInBytes: 2 },
      { key: "p/b", sizeInBytes: 1 }
    ])
  })
})
