import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { DirError, makeDirs, removeStrayTemps, tempNameFor, writeFileAtomic } from "./AtomicWrite.ts"

const dir = mkdtempSync(join(tmpdir(), "persist-sim-atomic-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("writeFileAtomic", () => {
  it("replaces the file's content and leaves no temporary behind", () => {
    const f = join(dir, "a.jsonl")
    writeFileAtomic(f, "one\n")
    writeFileAtomic(f, "two\n")
    expect(readFileSync(f, "utf8")).toBe("two\n")
    expect(readdirSync(dir)).toEqual(["a.jsonl"])
  })

  it("a failed write leaves the previous file intact and no temporary", () => {
    const f = join(dir, "b.jsonl")
    writeFileAtomic(f, "good\n")
    // A missing folder makes the write of the temporary fail.
    const sub = join(dir, "sub")
    expect(() => writeFileAtomic(join(sub, "c.jsonl"), "x")).toThrow()
    expect(readFileSync(f, "utf8")).toBe("good\n")
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([])
  })

  it("removeStrayTemps - removes this process's temporaries only", () => {
    const mine = tempNameFor(join(dir, "d.jsonl"))
    const other = join(dir, `.d.jsonl.${process.pid + 1}.0.tmp`)
    writeFileSync(mine, "half")
    writeFileSync(other, "someone else's")
    expect(removeStrayTemps(dir)).toBe(1)
    expect(existsSync(mine)).toBe(false)
    expect(existsSync(other)).toBe(true)
    rmSync(other)
  })
})

describe("makeDirs", () => {
  it("creates missing folders top-down and accepts an existing one", () => {
    const deep = join(dir, "m", "n", "o")
    makeDirs(deep)
    makeDirs(deep)
    expect(existsSync(deep)).toBe(true)
  })

  it("refuses a file, a path under a file, an empty name and a special file system, at once", () => {
    const f = join(dir, "afile")
    writeFileSync(f, "")
    const started = Date.now()
    expect(() => makeDirs(f)).toThrow(/exists and is not a folder/)
    expect(() => makeDirs(join(f, "sub", "deeper"))).toThrow(/afile exists and is not a folder/)
    expect(() => makeDirs("")).toThrow(/empty/)
    if (existsSync("/proc/self")) expect(() => makeDirs("/proc/x/y")).toThrow(/proc file system/)
    expect(() => makeDirs(f)).toThrow(DirError)
    expect(Date.now() - started).toBeLessThan(1000)
  })
})
