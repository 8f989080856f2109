/**
 * What processes *propose*, judged before any fault decides whether it applies (issue 14, the
 * checker's own view of ALG-CAA). The committed history alone cannot show that a writer retried
 * its batch under a fresh idempotency token: the retry either commits (and the history looks
 * fine) or finds the shard already past its batch and core panics "cannot distinguish" — a
 * panic that is by design for a genuinely ambiguous history (RACE-14), so the panic is no
 * verdict. The proposals make it one: every compare_and_append CaS request is decoded by the
 * checker's own Schema decode and each batch remembers the token it was first proposed under.
 */
import { Either } from "effect"
import { Antichain } from "../../core/Antichain.ts"
import type { VersionedData } from "../../core/Consensus.ts"
import type { HollowBatch } from "../../core/State.ts"
import { oracleDecodeDiff } from "./Replay.ts"
import type { AppendTokenChanged } from "./Violations.ts"

const batchKey = (b: HollowBatch): string => JSON.stringify([b.desc.lower, b.desc.upper, b.parts.map((p) => (p._tag === "Hollow" ? p.key : p.updates))])

export type TokenChange = Omit<typeof AppendTokenChanged.Type, "_tag" | "invariant" | "step" | "t">

export class ProposalWatch {
  /** Batch -> the writer and token it was first proposed under. Batches carry fresh part keys, so a batch is never legitimately re-proposed by another call. */
  private readonly firstToken = new Map<string, { readonly writerId: string; readonly token: string }>()

  /**
   * A compare_and_append CaS request of `process` proposing `next`: returns the token change it
   * shows, if any. Diffs that do not decode are the commit check's business (INV-8).
   */
  onProposed(process: string, next: VersionedData): TokenChange | undefined {
    const decoded = oracleDecodeDiff(next.data)
    if (Either.isLeft(decoded)) return undefined
    const diff = decoded.right
    const inserted = diff.spine.filter((d) => d.val._tag === "Insert").map((d) => d.key)
    if (inserted.length === 0) return undefined
    let change: TokenChange | undefined
    for (const w of diff.writers) {
      if (w.val._tag === "Delete") continue
      const writerId = String(w.key)
      const token = w.val.to.mostRecentWriteToken
      for (const b of inserted) {
        // The batch this writer appended is the one whose upper its write recorded.
        if (!Antichain.equals(b.desc.upper, w.val.to.mostRecentWriteUpper)) continue
        const k = batchKey(b)
        const first = this.firstToken.get(k)
        if (first === undefined) this.firstToken.set(k, { writerId, token })
        else if (first.writerId === writerId && first.token !== token && change === undefined) {
          change = { process, writerId, lower: Antichain.render(b.desc.lower), upper: Antichain.render(b.desc.upper), firstToken: first.token, laterToken: token }
        }
      }
    }
    return change
  }
}
