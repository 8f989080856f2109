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
