/**
 * A real backend under the simulator (issue 12): the promise faces of a Consensus and/or a Blob
 * that a delivered request is also executed against. sim/world only defines the shape; the
 * front door (sim/cli) opens PGlite, a server or a directory (stores/) and passes it down, so
 * the world never imports stores/ or an npm driver. stores/AsyncStores' `AsyncConsensus` and
 * `AsyncBlob` satisfy these interfaces as they are.
 *
 * The in-memory MemConsensus/MemBlob stay the checker's ground truth: every delivered request
 * runs on the backend first, then on the model, and the process is handed the backend's
 * answer. The two answers are compared at every step (`sameAnswer`); a difference is a
 * `BackendDiverged` violation, the differential check at the finest grain.
 */
import { Cause, Exit, Option } from "effect"
import type { BlobMetadata } from "../../core/Blob.ts"
import type { CaSResult, VersionedData } from "../../core/Consensus.ts"
import { Determinate, Indeterminate } from "../../core/Errors.ts"
import type { SeqNo } from "../../core/SeqNo.ts"

export interface BackendConsensus {
  head(key: string): Promise<VersionedData | undefined>
  compareAndSet(key: string, expected: SeqNo | null, next: VersionedData): Promise<CaSResult>
  scan(key: string, from: SeqNo, limit: number): Promise<ReadonlyArray<VersionedData>>
  truncate(key: string, seqno: SeqNo): Promise<number>
}

export interface BackendBlob {
  get(key: string): Promise<Uint8Array | undefined>
  set(key: string, value: Uint8Array): Promise<void>
  delete(key: string): Promise<number | undefined>
  list(prefix: string): Promise<ReadonlyArray<BlobMetadata>>
}

/** Either side may be absent: that store then stays the in-memory model alone. */
export interface Backend {
  readonly consensus?: BackendConsensus
  readonly blob?: BackendBlob
}

/** How a backend call ended, as plain data (built outside the traps, turned into an Exit inside). */
export type Settled = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown }

/** Awaits a backend call without ever rejecting. */
export const settle = (p: Promise<unknown>): Promise<Settled> =>
  p.then((value) => ({ ok: true, value }), (error: unknown) => ({ ok: false, error }))

/** The Exit a process is handed: a backend rejects only with Determinate/Indeterminate (CT-3); anything else is Indeterminate. */
export const exitOf = (s: Settled): Exit.Exit<unknown, unknown> => {
  if (s.ok) return Exit.succeed(s.value)
  const e = s.error
  if (e instanceof Determinate || e instanceof Indeterminate) return Exit.fail(e)
  return Exit.fail(new Indeterminate({ message: e instanceof Error ? e.message : String(e) }))
}

/** Structural equality of store answers: Options, byte arrays, arrays, plain records, primitives. */
export const sameValue = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
    return true
  }
  if (Option.isOption(a) || Option.isOption(b)) {
    if (!(Option.isOption(a) && Option.isOption(b))) return false
    return Option.isNone(a) ? Option.isNone(b) : Option.isSome(b) && sameValue(a.value, b.value)
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false
    return a.every((x, i) => sameValue(x, b[i]))
  }
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    if (ka.length !== kb.length) return false
    return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  }
  return false
}

const failureOf = (e: Exit.Exit<unknown, unknown>): unknown => (Exit.isFailure(e) ? Option.getOrUndefined(Cause.failureOption(e.cause)) : undefined)

/**
 * Whether the model and the backend answered alike: equal values, or failures of the same kind
 * (a contract violation on both sides counts as alike; the messages are each store's own).
 */
export const sameAnswer = (model: Exit.Exit<unknown, unknown>, backend: Exit.Exit<unknown, unknown>): boolean => {
  if (Exit.isSuccess(model) && Exit.isSuccess(backend)) return sameValue(model.value, backend.value)
  if (Exit.isSuccess(model) || Exit.isSuccess(backend)) return false
  const m = failureOf(model)
  const b = failureOf(backend)
  if (m instanceof Indeterminate && b instanceof Indeterminate) return (m.contractViolation === true) === (b.contractViolation === true)
  return m instanceof Determinate && b instanceof Determinate
}
