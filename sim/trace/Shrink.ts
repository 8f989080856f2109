/**
 * Shrinking a failing run: delta debugging over its choice tape (and its step budget) while the
 * run still fails the same way. Draw 0 is the simplest outcome and a tape that runs out yields 0
 * forever (kernel/Choices.ts), so truncating the tape, zeroing or deleting chunks of it and
 * lowering draws all make a run simpler; we keep a change only if the run still fails with the
 * same failure key (a structured violation kind, never message text) and is *smaller*.
 *
 * Smaller means, in order: fewer trace events up to the violation (the story a person reads),
 * fewer events in all, fewer non-zero draws, a shorter tape, a smaller step budget, no liveness
 * phase, then the tape's values in order. Every kept change makes that strictly smaller, so the
 * search ends; the story comes first because the events a person reads are what we minimise,
 * and a schedule that reaches the violation sooner is only seen as shorter through it (with a
 * fixed step budget the event count barely moves until the budget is cut to the violation).
 *
 * Passes, biggest cuts first (each round repeats them until none helps):
 *  1. the step budget cut to the violation's step, and the liveness phase dropped when the
 *     violation is in the main phase (both also after every kept change); else (a violation in
 *     the liveness phase) the smallest main-phase step budget that still fails;
 *  2. the configuration: every other value of each `config.*` draw (fewer processes — with the
 *     dropped process's role draw deleted so the rest stays aligned —, fewer operations, other
 *     rollup/GC knobs: a smaller world before a smaller tape) and the seed's `randomSeed`;
 *  3. each process, then each of its tasks, delivered last (`starve`): the story without it;
 *  4. the shortest failing prefix of the tape;
 *  5. whole steps deleted: runs of the draws between one `deliver` draw and the next, halving;
 *  6. chunks zeroed (halving sizes);
 *  7. each draw on its own, back to front: every other value when its bound is small (which
 *     request to deliver, which action a process takes — a pause is a *higher* draw yet fewer
 *     events), else 0 and then halved.
 * A world oracle gives each draw's label and bound; without them (synthetic oracles in tests)
 * pass 2 and 3 do nothing, pass 5 falls back to plain chunks and pass 7 to halving.
 *
 * Determinism: the passes are a fixed sequence and the oracle is a deterministic run, so the
 * same start gives the same minimal tape — as long as the search ends at a fixpoint or at the
 * attempt bound. A wall-clock budget also bounds it (so a slow machine does not hang); when
 * that is what stopped it, the result depends on machine speed, and `stoppedBy` says so.
 *
 * `shrinkCandidate` is generic over the oracle (unit-tested with synthetic ones); `worldOracle`
 * is the oracle for a simulated world.
 */
import { type Violation, violationKind } from "../check/Violations.ts"
import { Choices } from "../kernel/Choices.ts"
import type { BugSwitchesShape } from "../../core/BugSwitches.ts"
import { type RunResult, World } from "../world/World.ts"
import { phasesOf } from "./Run.ts"

/** A run to try: the tape (zeros past its end) and the main phase's step budget. */
export interface Candidate {
  readonly tape: ReadonlyArray<number>
  readonly steps: number
  /** False: stop after the main phase (the target violation happens there). */
  readonly liveness?: boolean
  /**
   * The liveness phase's steps (RunOptions.livenessSteps): set only by the last pass, for a
   * violation in the liveness phase, to end the run at the violation.
   */
  readonly livenessSteps?: number
  /**
   * Only while trying: replay `tape` by label, not by position — the k-th draw labelled L takes
   * the k-th value the tape has under L in `keyed.labels` (0 when there is none) — so a change
   * to who runs when leaves each kind of decision (a writer's actions, the faults in order) as
   * it was instead of handing every later value to another draw. With `starve`, deliver this
   * process's (`p1`) or task's (`p1/rollup`) requests only when nothing else can go. A kept
   * candidate is the tape of the values actually drawn, replayed by position (`worldOracle`).
   */
  readonly keyed?: {
    readonly labels: ReadonlyArray<string>
    /** Each draw's stream (Verdict.streams): with them a draw is keyed by stream and label, so each process keeps its own decisions and faults. */
    readonly streams?: ReadonlyArray<string>
    readonly deliveries?: ReadonlyArray<string>
    readonly starve?: string
  }
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
  /** Trace events up to and including the violation's step (default: `events`). */
  readonly story?: number
  /** The violation happened in the main phase (so the liveness phase is not needed). */
  readonly inMain?: boolean
  /** Steps the main phase took (a liveness-phase violation's step is counted from there). */
  readonly mainSteps?: number
  /** Each consumed draw's label and bound, in tape order (a world oracle knows them). */
  readonly labels?: ReadonlyArray<string>
  readonly bounds?: ReadonlyArray<number>
  /** Processes and process/task pairs that sent requests, for the `starve` pass. */
  readonly senders?: ReadonlyArray<string>
  /** The request each `deliver` draw picked (`process/task/op`), in order (a keyed replay follows them). */
  readonly deliveries?: ReadonlyArray<string>
  /** Each consumed draw's stream (`streamOf` the world's drawer): "p1", …, or "world". */
  readonly streams?: ReadonlyArray<string>
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

/** Negative when (a, av) is smaller than (b, bv) in the order the module comment gives. */
const compare = (a: Candidate, av: Verdict, b: Candidate, bv: Verdict): number => {
  const ka = [av.story ?? av.events, av.events, nonZero(a.tape), a.tape.length, a.steps, a.liveness === false ? 0 : 1]
  const kb = [bv.story ?? bv.events, bv.events, nonZero(b.tape), b.tape.length, b.steps, b.liveness === false ? 0 : 1]
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!
  for (let i = 0; i < a.tape.length; i++) if (a.tape[i] !== b.tape[i]) return a.tape[i]! - b.tape[i]!
  return 0
}

class OutOfBudget extends Error {
  constructor(readonly why: "attempts" | "time") {
    super(why)
  }
}

/** The processes every world has (a writer and a reader, SwarmConfig); extra ones come after. */
const BASE_PROCESSES = 2

/** Draws with at most this many values are tried at every value; larger ones are halved. */
const SMALL_BOUND = 8

/**
 * Minimises `start` (which must fail: `startVerdict.fails`) against `oracle` with the passes
 * of the module comment, repeated until none helps or a bound stops it.
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
  // A cap on the liveness phase is the last pass's to set (a shorter main phase moves the violation).
  let cur: Candidate = { tape: trimZeros(startVerdict.tape), steps: start.steps, ...(start.liveness === false ? { liveness: false } : {}) }
  let curV = startVerdict
  let pass = "start"
  const report = () =>
    onProgress?.({ attempts, accepted, tapeLength: cur.tape.length, nonZero: nonZero(cur.tape), steps: cur.steps, events: curV.events, pass })

  /** Runs `c`; its normalised form and verdict, or null when it does not fail. */
  const run = (c: Candidate): { c: Candidate; v: Verdict } | null => {
    if (attempts >= bounds.maxAttempts) throw new OutOfBudget("attempts")
    if (bounds.now() - began >= bounds.budgetMs) throw new OutOfBudget("time")
    attempts++
    const v = oracle(c)
    if (attempts % 5 === 0) report()
    return v.fails ? { c: { tape: trimZeros(v.tape), steps: c.steps, ...(c.liveness === false ? { liveness: false } : {}) }, v } : null
  }

  const keep = (next: { c: Candidate; v: Verdict }): void => {
    cur = next.c
    curV = next.v
    accepted++
    report()
    tighten()
  }

  /** Tries `c`; keeps it when it still fails and is smaller. */
  const tryCand = (c: Candidate): boolean => {
    const r = run(c)
    if (r === null || compare(r.c, r.v, cur, curV) >= 0) return false
    keep(r)
    return true
  }

  /** Tries every candidate and keeps the smallest that fails and beats the current one. */
  const tryBest = (cs: ReadonlyArray<Candidate>): boolean => {
    let best: { c: Candidate; v: Verdict } | null = null
    for (const c of cs) {
      const r = run(c)
      if (r !== null && compare(r.c, r.v, best?.c ?? cur, best?.v ?? curV) < 0) best = r
    }
    if (best === null) return false
    keep(best)
    return true
  }

  /**
   * After a kept change: no liveness phase when the violation is in the main phase, and the
   * step budget cut to the violation's step. A violation found by the checks at the start of
   * the next tick (cached states) needs one more step of budget than its own step, so the
   * step and the two after it are tried.
   */
  let tightening = false
  const tighten = (): void => {
    if (tightening) return
    tightening = true
    try {
      if (curV.inMain === true && cur.liveness !== false) tryCand({ ...cur, liveness: false })
      if (curV.inMain !== false) {
        for (const s of [curV.violationStep, curV.violationStep + 1, curV.violationStep + 2]) {
          if (s >= 1 && s < cur.steps && tryCand({ ...cur, steps: s })) break
        }
      }
    } finally {
      tightening = false
    }
  }

  /**
   * The smallest step budget that still fails, by binary search. For a violation in the main
   * phase `tighten` already cut it; this is for one in the liveness phase, which may still
   * happen when the main phase is cut short (the janitor starts from an earlier state).
   */
  const cutSteps = (): boolean => {
    pass = "steps"
    let lo = 1
    let hi = cur.steps
    let any = false
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2)
      if (tryCand({ ...cur, steps: mid })) {
        any = true
        hi = Math.min(mid, cur.steps)
      } else lo = mid + 1
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

  const labelAt = (i: number): string => curV.labels?.[i] ?? ""
  const boundAt = (i: number): number | undefined => curV.bounds?.[i]
  const withValue = (i: number, v: number): Candidate => {
    const next = cur.tape.slice()
    while (next.length <= i) next.push(0)
    next[i] = v
    return { ...cur, tape: next }
  }
  /** Other values worth trying at draw i: all of a small bound's, else 0 and half. */
  const alternatives = (i: number): Array<number> => {
    const v = cur.tape[i] ?? 0
    const b = boundAt(i)
    if (b !== undefined && b <= SMALL_BOUND) return Array.from({ length: b }, (_x, w) => w).filter((w) => w !== v)
    if (labelAt(i) === "randomSeed") {
      // Its top bits choose debug assertions and targeted faults (SwarmConfig): keep those first.
      return [...new Set([0, ((v >>> 29) << 29) >>> 0, ((v >>> 31) << 31) >>> 0, Math.floor(v / 2)])].filter((w) => w < v)
    }
    return v === 0 ? [] : v === 1 ? [0] : [0, Math.floor(v / 2)]
  }

  const config = (): boolean => {
    pass = "config"
    let any = false
    for (let i = 0; i < cur.tape.length; i++) {
      const label = labelAt(i)
      if (!label.startsWith("config.") && label !== "randomSeed") continue
      if (label === "config.role") continue
      const v = cur.tape[i] ?? 0
      const cs: Array<Candidate> = []
      if (label === "config.extraProcesses" && v > 0) {
        // One process fewer: each of the extra processes dropped in turn (its role draw goes
        // with it, so the draws after it stay aligned); then none of them.
        for (let k = 0; k < v; k++) {
          const t = cur.tape.slice()
          t[i] = v - 1
          t.splice(i + 1 + k, 1)
          cs.push({ ...cur, tape: t })
        }
        if (v > 1) cs.push({ ...cur, tape: [...cur.tape.slice(0, i), 0, ...cur.tape.slice(i + 1 + v)] })
        // The same, replayed by stream and label: the remaining processes keep their own
        // decisions (the processes after the dropped one are renamed one down, as the world will).
        const labels = curV.labels
        if (labels !== undefined) {
          for (let k = 0; k < v; k++) {
            const t = curV.tape.slice()
            const l = labels.slice()
            t[i] = v - 1
            t.splice(i + 1 + k, 1)
            l.splice(i + 1 + k, 1)
            const dropped = BASE_PROCESSES + k
            const streams = curV.streams?.slice()
            streams?.splice(i + 1 + k, 1)
            const renamed = streams?.map((s) => {
              const m = /^p([0-9]+)$/.exec(s)
              return m !== null && Number(m[1]) > dropped ? `p${Number(m[1]) - 1}` : s
            })
            cs.push({ ...cur, tape: t, keyed: { labels: l, ...(renamed !== undefined ? { streams: renamed } : {}) } })
          }
        }
      } else for (const w of alternatives(i)) cs.push(withValue(i, w))
      if (tryBest(cs)) any = true
    }
    return any
  }

  /** The indices where steps begin (each `deliver` draw), or null without labels. */
  const stepStarts = (): Array<number> | null => {
    if (curV.labels === undefined) return null
    const s: Array<number> = []
    for (let i = 0; i < cur.tape.length; i++) if (curV.labels[i] === "deliver") s.push(i)
    return s
  }

  const deleteSteps = (): boolean => {
    pass = "delete steps"
    let any = false
    const first = stepStarts()
    if (first === null) return chunks("delete")
    for (let size = Math.max(1, 2 ** Math.floor(Math.log2(Math.max(1, first.length / 2)))); size >= 1; size = Math.floor(size / 2)) {
      // Back to front, so a deletion does not move the steps still to be tried.
      for (let j = (stepStarts() ?? []).length - size; j >= 0; j -= size) {
        const starts = stepStarts() ?? []
        if (j + size > starts.length) continue
        const from = starts[j]!
        const to = j + size < starts.length ? starts[j + size]! : cur.tape.length
        if (tryCand({ ...cur, tape: [...cur.tape.slice(0, from), ...cur.tape.slice(to)] })) any = true
      }
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

  /**
   * One sender at a time (a process, then a process's task) put last in the delivery order:
   * its requests wait while anything else can go. Under the plain schedule (draw 0: the oldest
   * request) every process advances in turn, so a process the failure does not need still
   * fills the story; postponing it one `deliver` draw at a time never gets it past the
   * violation, postponing all of them at once may.
   */
  const starve = (): boolean => {
    pass = "starve"
    let any = false
    for (const who of curV.senders ?? []) {
      if (!(curV.senders ?? []).includes(who)) continue
      const c = keyedFrom(curV.tape, who)
      if (c === null) return any
      if (tryCand(c)) any = true
    }
    return any
  }

  /**
   * The run's tape replayed by stream and label (`Candidate.keyed`), with `tape` in place of the
   * consumed draws: a change to one process's decision leaves every other process's, and the
   * faults each one meets, as they were. Null without labels (synthetic oracles).
   */
  const keyedFrom = (tape: ReadonlyArray<number>, starve?: string): Candidate | null =>
    curV.labels === undefined
      ? null
      : {
          ...cur,
          tape,
          keyed: {
            labels: curV.labels,
            ...(curV.streams !== undefined ? { streams: curV.streams } : {}),
            ...(curV.deliveries !== undefined ? { deliveries: curV.deliveries } : {}),
            ...(starve !== undefined ? { starve } : {})
          }
        }

  /**
   * Each process in turn does nothing (pauses) from its j-th action on, for the smallest j that
   * still fails (binary search, replayed by stream): the actions a failure does not need leave
   * the story without moving any other process's decisions.
   */
  const quiet = (): boolean => {
    pass = "quiet"
    let any = false
    const procs = [...new Set(curV.streams ?? [])].filter((s) => s !== "world").sort().reverse()
    for (const p of procs) {
      const actions = (): Array<number> => {
        const out: Array<number> = []
        curV.streams?.forEach((s, i) => {
          if (s === p && (curV.labels?.[i] ?? "").endsWith(".action") && (curV.tape[i] ?? 0) !== (curV.bounds?.[i] ?? 1) - 1) out.push(i)
        })
        return out
      }
      const paused = (from: number): Candidate | null => {
        const t = curV.tape.slice()
        const idx = actions()
        for (const i of idx.slice(from)) t[i] = (curV.bounds?.[i] ?? 1) - 1
        return keyedFrom(t)
      }
      let lo = 0
      let hi = actions().length
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2)
        const c = paused(mid)
        if (c !== null && tryCand(c)) {
          any = true
          hi = Math.min(mid, actions().length)
          lo = Math.min(lo, hi)
        } else lo = mid + 1
      }
    }
    return any
  }

  const values = (): boolean => {
    pass = "values"
    let any = false
    // The consumed draws (zeros included): a zero draw may also be worth another value.
    // By position first; then a process's decision or a fault with the rest replayed by stream
    // (`keyedFrom`), so the other processes' decisions stay theirs (a delivery or the
    // configuration only by position).
    for (let i = Math.max(cur.tape.length, curV.tape.length) - 1; i >= 0; i--) {
      if (i >= curV.tape.length) continue
      const label = labelAt(i)
      const byStream = curV.streams !== undefined && label !== "deliver" && !label.startsWith("config.") && label !== "randomSeed"
      let done = false
      for (const w of alternatives(i)) {
        if (tryCand(withValue(i, w))) {
          any = true
          done = true
          break
        }
      }
      if (done || !byStream) continue
      for (const w of alternatives(i)) {
        const t = curV.tape.slice()
        t[i] = w
        const c = keyedFrom(t)
        if (c !== null && tryCand(c)) {
          any = true
          break
        }
      }
    }
    return any
  }

  /**
   * Last (and whatever stopped the search: it is at most three runs): a violation in the liveness
   * phase ends the run — the janitor's clean-up after it is not the story. The violation's step
   * within the phase, or one or two more when it is only seen after the next delivery.
   */
  const capLiveness = (): void => {
    if (curV.inMain !== false || cur.liveness === false || curV.mainSteps === undefined) return
    pass = "cut liveness"
    for (const k of [0, 1, 2]) {
      const cap = curV.violationStep - curV.mainSteps + k
      if (cap < 0) continue
      const c: Candidate = { tape: cur.tape, steps: cur.steps, livenessSteps: cap }
      attempts++
      const v = oracle(c)
      if (v.fails && compare({ ...c, tape: trimZeros(v.tape) }, v, cur, curV) < 0) {
        cur = { ...c, tape: trimZeros(v.tape) }
        curV = v
        accepted++
        return
      }
    }
  }

  let stoppedBy: StoppedBy = "fixpoint"
  try {
    report()
    tighten()
    for (;;) {
      // The step budget again after every pass (a few runs when nothing changed): for a
      // violation in the liveness phase it is the cheapest cut there is.
      let any = false
      for (const p of [config, starve, quiet, truncate, deleteSteps, () => chunks("zero"), values]) {
        any = cutSteps() || any
        any = p() || any
      }
      if (!any) break
    }
  } catch (e) {
    if (!(e instanceof OutOfBudget)) throw e
    stoppedBy = e.why
  }
  capLiveness()
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
  if (bugPlanted) return { key: `bug:${kindOf(first)}`, step: first.step }
  const u = r.unexplained[0]
  if (u !== undefined) return { key: `new:${kindOf(u)}`, step: u.step }
  return { key: `known:${[...r.findings].sort().join(",")}:${kindOf(first)}`, step: first.step }
}

/**
 * A violation's kind, and for a panic its assertion's site when core names one (a structured
 * field): PANIC/Panic alone would let a shrink trade one assertion for another. Most panics
 * name no site, and their message text is never matched, so for those "a panic" is the kind.
 */
const kindOf = (v: Violation): string => (v._tag === "Panic" && v.site !== "" ? `${violationKind(v)}@${v.site}` : violationKind(v))

export interface WorldTarget {
  readonly bugs: Partial<BugSwitchesShape>
  readonly bugPlanted: boolean
  readonly key: string
}

/** Trace events recorded at or before `step`. */
const eventsThrough = (events: RunResult["events"], step: number): number => {
  let n = 0
  while (n < events.length && events[n]!.step <= step) n++
  return n
}

/** The verdict of a finished world run against `target`. */
export const verdictOf = (
  r: RunResult,
  target: WorldTarget,
  labels?: ReadonlyArray<string>,
  bounds?: ReadonlyArray<number>,
  deliveries?: ReadonlyArray<string>
): Verdict => {
  const k = failureKey(r, target.bugPlanted)
  const fails = k !== null && k.key === target.key
  const step = k?.step ?? 0
  return {
    fails,
    violationStep: step,
    tape: r.tape,
    events: r.events.length,
    story: fails ? eventsThrough(r.events, step) : r.events.length,
    inMain: step <= r.mainSteps,
    mainSteps: r.mainSteps,
    ...(labels !== undefined ? { labels } : {}),
    ...(bounds !== undefined ? { bounds } : {}),
    senders: sendersOf(r.events),
    ...(deliveries !== undefined ? { deliveries } : {})
  }
}

/** Processes, then process/task pairs, that sent requests: the candidates of the `starve` pass. */
const sendersOf = (events: RunResult["events"]): Array<string> => {
  const procs = new Set<string>()
  const tasks = new Set<string>()
  for (const e of events) {
    if (!/^p[0-9]/.test(e.p) || !e.call.includes(".") || e.call.startsWith("process.")) continue
    procs.add(e.p)
    if (e.task !== "") tasks.add(`${e.p}/${e.task}`)
  }
  // Later processes first (the extra ones), then their tasks.
  return [...[...procs].sort().reverse(), ...[...tasks].sort().reverse()]
}

type Pending = { readonly process: string; readonly op: string; readonly complete: { readonly by: { readonly task: string } } }
const requestId = (r: Pending): string => `${r.process}/${r.complete.by.task}/${r.op}`

/** A draw's stream: the process it is for (a restarted `p1.2` goes on with `p1`'s), or "world". */
export const streamOf = (drawer: string): string => drawer.replace(/\.[0-9]+$/, "")

/**
 * The Choices of an oracle run. It records each draw's stream (WorldHost.drawer) and which
 * request each `deliver` draw picked. A plain candidate replays its tape by position; a `keyed`
 * one by stream and label (see `Candidate.keyed`), and its `deliver` draws follow the recorded
 * picks — the same process, task and call, whatever its index now — skipping the starved
 * sender's, which go only when nothing else can.
 */
const oracleChoices = (c: Candidate, world: () => World | undefined, deliveries: Array<string>, streams: Array<string>): Choices => {
  const keyed = c.keyed
  const keyOf = (stream: string, label: string) => (keyed?.streams !== undefined ? `${stream}|${label}` : label)
  const queues = new Map<string, Array<number>>()
  keyed?.labels.forEach((l, i) => {
    const k = keyOf(keyed.streams?.[i] ?? "world", l)
    const q = queues.get(k)
    if (q === undefined) queues.set(k, [c.tape[i] ?? 0])
    else q.push(c.tape[i] ?? 0)
  })
  const taken = new Map<string, number>()
  const starve = keyed?.starve
  const starved = (r: Pending) => r.process === starve || streamOf(r.process) === starve || `${r.process}/${r.complete.by.task}` === starve
  const picks = (keyed?.deliveries ?? []).filter((d) => starve === undefined || !(d.startsWith(`${starve}/`)))
  let nextPick = 0
  let position = 0
  return Choices.fromSource(
    (bound, label) => {
      const w = world()
      const stream = streamOf(w?.drawer ?? "world")
      streams.push(stream)
      let v: number
      if (keyed === undefined) v = (c.tape[position] ?? 0) % bound
      else {
        const key = keyOf(stream, label)
        const k = taken.get(key) ?? 0
        taken.set(key, k + 1)
        v = (queues.get(key)?.[k] ?? 0) % bound
      }
      position++
      if (label !== "deliver") return v
      const all = w?.kernel.pending
      const pending = all === undefined || w === undefined || w.deliverable.length !== bound ? undefined : w.deliverable.map((i) => all[i]!)
      if (pending === undefined) {
        deliveries.push("?")
        return v
      }
      if (keyed !== undefined && keyed.deliveries !== undefined) {
        // The next recorded pick still pending, else the oldest request not starved.
        let found = -1
        while (found < 0 && nextPick < picks.length) {
          const want = picks[nextPick]!
          found = pending.findIndex((r) => !starved(r) && requestId(r) === want)
          if (found >= 0) nextPick++
          else break
        }
        if (found < 0) found = pending.findIndex((r) => !starved(r))
        if (found >= 0) v = found
      } else if (starve !== undefined && starved(pending[v]!)) {
        const other = pending.findIndex((r) => !starved(r))
        if (other >= 0) v = other
      }
      deliveries.push(requestId(pending[v]!))
      return v
    },
    { labels: true }
  )
}

/** Runs a candidate world and says whether it fails with `target.key`. */
export const worldOracle =
  (target: WorldTarget): Oracle =>
  (c) => {
    let world: World | undefined
    const deliveries: Array<string> = []
    const streams: Array<string> = []
    const choices = oracleChoices(c, () => world, deliveries, streams)
    world = new World(choices, { steps: c.steps, bugs: target.bugs, keepEvents: true, ...phasesOf(c) })
    const r = world.run()
    return { ...verdictOf(r, target, choices.labels, choices.bounds, deliveries), streams }
  }

/**
 * Minimises a failing world run given as a tape and step budget. `key`, when given, is the
 * failure to keep (e.g. the kind a planted bug adds); by default the run's own failure key.
 */
export const shrinkWorld = (
  start: Candidate,
  bugs: Partial<BugSwitchesShape>,
  bugPlanted: boolean,
  bounds: ShrinkBounds,
  onProgress?: (p: ShrinkProgress) => void
): (ShrinkResult & { readonly key: string; readonly original: Verdict }) | null => {
  let world: World | undefined
  const deliveries: Array<string> = []
  const streams: Array<string> = []
  // Without a cap on the liveness phase: the search starts from the whole run (see capLiveness).
  const whole: Candidate = { tape: start.tape, steps: start.steps, ...(start.liveness === false ? { liveness: false } : {}) }
  const choices = oracleChoices(whole, () => world, deliveries, streams)
  world = new World(choices, { steps: whole.steps, bugs, keepEvents: true, ...phasesOf(whole) })
  const r = world.run()
  const k = failureKey(r, bugPlanted)
  if (k === null) return null
  const oracle = worldOracle({ bugs, bugPlanted, key: k.key })
  const original = { ...verdictOf(r, { bugs, bugPlanted, key: k.key }, choices.labels, choices.bounds, deliveries), streams }
  // The first kept changes (shrinkCandidate's `tighten`) drop the liveness phase when the
  // violation is in the main phase (the janitor's steps are not the story) and cut the step
  // budget to the violation.
  return { ...shrinkCandidate(whole, original, oracle, bounds, onProgress), key: k.key, original }
}
