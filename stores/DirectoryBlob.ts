/**
 * Blob (spec CT-2) in a directory, one file per key (persist's `FileBlob`, `file.rs`, the
 * store behind `--blob-dir`-style local runs).
 *
 * - File names: a key is encoded so that any string maps to one flat, safe file name and back.
 *   Its UTF-8 bytes are kept when they are ASCII letters, digits, `-` or `_`; every other byte
 *   (`/`, `.`, `%`, spaces, non-ASCII, …) becomes `%XX` (upper-case hex). The result never
 *   contains `/` or starts with `.`, so it is never `.`/`..`, never a hidden file and never
 *   a temporary name; decoding reverses it exactly (`encodeKey` / `decodeKey`).
 * - `set` is atomic: the bytes go to a temporary `.tmp-<uuid>` in the same directory, are
 *   flushed to disk (as persist's FileBlob does), and the file is renamed over the key's name;
 *   a reader sees the old value or the new one, never part of one.
 * - `get` of a missing key is none; `delete` claims the file by renaming it to a temporary
 *   name first (so two concurrent deletes cannot both report it), then reports its size and
 *   removes it; a missing key is none. `list` walks the directory (skipping dot-files, i.e.
 *   temporaries) and returns keys with the prefix in key order, with sizes.
 * - Errors: a file system error is Indeterminate, as persist maps `std::io::Error`.
 *
 * Nothing here is deterministic (file system, random temporary names); it sits outside the
 * simulator's deterministic path, which awaits each call before resuming.
 */
import { randomUUID } from "node:crypto"
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { BlobMetadata } from "../core/Blob.ts"
import { Indeterminate } from "../core/Errors.ts"
import { type AsyncBlob, blobService } from "./AsyncStores.ts"

const KEEP = /^[A-Za-z0-9_-]$/

/** The file name for a key: a reversible, flat, never-hidden encoding (see the module doc). */
export const encodeKey = (key: string): string => {
  if (key.length === 0) throw new Indeterminate({ message: "blob key must not be empty" })
  let out = ""
  for (const byte of new TextEncoder().encode(key)) {
    const c = String.fromCharCode(byte)
    out += byte < 0x80 && KEEP.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return out
}

/** The key a file name encodes, or undefined if the name is not one `encodeKey` makes. */
export const decodeKey = (name: string): string | undefined => {
  if (!/^(?:[A-Za-z0-9_-]|%[0-9A-F]{2})+$/.test(name)) return undefined
  const bytes: Array<number> = []
  for (let i = 0; i < name.length;) {
    if (name[i] === "%") {
      bytes.push(parseInt(name.slice(i + 1, i + 3), 16))
      i += 3
    } else {
      bytes.push(name.charCodeAt(i))
      i++
    }
  }
  try {
    const key = new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes))
    return encodeKey(key) === name ? key : undefined
  } catch {
    return undefined
  }
}

const io = (e: unknown): Indeterminate => (e instanceof Indeterminate ? e : new Indeterminate({ message: e instanceof Error ? e.message : String(e) }))
const isMissing = (e: unknown): boolean => typeof e === "object" && e !== null && (e as { code?: unknown }).code === "ENOENT"

export interface DirectoryBlobOptions {
  /** Flush each file before renaming it into place (persist's FileBlob does). Default true. */
  readonly fsync?: boolean
  /** Remove the whole directory on close (for temporary directories). Default false. */
  readonly removeOnClose?: boolean
}

export class DirectoryBlob implements AsyncBlob {
  readonly name = "directory"
  private closed = false

  private constructor(
    readonly dir: string,
    private readonly options: DirectoryBlobOptions
  ) {}

  /** A Blob in `dir` (created if missing); other instances on the same directory share it. */
  static async open(dir: string, options: DirectoryBlobOptions = {}): Promise<DirectoryBlob> {
    await mkdir(dir, { recursive: true }).catch((e: unknown) => {
      throw io(e)
    })
    return new DirectoryBlob(dir, options)
  }

  /** A Blob in a fresh temporary directory, removed on close. */
  static async temp(options: Omit<DirectoryBlobOptions, "removeOnClose"> = {}): Promise<DirectoryBlob> {
    const dir = await mkdtemp(join(tmpdir(), "persist-sim-blob-"))
    return new DirectoryBlob(dir, { ...options, removeOnClose: true })
  }

  private path(key: string): string {
    if (this.closed) throw new Indeterminate({ message: "DirectoryBlob is closed" })
    return join(this.dir, encodeKey(key))
  }

  private tmpPath(): string {
    return join(this.dir, `.tmp-${randomUUID()}`)
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const path = this.path(key)
    try {
      const buf = await readFile(path)
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    } catch (e) {
      if (isMissing(e)) return undefined
      throw io(e)
    }
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    const path = this.path(key)
    const tmp = this.tmpPath()
    try {
      const file = await open(tmp, "w")
      try {
        await file.writeFile(value)
        if (this.options.fsync !== false) await file.sync()
      } finally {
        await file.close()
      }
      await rename(tmp, path)
    } catch (e) {
      await unlink(tmp).catch(() => {})
      throw io(e)
    }
  }

  async delete(key: string): Promise<number | undefined> {
    const path = this.path(key)
    const claimed = this.tmpPath()
    try {
      await rename(path, claimed)
    } catch (e) {
      if (isMissing(e)) return undefined
      throw io(e)
    }
    try {
      const { size } = await stat(claimed)
      await unlink(claimed)
      return size
    } catch (e) {
      throw io(e)
    }
  }

  async list(prefix: string): Promise<ReadonlyArray<BlobMetadata>> {
    if (this.closed) throw new Indeterminate({ message: "DirectoryBlob is closed" })
    try {
      const out: Array<BlobMetadata> = []
      for (const entry of await readdir(this.dir, { withFileTypes: true })) {
        if (!entry.isFile()) continue
        const key = decodeKey(entry.name)
        if (key === undefined || !key.startsWith(prefix)) continue
        try {
          out.push({ key, sizeInBytes: (await stat(join(this.dir, entry.name))).size })
        } catch (e) {
          // Deleted between the listing and the stat: it is simply not there any more.
          if (!isMissing(e)) throw e
        }
      }
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    } catch (e) {
      throw io(e)
    }
  }

  toService() {
    return blobService(this)
  }

  /** Stops using the directory; removes it if it was a temporary one. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.options.removeOnClose === true) await rm(this.dir, { recursive: true, force: true })
  }
}
