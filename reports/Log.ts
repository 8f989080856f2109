/**
 * The short log: one line per trace event in persist's terms, ids shortened, and after every
 * commit the state it produced (seqno, earliest live diff, seqno_since, rollups, readers and
 * writers). Violations are printed at the step they were found.
 */
import { renderViolation, type Violation } from "../sim/check/Violations.ts"
import type { StateSummary } from "../sim/trace/Probe.ts"
import type { TraceEvent } from "../sim/trace/Trace.ts"

const UUID = /([a-z]?)([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g
const SHARD = /s00000000-0000-4000-8000-000000000001\/?/g

/** Shortens every UUID to its prefix letter and first 6 hex digits, the same way everywhere. */
export const shortIds = (text: string): string => text.replace(SHARD, "").replace(UUID, (_m, p: string, h: string) => `${p}${h.slice(0, 6)}`)

/** `s…/v8→v9` → `v8→v9` (and a bare `s…`, consensus.head's, → nothing): the shard is always the same one. */
const shortArg = (arg: string): string => shortIds(arg.replace(/^s…(\/|$)/, ""))

export const committedSeqno = (e: TraceEvent): number | null => {
  if (e.call !== "consensus.cas" || e.fault === "response" || !e.result.includes("Committed")) return null
  const m = /→v(\d+)/.exec(e.arg)
  return m === null ? null : Number(m[1])
}

export const who = (e: TraceEvent): string => (e.p === "-" ? "world" : e.task !== "" ? `${e.p}/${e.task}` : e.p)

export const what = (e: TraceEvent): string => {
  const base = e.cmd !== "" ? `${e.cmd}${e.cmdAttempt > 1 ? `#${e.cmdAttempt}` : ""}` : e.op !== "" ? e.op : ""
  return `${base}${e.site !== "" && e.attempt > 1 ? ` (${e.site} try ${e.attempt})` : ""}`
}

export const eventLine = (e: TraceEvent): string => {
  const t = `t=${(e.t / 1000).toFixed(1)}s`
  const fault = e.fault !== "none" && e.fault !== "" ? `  [${e.fault}]` : ""
  return `${t.padEnd(9)} ${who(e).padEnd(16)} ${what(e).padEnd(30)} ${e.call} ${shortArg(e.arg)}${fault}  ${shortIds(e.result)}`
}

export const stateLine = (s: StateSummary): string => {
  const rollups = s.rollups.map(([q]) => `v${q}`).join(",") || "-"
  const readers = s.readers.map((r) => `${shortIds(r.id)}@v${r.seqno}`).join(" ") || "-"
  const writers = s.writers.map((w) => `${shortIds(w.id)}→${w.upper}`).join(" ") || "-"
  return `state v${s.seqno}: earliest v${s.earliest}, seqno_since v${s.seqnoSince}, rollups ${rollups}, readers ${readers}, writers ${writers}, upper ${s.upper}`
}

export const shortLog = (
  events: ReadonlyArray<TraceEvent>,
  states: ReadonlyMap<number, StateSummary>,
  violations: ReadonlyArray<Violation>
): Array<string> => {
  const lines: Array<string> = []
  const byStep = new Map<number, Array<Violation>>()
  for (const v of violations) byStep.set(v.step, [...(byStep.get(v.step) ?? []), v])
  // A request a latency fault held back arrives later as a plain event: say where it was held,
  // so a person reading the log sees it is the same request (e.g. the stalled add_rollup).
  const heldAt = new Map<string, number>()
  events.forEach((e, i) => {
    const key = `${e.p}|${e.task}|${e.cmd}|${e.cmdAttempt}|${e.call}|${e.arg}`
    const since = e.result === "held" ? undefined : heldAt.get(key)
    if (e.result === "held") heldAt.set(key, i)
    else heldAt.delete(key)
    lines.push(`${String(i).padStart(4)} ${eventLine(e)}${since !== undefined ? `  (held at event ${since}, t=${(events[since]!.t / 1000).toFixed(1)}s)` : ""}`)
    const q = committedSeqno(e)
    const s = q === null ? undefined : states.get(q)
    if (s !== undefined) lines.push(`           ${stateLine(s)}`)
    // A step's violations go after its last event.
    const next = events[i + 1]
    if (next === undefined || next.step !== e.step) {
      for (const v of byStep.get(e.step) ?? []) lines.push(`  !! ${v.invariant} ${v._tag}: ${shortIds(renderViolation(v))}`)
      byStep.delete(e.step)
    }
  })
  for (const vs of byStep.values()) for (const v of vs) lines.push(`  !! ${v.invariant} ${v._tag}: ${shortIds(renderViolation(v))}`)
  return lines
}

// --- the story: only what the failure is about -------------------------------------------------

/** A blob key as the short log prints it: a rollup `v13/r710735` or a part `w548210/p7fb4ae`. */
const SHORT_KEY = /\b(v[0-9]+\/r[0-9a-f]{6}|w[0-9a-f]{6}\/p[0-9a-f]{6})\b/g

const keysIn = (text: string): Array<string> => [...shortIds(text).matchAll(SHORT_KEY)].map((m) => m[1]!)

/** The lanes (`process/task`) a violation names in its fields (`by`, `process`/`task`). */
const lanesIn = (v: Violation): Array<string> => {
  const out: Array<string> = []
  const visit = (x: unknown): void => {
    if (x === null || typeof x !== "object") return
    const o = x as Record<string, unknown>
    if (typeof o.process === "string" && o.process !== "") out.push(typeof o.task === "string" && o.task !== "" ? `${o.process}/${o.task}` : o.process)
    for (const y of Object.values(o)) visit(y)
  }
  visit(v)
  return out
}

/** How many lanes and commands a fold line names. */
const FOLD_NAMES = 5

/** One line saying what a run of folded events did: how many, whose, which commands. */
const foldLine = (folded: ReadonlyArray<TraceEvent>, state: StateSummary | undefined): string => {
  const all = [...new Set(folded.map(who))]
  const lanes = [...all.slice(0, FOLD_NAMES), ...(all.length > FOLD_NAMES ? [`${all.length - FOLD_NAMES} more`] : [])]
  const cmds = new Map<string, number>()
  for (const e of folded) {
    const c = e.cmd !== "" ? e.cmd : e.call
    cmds.set(c, (cmds.get(c) ?? 0) + 1)
  }
  // The most frequent first, at most FOLD_NAMES of them: one line, whatever was folded.
  const top = [...cmds].sort((a, b) => b[1] - a[1])
  const what = [...top.slice(0, FOLD_NAMES).map(([c, n]) => (n > 1 ? `${c} ×${n}` : c)), ...(top.length > FOLD_NAMES ? [`${top.length - FOLD_NAMES} more`] : [])].join(", ")
  const commits = folded.filter((e) => committedSeqno(e) !== null).length
  return `     … ${folded.length} event${folded.length === 1 ? "" : "s"} of ${lanes.join(", ")} folded (${what})${commits > 0 ? `; ${commits} commit${commits === 1 ? "" : "s"}, now ${state !== undefined ? stateLine(state) : "?"}` : ""}`
}

/**
 * The short log told as the story of the failure: the events a person needs, every other run of
 * events folded into one line that says what it did (and the state it left when it committed).
 * Kept: every event naming a blob the violations name; every commit that added or removed such a
 * rollup or moved the earliest live diff; a held request's later arrival and the rest of its
 * command when the request was kept. With `decisive` (the events the explain pass found decided
 * by a draw that matters: Explain.ts), those too; without it, every event of a lane (`process/task`)
 * that touched such a blob or that a violation names. The violations are never folded.
 */
export const storyLog = (
  events: ReadonlyArray<TraceEvent>,
  states: ReadonlyMap<number, StateSummary>,
  violations: ReadonlyArray<Violation>,
  decisive?: ReadonlySet<number>
): { readonly lines: Array<string>; readonly folded: number } => {
  const keys = new Set(violations.flatMap((v) => keysIn(renderViolation(v))))
  const lanes = new Set(violations.flatMap(lanesIn))
  const names = (e: TraceEvent) => keysIn(`${e.arg} ${e.result}`).some((k) => keys.has(k))
  if (decisive === undefined) for (const e of events) if (names(e)) lanes.add(who(e))
  // A lane named as a process covers its tasks.
  const inLane = (e: TraceEvent) => lanes.has(who(e)) || lanes.has(e.p)
  const lastStep = violations.length === 0 ? Infinity : Math.max(...violations.map((v) => v.step))
  const focusRollups = (s: StateSummary) => s.rollups.filter(([, k]) => keysIn(k).some((x) => keys.has(x))).map(([q]) => q).join()
  let prev: StateSummary | undefined
  const keep: Array<boolean> = []
  /** Request (lane, command attempt, call, argument) of every kept event, to keep its later arrival. */
  const keptRequests = new Set<string>()
  /** The previous event of each lane, and whether it was kept. */
  const lanePrev = new Map<string, { readonly e: TraceEvent; readonly kept: boolean }>()
  const requestOf = (e: TraceEvent) => `${who(e)}|${e.cmd}|${e.cmdAttempt}|${e.call}|${e.arg}`
  events.forEach((e, i) => {
    const q = committedSeqno(e)
    const s = q === null ? undefined : states.get(q)
    const moved = s !== undefined && prev !== undefined && (focusRollups(s) !== focusRollups(prev) || s.earliest !== prev.earliest)
    if (s !== undefined) prev = s
    const before = lanePrev.get(who(e))
    const k =
      e.step <= lastStep &&
      (names(e) ||
        moved ||
        e.call === "phase.liveness" ||
        (decisive !== undefined ? decisive.has(i) : inLane(e)) ||
        keptRequests.has(requestOf(e)) ||
        // The rest of a kept command (its retry after a mismatch or an Indeterminate, its commit).
        (before !== undefined && before.kept && before.e.cmd !== "" && before.e.cmd === e.cmd && before.e.cmdAttempt <= e.cmdAttempt))
    keep.push(k)
    if (k) keptRequests.add(requestOf(e))
    lanePrev.set(who(e), { e, kept: k })
  })
  const full = shortLog(events, states, violations)
  // shortLog's lines, grouped by event: an event line, then its state line or violations.
  const groups: Array<Array<string>> = []
  for (const l of full) {
    if (/^ {0,3}[0-9]+ /.test(l)) groups.push([l])
    else if (groups.length > 0) groups[groups.length - 1]!.push(l)
    else groups.push([l])
  }
  const lines: Array<string> = []
  let run: Array<TraceEvent> = []
  let runState: StateSummary | undefined
  let folded = 0
  const flush = () => {
    if (run.length > 0) lines.push(foldLine(run, runState))
    folded += run.length
    run = []
    runState = undefined
  }
  events.forEach((e, i) => {
    const g = groups[i] ?? []
    const violationLines = g.filter((l) => l.startsWith("  !! "))
    if (keep[i] === true) {
      flush()
      lines.push(...g)
      return
    }
    run.push(e)
    const q = committedSeqno(e)
    if (q !== null) runState = states.get(q) ?? runState
    // A violation found at a folded event's step is never folded.
    if (violationLines.length > 0) {
      flush()
      lines.push(...violationLines)
    }
  })
  flush()
  return { lines, folded }
}
