/** DirectoryBlob: the contract suite in a temporary directory, and what is particular to files. */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { blobContract } from "./contract.ts"
import { decodeKey, DirectoryBlob, encodeKey } from "./DirectoryBlob.ts"

const bytes = (s: string) => new TextEncoder().encode(s)

blobContract("directory", async () => {
  const b = await DirectoryBlob.temp()
  return { service: b.toService(), close: () => b.close() }
})

describe("DirectoryBlob - files", () => {
  it("encodeKey - reversible, flat, never hidden, only safe characters", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, unit: "grapheme" }), (key) => {
        const name = encodeKey(key)
        expect(name).toMatch(/^(?:[A-Za-z0-9_-]|%[0-9A-F]{2})+$/)
        expect(decodeKey(name)).toBe(key)
      }),
      { numRuns: 500 }
    )
    expect(encodeKey("s1/v2/r3")).toBe("s1%2Fv2%2Fr3")
    expect(encodeKey("..")).toBe("%2E%2E")
    expect(decodeKey(".tmp-1")).toBeUndefined()
    expect(decodeKey("a%2f")).toBeUndefined() // not the canonical (upper-case) form
    expect(decodeKey("%FF")).toBeUndefined() // not UTF-8
  })

  it("set - leaves no temporary file; a second instance on the same directory sees the data; foreign and temporary files are not listed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "persist-sim-blob-test-"))
    try {
      const a = await DirectoryBlob.open(dir)
      await a.set("s/v1/r", bytes("one"))
      await a.set("s/v1/r", bytes("two"))
      expect(await readdir(dir)).toEqual(["s%2Fv1%2Fr"])
      await writeFile(join(dir, ".tmp-crashed"), "partial")
      await writeFile(join(dir, "not encoded.txt"), "foreign")
      const b = await DirectoryBlob.open(dir, { fsync: false })
      expect(new TextDecoder().decode(await b.get("s/v1/r"))).toBe("two")
      expect(await b.list("")).toEqual([{ key: "s/v1/r", sizeInBytes: 3 }])
      expect(await b.delete("s/v1/r")).toBe(3)
      expect(await a.get("s/v1/r")).toBeUndefined()
      await a.close()
      await b.close()
      expect((await readdir(dir)).sort()).toEqual([".tmp-crashed", "not encoded.txt"])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it("temp - close removes the directory; a closed store answers Indeterminate", async () => {
    const b = await DirectoryBlob.temp()
    await b.set("k", bytes("v"))
    await b.close()
    await expect(readdir(b.dir)).rejects.toThrow()
    await expect(b.get("k")).rejects.toMatchObject({ _tag: "Indeterminate" })
  })
})
