/**
 * Simulated Consensus and Blob: each call parks its fiber in the kernel as a pending request;
 * the world later performs it against the shared in-memory stores (the ground truth) with the
 * fault it drew. Core sees only the ordinary Consensus/Blob services.
 */
import { Option } from "effect"
import type { BlobShape } from "../core/Blob.ts"
import { type ConsensusShape, type VersionedData } from "../core/Consensus.ts"
import type { ExternalError } from "../core/Errors.ts"
import type { World } from "./World.ts"

/** What the world needs to carry out a parked request. */
export interface StoreCall {
  /** Applies the operation; throws ConsensusContractError if the call breaks the contract. */
  readonly perform: () => unknown
  /** Whether applying it changes a store (so "Indeterminate, applied" differs from "not applied"). */
  readonly mutates: boolean
  /** After a successful perform: lets the checker see the change. */
  readonly observe: (result: unknown) => void
  /** A short rendering of the result for the trace. */
  readonly render: (result: unknown) => string
}

const short = (key: string): string => {
  const i = key.indexOf("/")
  return i < 0 ? "s…" : `s…${key.slice(i)}`
}

const rows = (r: unknown): string => {
  const a = r as ReadonlyArray<VersionedData>
  return a.length === 0 ? "[]" : `[${a[0]!.seqno}..${a[a.length - 1]!.seqno}]`
}

export const simConsensus = (world: World, process: string): ConsensusShape => {
  const store = world.consensus
  return {
    head: (key) =>
      world.kernel.park<Option.Option<VersionedData>, ExternalError>(
        { process, op: "consensus.head", detail: "s…" },
        { perform: () => Option.fromNullable(store.unsafeHead(key)), mutates: false, observe: () => {}, render: (r) => Option.match(r as Option.Option<VersionedData>, { onNone: () => "None", onSome: (v) => `v${v.seqno}` }) }
      ),
    compareAndSet: (key, expected, next) =>
      world.kernel.park(
        { process, op: "consensus.cas", detail: `s…/${expected === null ? "None" : `v${expected}`}→v${next.seqno}` },
        {
          perform: () => store.unsafeCompareAndSet(key, expected, next),
          mutates: true,
          observe: (r) => r === "Committed" && world.checker.onCommit(next),
          render: (r) => String(r)
        }
      ),
    scan: (key, from, limit) =>
      world.kernel.park(
        { process, op: "consensus.scan", detail: `s…/v${from}+${limit >= Number.MAX_SAFE_INTEGER ? "ALL" : limit}` },
        { perform: () => store.unsafeScan(key, from, limit), mutates: false, observe: () => {}, render: rows }
      ),
    truncate: (key, seqno) =>
      world.kernel.park(
        { process, op: "consensus.truncate", detail: `s…/<v${seqno}` },
        { perform: () => store.unsafeTruncate(key, seqno), mutates: true, observe: () => world.checker.onTruncate(), render: (r) => `deleted ${String(r)}` }
      )
  }
}

export const simBlob = (world: World, process: string): BlobShape => {
  const store = world.blob
  return {
    get: (key) =>
      world.kernel.park(
        { process, op: "blob.get", detail: short(key) },
        {
          perform: () => Option.fromNullable(store.unsafeGet(key)),
          mutates: false,
          observe: () => {},
          render: (r) => Option.match(r as Option.Option<Uint8Array>, { onNone: () => "None", onSome: (b) => `${b.byteLength}B` })
        }
      ),
    set: (key, value) =>
      world.kernel.park(
        { process, op: "blob.set", detail: short(key) },
        { perform: () => store.unsafeSet(key, value), mutates: true, observe: () => {}, render: () => "ok" }
      ),
    delete: (key) =>
      world.kernel.park(
        { process, op: "blob.delete", detail: short(key) },
        {
          perform: () => Option.fromNullable(store.unsafeDelete(key)),
          mutates: true,
          observe: () => world.checker.onBlobDelete(key),
          render: (r) => Option.match(r as Option.Option<number>, { onNone: () => "None", onSome: (n) => `${n}B` })
        }
      ),
    listKeysAndMetadata: (prefix) =>
      world.kernel.park(
        { process, op: "blob.list", detail: short(prefix) },
        { perform: () => store.unsafeList(prefix), mutates: false, observe: () => {}, render: (r) => `${(r as ReadonlyArray<unknown>).length} keys` }
      )
  }
}
