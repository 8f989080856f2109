/**
 * Simulated Consensus and Blob: each call parks its fiber in the kernel as a pending request,
 * with who sent it (the caller's Attribution, read from its fiber); the world later performs it
 * against the shared in-memory stores (the ground truth) with the fault it drew. Core sees only
 * the ordinary Consensus/Blob services.
 */
import { Effect, FiberRef, Option } from "effect"
import { type Attribution, CurrentAttribution } from "../../core/Attribution.ts"
import { COMPARE_AND_APPEND_CMD } from "../../core/Applier.ts"
import type { BlobShape, MemBlob } from "../../core/Blob.ts"
import type { CaSResult, ConsensusShape, MemConsensus, VersionedData } from "../../core/Consensus.ts"
import type { ExternalError } from "../../core/Errors.ts"
import type { Checker } from "../check/Checker.ts"
import type { RequestBy } from "../check/Violations.ts"
import type { Kernel } from "../kernel/Kernel.ts"
import type { Backend } from "./Backend.ts"

/** What the world needs to carry out a parked request. */
export interface StoreCall {
  /** Who sent it. */
  readonly by: Attribution
  /** Applies the operation; throws ConsensusContractError if the call breaks the contract. */
  readonly perform: () => unknown
  /**
   * The same operation on a real backend (Backend.ts), answering what `perform` returns
   * (Options where the model gives them); undefined when the backend lacks that store.
   */
  readonly real: (backend: Backend) => Promise<unknown> | undefined
  /** Whether applying it changes a store (so "Indeterminate, applied" differs from "not applied"). */
  readonly mutates: boolean
  /** After a successful perform: lets the checker see the change. */
  readonly observe: (result: unknown, by: RequestBy) => void
  /** A short rendering of the result for the trace. */
  readonly render: (result: unknown) => string
}

/** The parts of a world the simulated stores use. */
export interface SimStoreHost {
  readonly kernel: Kernel<StoreCall>
  readonly consensus: MemConsensus
  readonly blob: MemBlob
  readonly checker: Checker
}

const short = (key: string): string => {
  const i = key.indexOf("/")
  return i < 0 ? "s…" : `s…${key.slice(i)}`
}

const rows = (r: unknown): string => {
  const a = r as ReadonlyArray<VersionedData>
  return a.length === 0 ? "[]" : `[${a[0]!.seqno}..${a[a.length - 1]!.seqno}]`
}

const nothing = (): void => {}

/** Parks a request made by `process`, attributed to whatever its fiber is doing. */
const parker = (host: SimStoreHost, process: string) =>
  <A, E>(call: string, detail: string, rest: Omit<StoreCall, "by">): Effect.Effect<A, E> =>
    Effect.flatMap(FiberRef.get(CurrentAttribution), (by) => host.kernel.park<A, E>({ process, op: call, detail }, { by, ...rest }))

export const simConsensus = (host: SimStoreHost, process: string): ConsensusShape => {
  const store = host.consensus
  const park = parker(host, process)
  return {
    head: (key) =>
      park<Option.Option<VersionedData>, ExternalError>("consensus.head", "s…", {
        perform: () => Option.fromNullable(store.unsafeHead(key)),
        real: (b) => b.consensus?.head(key).then(Option.fromNullable),
        mutates: false,
        observe: nothing,
        render: (r) => Option.match(r as Option.Option<VersionedData>, { onNone: () => "None", onSome: (v) => `v${v.seqno}` })
      }),
    compareAndSet: (key, expected, next) =>
      Effect.zipRight(
        // The checker sees every append proposal, applied or not (check/Proposals.ts).
        Effect.flatMap(FiberRef.get(CurrentAttribution), (by) => Effect.sync(() => by.cmd === COMPARE_AND_APPEND_CMD && host.checker.onProposed(process, next))),
        park<CaSResult, ExternalError>("consensus.cas", `s…/${expected === null ? "None" : `v${expected}`}→v${next.seqno}`, {
        perform: () => store.unsafeCompareAndSet(key, expected, next),
        real: (b) => b.consensus?.compareAndSet(key, expected, next),
        mutates: true,
        observe: (r, by) => r === "Committed" && host.checker.onCommit(next, by),
        render: (r) => String(r)
      })
      ),
    scan: (key, from, limit) =>
      park("consensus.scan", `s…/v${from}+${limit >= Number.MAX_SAFE_INTEGER ? "ALL" : limit}`, {
        perform: () => store.unsafeScan(key, from, limit),
        real: (b) => b.consensus?.scan(key, from, limit),
        mutates: false,
        observe: (_, by) => host.checker.onScanned(by),
        render: rows
      }),
    truncate: (key, seqno) =>
      park("consensus.truncate", `s…/<v${seqno}`, {
        perform: () => store.unsafeTruncate(key, seqno),
        real: (b) => b.consensus?.truncate(key, seqno),
        mutates: true,
        observe: (_, by) => host.checker.onTruncate(by),
        render: (r) => `deleted ${String(r)}`
      })
  }
}

export const simBlob = (host: SimStoreHost, process: string): BlobShape => {
  const store = host.blob
  const park = parker(host, process)
  return {
    get: (key) =>
      park("blob.get", short(key), {
        perform: () => Option.fromNullable(store.unsafeGet(key)),
        real: (b) => b.blob?.get(key).then(Option.fromNullable),
        mutates: false,
        observe: nothing,
        render: (r) => Option.match(r as Option.Option<Uint8Array>, { onNone: () => "None", onSome: (b) => `${b.byteLength}B` })
      }),
    set: (key, value) =>
      park("blob.set", short(key), {
        perform: () => store.unsafeSet(key, value),
        real: (b) => b.blob?.set(key, value),
        mutates: true,
        observe: (_, by) => host.checker.onBlobSet(key, by),
        render: () => "ok"
      }),
    delete: (key) =>
      park("blob.delete", short(key), {
        perform: () => Option.fromNullable(store.unsafeDelete(key)),
        real: (b) => b.blob?.delete(key).then(Option.fromNullable),
        mutates: true,
        observe: (_, by) => host.checker.onBlobDelete(key, by),
        render: (r) => Option.match(r as Option.Option<number>, { onNone: () => "None", onSome: (n) => `${n}B` })
      }),
    listKeysAndMetadata: (prefix) =>
      park("blob.list", short(prefix), {
        perform: () => store.unsafeList(prefix),
        real: (b) => b.blob?.list(prefix),
        mutates: false,
        observe: nothing,
        render: (r) => `${(r as ReadonlyArray<unknown>).length} keys`
      })
  }
}
