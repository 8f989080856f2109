/**
 * Shrinking a failing run: delta debugging over its choice tape (and its step budget) while the
 * run still fails the same way. Draw 0 is the simplest outcome and a tape that runs out yields 0
 * forever (kernel/Choices.ts), so truncating the tape, zeroing or deleting chunks of it and
 * lowering draws all make a run simpler; we keep a change only if the run still fails with the
 * same failure key (a structured violation kind, never message text).
 *
 * Determinism: the passes are a fixed sequence and the oracle is a deterministic run, so the
 * same start gives the same minimal tape — as long as the search ends at a fixpoint or at the
 * attempt bound. A wall-clock budget also bounds it (so a slow machine does not hang); when
 * that is what stopped it, the result depends on machine speed, and `stoppedBy` says so.
 *
 * `shrinkCandidate` is generic over the oracle (unit-tested with synthetic ones); `worldOracle`
 * is the oracle for a simulated world.
 */
import { violationKind } from "../check/Violations.ts"
import { Choices } from "../kernel/Choices.ts"
import type { BugSwitchesShape } from "../../core/BugSwitches.ts"
import { type RunResult, runWorld } from "../world/World.ts"

/** A run to try: the tape (zeros past its end) and the main phase's step budget. */
export interface Candidate {
  readonly tape: ReadonlyArray<number>
  readonly steps: number
  /** False: stop after the main phase (the target violation happens there). */
  readonly liveness?: boolean
}

/** What one try of a candidate showed. */
export interface Verdict {
  /** Still fails with the target failure key. */
  readonly fails: boolean
  /** The step of the violation that carries the key (to cut the step budget to it). */
  readonly violationStep: number
  /** The draws the run consumed, normalised (values reduced modulo their bound). */
  readonly tape: ReadonlyArray<number>
  /** Trace events of the run: what a person has to read. */
  readonly events: number
}

export type Oracle = (c: Candidate) => Verdict

export interface ShrinkBounds {
  /** Stop after this many oracle calls (keeps the result deterministic). */
  readonly maxAttempts: number
  /** Stop after this much wall time, measured with `now` (ms). */
  readonly budgetMs: number
  readonly now: () => number
}

export interface ShrinkProgress {
  readonly attempts: number
  readonly accepted: number
  readonly tapeLength: number
  readonly nonZero: number
  readonly steps: number
  readonly events: number
  readonly pass: string
}

export type StoppedBy = "fixpoint" | "attempts" | "time"

export interface ShrinkResult {
  readonly candidate: Candidate
  readonly verdict: Verdict
  readonly attempts: number
  readonly accepted: number
  readonly stoppedBy: StoppedBy
}

/** The tape without trailing zeros (they are what a recorded tape yields past its end anyway). */
export const trimZeros = (tape: ReadonlyArray<number>): Array<number> => {
  let n = tape.length
  while (n > 0 && tape[n - 1] === 0) n--
  return tape.slice(0, n)
}

const nonZero = (tape: ReadonlyArray<number>): number => tape.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0)

class OutOfBudget extends Error {
  constructor(readonly why: "attempts" | "time") {
    super(why)
  }
}

/**
 * Minimises `start` (which must fail: `startVerdict.fails`) against `oracle`. Passes, repeated
 * until none helps: cut the step budget to the violation's step; binary-search the shortest
 * prefix of the tape; zero chunks (halving sizes); delete chunks (halving sizes); halve each
 * non-zero draw. A change is kept when the run still fails and has no more events.
 */
export const shrinkCandidate = (
  start: Candidate,
  startVerdict: Verdict,
  oracle: Oracle,
  bounds: ShrinkBounds,
  onProgress?: (p: ShrinkProgress) => void
): ShrinkResult => {
  if (!startVerdict.fails) throw new Error("shrinkCandidate: the starting candidate does not fail")
  const began = bounds.now()
  let attempts = 0
  let accepted = 0
  let cur: Candidate = { ...start, tape: trimZeros(startVerdict.tape) }
  let curV = startVerdict
  let pass = "start"
  const report = () =>
    onProgress?.({ attempts, accepted, tapeLength: cur.tape.length, nonZero: nonZero(cur.tape), steps: cur.steps, events: curV.events, pass })

  /** Tries `c`; keeps it (normalised) when it still fails without growing. */
  const tryCand = (c: Candidate): boolean => {
    if (attempts >= bounds.maxAttempts) throw new OutOfBudget("attempts")
    if (bounds.now() - began >= bounds.budgetMs) throw new OutOfBudget("time")
    attempts++
    const v = oracle(c)
    const ok = v.fails && v.events <= curV.events
    if (ok) {
      cur = { ...c, tape: trimZeros(v.tape) }
      curV = v
      accepted++
    }
    if (attempts % 5 === 0 || ok) report()
    return ok
  }

  const cutSteps = (): boolean => {
    pass = "steps"
    let any = false
    // A violation found by the checks at the start of the next tick (cached states) needs one
    // more step of budget than its own step, so try the step and the two after it.
    for (let more = true; more; ) {
      more = false
      for (const s of [curV.violationStep, curV.violationStep + 1, curV.violationStep + 2]) {
        if (s < 1 || s >= cur.steps) continue
        if (tryCand({ ...cur, steps: s })) {
          any = more = true
          break
        }
      }
    }
    return any
  }

  const truncate = (): boolean => {
    pass = "truncate"
    // The shortest prefix that still fails, by binary search (not monotone in general, but a
    // fixed probe sequence, so deterministic; later passes catch what it misses).
    let lo = 0
    let hi = cur.tape.length
    let any = false
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2)
      if (tryCand({ ...cur, tape: cur.tape.slice(0, mid) })) {
        any = true
        hi = Math.min(mid, cur.tape.length)
      } else lo = mid + 1
    }
    return any
  }

  const chunks = (kind: "zero" | "delete"): boolean => {
    pass = kind
    let any = false
    for (let size = Math.max(1, 2 ** Math.floor(Math.log2(Math.max(1, cur.tape.length / 2)))); size >= 1; size = Math.floor(size / 2)) {
      // Zeroing goes front to back: the earliest draws (the configuration, the first
      // schedule) shape the most of the run. Deleting goes back to front, so a deletion does
      // not shift the draws still to be tried.
      const starts: Array<number> = []
      if (kind === "zero") for (let i = 0; i < cur.tape.length; i += size) starts.push(i)
      else for (let i = Math.max(0, cur.tape.length - size); ; i -= size) {
        starts.push(Math.max(0, i))
        if (i <= 0) break
      }
      for (const i of starts) {
        const t = cur.tape
        if (i >= t.length) continue
        if (kind === "zero") {
          if (t.slice(i, i + size).every((v) => v === 0)) continue
          const next = t.slice()
          next.fill(0, i, i + size)
          if (tryCand({ ...cur, tape: next })) any = true
        } else if (tryCand({ ...cur, tape: [...t.slice(0, i), ...t.slice(i + size)] })) any = true
      }
    }
    return any
  }

  const halve = (): boolean => {
    pass = "lower"
    let any = false
    for (let i = cur.tape.length - 1; i >= 0; i--) {
      const v = cur.tape[i]
      if (v === undefined || v <= 1) continue
      const next = cur.tape.slice()
      next[i] = Math.floor(v / 2)
      if (tryCand({ ...cur, tape: next })) any = true
    }
    return any
  }

  let stoppedBy: StoppedBy = "fixpoint"
  try {
    report()
    for (;;) {
      let any = cutSteps()
      any = truncate() || any
      any = cutSteps() || any
      any = chunks("zero") || any
      any = cutSteps() || any
      any = chunks("delete") || any
      any = halve() || any
      if (!any) break
    }
  } catch (e) {
    if (!(e instanceof OutOfBudget)) throw e
    stoppedBy = e.why
  }
  pass = "done"
  report()
  return { candidate: cur, verdict: curV, attempts, accepted, stoppedBy }
}

// --- the oracle for a simulated world ------------------------------------------------------

/**
 * What "fails the same way" means: the kind (`INV-x/Tag`) of the first violation no known
 * finding explains; with a planted bug, of the first violation; in a run whose violations are
 * all explained, of the first violation *and* the same findings (so a shrunk RACE-P2 is still
 * a RACE-P2, not an unexplained look-alike).
 */
export const failureKey = (r: Pick<RunResult, "violations" | "unexplained" | "findings">, bugPlanted: boolean): { key: string; step: number } | null => {
  const first = r.violations[0]
  if (first === undefined) return null
  if (bugPlanted) return { key: `bug:${violationKind(first)}`, step: first.step }
  const u = r.unexplained[0]
  if (u !== undefined) return { key: `new:${violationKind(u)}`, step: u.step }
  return { key: `known:${[...r.findings].sort().join(",")}:${violationKind(first)}`, step: first.step }
}

export interface WorldTarget {
  readonly bugs: Partial<BugSwitchesShape>
  readonly bugPlanted: boolean
  readonly key: string
}

/** Runs a candidate world and says whether it fails with `target.key`. */
export const worldOracle =
  (target: WorldTarget): Oracle =>
  (c) => {
    const r = runWorld(Choices.recorded(c.tape), { steps: c.steps, bugs: target.bugs, keepEvents: true, ...(c.liveness === false ? { liveness: false } : {}) })
    const k = failureKey(r, target.bugPlanted)
    return { fails: k !== null && k.key === target.key, violationStep: k?.step ?? 0, tape: r.tape, events: r.events.length }
  }

/** Minimises a failing world run given as a tape and step budget. */
export const shrinkWorld = (
  start: Candidate,
  bugs: Partial<BugSwitchesShape>,
  bugPlanted: boolean,
  bounds: ShrinkBounds,
  onProgress?: (p: ShrinkProgress) => void
): (ShrinkResult & { readonly key: string; readonly original: Verdict }) | null => {
  const r = runWorld(Choices.recorded(start.tape), { steps: start.steps, bugs, keepEvents: true })
  const k = failureKey(r, bugPlanted)
  if (k === null) return null
  const oracle = worldOracle({ bugs, bugPlanted, key: k.key })
  const original: Verdict = { fails: true, violationStep: k.step, tape: r.tape, events: r.events.length }
  // A violation in the main phase needs no liveness phase: start from the run without it (the
  // janitor's steps are thousands of events that are not the story), if it still fails so.
  const withoutLiveness: Candidate = { ...start, liveness: false }
  const first = k.step <= r.mainSteps ? oracle(withoutLiveness) : undefined
  const [from, fromVerdict] = first !== undefined && first.fails ? [withoutLiveness, first] : [start, original]
  return { ...shrinkCandidate(from, fromVerdict, oracle, bounds, onProgress), key: k.key, original }
}
