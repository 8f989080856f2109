/**
 * Blob (spec CT-2): a linearizable `key -> bytes` map. `set` is atomic, `delete` is
 * idempotent and reports the removed size, listing is by prefix.
 *
 * Bytes are owned by the store: `set` stores a copy and `get` hands out a copy, so a caller
 * mutating a buffer before or after a call never changes what is stored (persist's `Bytes`
 * are immutable; a JS `Uint8Array` is not). Only the observer accessor `unsafePeek` returns
 * the stored buffer itself.
 */
import { Context, Effect, Layer, Option } from "effect"
import type { ExternalError } from "./Errors.ts"

export interface BlobMetadata {
  readonly key: string
  readonly sizeInBytes: number
}

export interface BlobShape {
  readonly get: (key: string) => Effect.Effect<Option.Option<Uint8Array>, ExternalError>
  readonly set: (key: string, value: Uint8Array) => Effect.Effect<void, ExternalError>
  /** `Some(size)` if the key existed; deleting a missing key succeeds with none. */
  readonly delete: (key: string) => Effect.Effect<Option.Option<number>, ExternalError>
  /** Every key with the prefix and its size, in key order. */
  readonly listKeysAndMetadata: (prefix: string) => Effect.Effect<ReadonlyArray<BlobMetadata>, ExternalError>
}

export class Blob extends Context.Tag("persist/Blob")<Blob, BlobShape>() {
  static readonly memory: Layer.Layer<Blob> = Layer.sync(Blob, () => fromStore(new MemBlob()))
}

/** The rules of CT-2 on a plain map. */
export class MemBlob {
  private readonly data = new Map<string, Uint8Array>()

  /** The value, as a copy the caller may keep and mutate. */
  unsafeGet(key: string): Uint8Array | undefined {
    return this.data.get(key)?.slice()
  }
  /** Stores a copy of `value`. */
  unsafeSet(key: string, value: Uint8Array): void {
    this.data.set(key, value.slice())
  }
  /**
   * The stored value, not copied: a read-only view for observers (the checker, tests), who
   * must not mutate it. Callers of the service (and of `unsafeGet`) get copies instead.
   */
  unsafePeek(key: string): Uint8Array | undefined {
    return this.data.get(key)
  }
  unsafeDelete(key: string): number | undefined {
    const v = this.data.get(key)
    if (v === undefined) return undefined
    this.data.delete(key)
    return v.byteLength
  }
  unsafeList(prefix: string): ReadonlyArray<BlobMetadata> {
    const out: Array<BlobMetadata> = []
    for (const [key, v] of this.data) if (key.startsWith(prefix)) out.push({ key, sizeInBytes: v.byteLength })
    // Map order is insertion order; the contract promises no order, we promise key order.
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }
  has(key: string): boolean {
    return this.data.has(key)
  }
  get size(): number {
    return this.data.size
  }
}

export const fromStore = (store: MemBlob): BlobShape => ({
  get: (key) => Effect.sync(() => Option.fromNullable(store.unsafeGet(key))),
  set: (key, value) => Effect.sync(() => store.unsafeSet(key, value)),
  delete: (key) => Effect.sync(() => Option.fromNullable(store.unsafeDelete(key))),
  listKeysAndMetadata: (prefix) => Effect.sync(() => store.unsafeList(prefix))
})
