/**
 * Test-only store wrappers: the in-memory Consensus and Blob, plus a script that makes the
 * next matching call fail (Determinate, Indeterminate before or after applying) or runs an
 * interleaving action just before it. Unit tests use these to drive a single branch; the
 * simulator (sim/) does the same thing generally.
 */
import { Effect, Either, Option } from "effect"
import type { BlobShape } from "../Blob.ts"
import { MemBlob } from "../Blob.ts"
import { type ConsensusShape, MemConsensus, runContract } from "../Consensus.ts"
import { Determinate, type ExternalError, Indeterminate } from "../Errors.ts"

export type StoreOp = "head" | "compareAndSet" | "scan" | "truncate" | "get" | "set" | "delete" | "list"
export type ScriptedFault = "Determinate" | "IndeterminateNotApplied" | "IndeterminateApplied"

interface Rule {
  readonly op: StoreOp
  readonly matches: (key: string) => boolean
  readonly fault?: ScriptedFault
  readonly before?: () => Effect.Effect<void>
  remaining: number
}

export class StoreScript {
  private rules: Array<Rule> = []
  /** Every call in order: `op key`. */
  readonly calls: Array<string> = []

  /** The next `times` calls of `op` (on keys containing `keyPart`) fail with `fault`. */
  failNext(op: StoreOp, fault: ScriptedFault, times = 1, keyPart = ""): this {
    this.rules.push({ op, fault, remaining: times, matches: (k) => k.includes(keyPart) })
    return this
  }
  /** Runs `action` just before the next call of `op` (on keys containing `keyPart`). */
  beforeNext(op: StoreOp, action: () => Effect.Effect<void>, keyPart = ""): this {
    this.rules.push({ op, before: action, remaining: 1, matches: (k) => k.includes(keyPart) })
    return this
  }

  /** @internal */
  wrap<A>(op: StoreOp, key: string, run: () => A): Effect.Effect<A, ExternalError> {
    return Effect.suspend(() => {
      this.calls.push(`${op} ${key}`)
      const rule = this.rules.find((r) => r.op === op && r.remaining > 0 && r.matches(key))
      if (rule !== undefined) rule.remaining--
      this.rules = this.rules.filter((r) => r.remaining > 0)
      const pre = rule?.before?.() ?? Effect.void
      return Effect.flatMap(pre, (): Effect.Effect<A, ExternalError> => {
        const fault = rule?.fault
        if (fault === "Determinate") return Effect.fail(new Determinate({ message: `scripted ${op}` }))
        if (fault === "IndeterminateNotApplied") return Effect.fail(new Indeterminate({ message: `scripted ${op}` }))
        const ran = runContract(run)
        if (Either.isLeft(ran)) return Effect.fail(ran.left)
        const result = ran.right
        if (fault === "IndeterminateApplied") return Effect.fail(new Indeterminate({ message: `scripted ${op} (applied)` }))
        return Effect.succeed(result)
      })
    })
  }
}

export const scriptedConsensus = (store: MemConsensus, script: StoreScript): ConsensusShape => ({
  head: (key) => script.wrap("head", key, () => Option.fromNullable(store.unsafeHead(key))),
  compareAndSet: (key, expected, next) => script.wrap("compareAndSet", key, () => store.unsafeCompareAndSet(key, expected, next)),
  scan: (key, from, limit) => script.wrap("scan", key, () => store.unsafeScan(key, from, limit)),
  truncate: (key, seqno) => script.wrap("truncate", key, () => store.unsafeTruncate(key, seqno))
})

export const scriptedBlob = (store: MemBlob, script: StoreScript): BlobShape => ({
  get: (key) => script.wrap("get", key, () => Option.fromNullable(store.unsafeGet(key))),
  set: (key, value) => script.wrap("set", key, () => store.unsafeSet(key, value)),
  delete: (key) => script.wrap("delete", key, () => Option.fromNullable(store.unsafeDelete(key))),
  listKeysAndMetadata: (prefix) => script.wrap("list", prefix, () => store.unsafeList(prefix))
})

export { MemBlob, MemConsensus }
