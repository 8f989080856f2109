import { describe, expect, it } from "vitest"
import { Antichain } from "../../core/Antichain.ts"
import { encodeStateDiff } from "../../core/Encoding.ts"
import { IdempotencyToken } from "../../core/Ids.ts"
import { SeqNo } from "../../core/SeqNo.ts"
import { fromDiff } from "../../core/StateDiff.ts"
import { batch, hollowPart, makeState, writerId, writerState } from "../../core/testing/Fixtures.ts"
import { Choices } from "../kernel/Choices.ts"
import { runWorld } from "../world/World.ts"
import { violationKind } from "./Violations.ts"
import { ProposalWatch } from "./Proposals.ts"

const tokenA = "i00000000-0000-4000-8000-00000000000a" as IdempotencyToken
const tokenB = "i00000000-0000-4000-8000-00000000000b" as IdempotencyToken

/** The CaS row a writer proposes: batch [0, 1) appended at v2 under `token`. */
const proposal = (token: IdempotencyToken, part = 1) => {
  const before = makeState({ seqno: 1, rollups: [1], walltimeMs: 1, writers: [[writerId(1), writerState(0, 1_000, IdempotencyToken.SENTINEL)]] })
  const after = makeState({
    seqno: 2,
    rollups: [1],
    walltimeMs: 2,
    writers: [[writerId(1), writerState(0, 1_000, token, Antichain.from(1))]],
    batches: [batch(0, 1, { parts: [hollowPart(1, part)] })]
  })
  return { seqno: SeqNo(2), data: encodeStateDiff(fromDiff(before, after)) }
}

describe("ProposalWatch", () => {
  it("onProposed - the same batch re-proposed under another token is a change; under the same token it is not", () => {
    const w = new ProposalWatch()
    expect(w.onProposed("p0", proposal(tokenA))).toBeUndefined()
    expect(w.onProposed("p0", proposal(tokenA))).toBeUndefined()
    expect(w.onProposed("p0", proposal(tokenB))).toMatchObject({ process: "p0", writerId: writerId(1), firstToken: tokenA, laterToken: tokenB, lower: "[0]", upper: "[1]" })
  })

  it("onProposed - another batch (fresh part keys) under a new token is the writer's next write, not a change", () => {
    const w = new ProposalWatch()
    expect(w.onProposed("p0", proposal(tokenA, 1))).toBeUndefined()
    expect(w.onProposed("p0", proposal(tokenB, 2))).toBeUndefined()
  })

  it("a world with caa-new-token-on-retry and debug assertions off: the checker reports AppendTokenChanged; the same seed without the bug does not", () => {
    const bug = runWorld(Choices.seeded(2), { steps: 1000, keepEvents: false, debugAssertions: false, bugs: { caaNewTokenOnRetry: true } })
    expect(bug.violations.map(violationKind)).toContain("ALG-CAA/AppendTokenChanged")
    const clean = runWorld(Choices.seeded(2), { steps: 1000, keepEvents: false, debugAssertions: false })
    expect(clean.violations.map(violationKind)).not.toContain("ALG-CAA/AppendTokenChanged")
  })
})
