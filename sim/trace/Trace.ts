/**
 * The trace of a run (DESIGN §4 "Trace"), format 2: a header, one event per step, the
 * violations, and a footer with the choice tape and the digest, as JSON Lines (documented in
 * reports/README.md). Each event names the store call and who made it: the process, its task,
 * the applier command, the StateVersions operation, the retry site and attempt (see
 * core/Attribution.ts). The digest is a hash of every event line, so the same seed gives the
 * same digest on every machine; events hold no wall-clock time, fiber id or object hash.
 */
import { createHash } from "node:crypto"
import { Schema } from "effect"
import { Violation } from "../check/Violations.ts"

/** Format 1 had no attribution and violations as prose; it is refused with a clear message. */
export const TRACE_FORMAT_VERSION = 2

export const TraceEvent = Schema.Struct({
  step: Schema.Number,
  /** Virtual ms since the run began. */
  t: Schema.Number,
  /** The process (`p0`, `p1.2` after a restart, `janitor`), or `-` for the world itself. */
  p: Schema.String,
  /** Its task: cmd, init, gc-worker, rollup, heartbeat, compaction, janitor ("" for world events). */
  task: Schema.String,
  /** The applier command being run (`compare_and_append`, `add_rollup`, …) and which try of it. */
  cmd: Schema.String,
  cmdAttempt: Schema.Number,
  /** The persist operation that made the store call (`fetch_recent_live_diffs`, …). */
  op: Schema.String,
  /** The retry site and attempt (`applyUnbatchedCmdCas` #2), "" and 0 when not retried. */
  site: Schema.String,
  attempt: Schema.Number,
  /** The store call (`consensus.cas`, `blob.delete`, …) or a world event (`process.crash`). */
  call: Schema.String,
  arg: Schema.String,
  fault: Schema.String,
  result: Schema.String
})
export type TraceEvent = typeof TraceEvent.Type

export class TraceRecorder {
  readonly events: Array<TraceEvent> = []
  private readonly hash = createHash("sha256")
  /** Keep events in memory (for reports); the digest is computed either way. */
  constructor(private readonly keep = true) {}

  record(e: TraceEvent): void {
    this.hash.update(eventLine(e))
    if (this.keep) this.events.push(e)
  }

  /** The digest of every event so far plus the given final facts (call once). */
  digest(final: string): string {
    this.hash.update(`final|${final}\n`)
    return this.hash.digest("hex").slice(0, 32)
  }
}

/** What the digest hashes of one event: every field, in a fixed order. */
export const eventLine = (e: TraceEvent): string =>
  `${e.step}|${e.t}|${e.p}|${e.task}|${e.cmd}|${e.cmdAttempt}|${e.op}|${e.site}|${e.attempt}|${e.call}|${e.arg}|${e.fault}|${e.result}\n`

export const TraceHeader = Schema.Struct({
  type: Schema.Literal("header"),
  format: Schema.Literal(TRACE_FORMAT_VERSION),
  packageVersion: Schema.String,
  seed: Schema.NullOr(Schema.Int.pipe(Schema.between(0, 2 ** 32 - 1))),
  replayOf: Schema.NullOr(Schema.String),
  steps: Schema.Int.pipe(Schema.positive()),
  bug: Schema.NullOr(Schema.String),
  scenario: Schema.NullOr(Schema.String),
  /** False for a shrunk run that stops after its main phase (see RunOptions.liveness). */
  liveness: Schema.optional(Schema.Boolean),
  /** A shrunk run whose violation happens in the liveness phase: the phase's steps (RunOptions.livenessSteps). */
  livenessSteps: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  /** `--nemesis` when given (sim/world/NemesisMode.ts); replay runs the same nemeses. */
  nemesis: Schema.optional(Schema.Literal("off", "delete", "wipe", "gc", "all")),
  config: Schema.Unknown
})
export type TraceHeader = typeof TraceHeader.Type

export interface TraceFile {
  readonly header: TraceHeader
  readonly events: ReadonlyArray<TraceEvent>
  readonly tape: ReadonlyArray<number>
  readonly violations: ReadonlyArray<Violation>
  readonly digest: string
  readonly exitCode: number
}

/** Serialises a trace as JSON Lines: header, events, violations, then a footer with tape and digest. */
export const toJsonLines = (t: TraceFile): string => {
  const lines = [JSON.stringify(t.header)]
  for (const e of t.events) lines.push(JSON.stringify({ type: "event", ...e }))
  for (const v of t.violations) lines.push(JSON.stringify({ type: "violation", violation: v }))
  lines.push(JSON.stringify({ type: "footer", tape: t.tape, digest: t.digest, exitCode: t.exitCode }))
  return lines.join("\n") + "\n"
}

/** A trace file that is not one this version can read; the message is one line. */
export class TraceParseError extends Error {
  override readonly name = "TraceParseError"
}

const EventLine = Schema.extend(Schema.Struct({ type: Schema.Literal("event") }), TraceEvent)
const ViolationLine = Schema.Struct({ type: Schema.Literal("violation"), violation: Violation })
const FooterLine = Schema.Struct({
  type: Schema.Literal("footer"),
  tape: Schema.Array(Schema.Int.pipe(Schema.between(0, 2 ** 32 - 1))),
  digest: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{32}$/)),
  exitCode: Schema.Literal(0, 1)
})

const firstIssue = (e: unknown): string => {
  const text = String(e instanceof Error ? e.message : e)
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "").slice(-1)[0] ?? text
}

const decodeLine = <A, I>(schema: Schema.Schema<A, I>, value: unknown, where: string): A => {
  try {
    return Schema.decodeUnknownSync(schema)(value)
  } catch (e) {
    throw new TraceParseError(`${where}: ${firstIssue(e)}`)
  }
}

/** Parses a trace file; any malformation is a TraceParseError with a one-line reason. */
export const parseJsonLines = (text: string): TraceFile => {
  const lines = text.split("\n").filter((l) => l.trim() !== "")
  if (lines.length < 2) throw new TraceParseError("trace has fewer than two lines (needs a header and a footer)")
  const parsed = lines.map((l, i) => {
    try {
      return JSON.parse(l) as unknown
    } catch {
      throw new TraceParseError(`line ${i + 1} is not JSON`)
    }
  })
  const first = parsed[0] as { type?: unknown; format?: unknown } | null
  if (first === null || typeof first !== "object" || first.type !== "header") throw new TraceParseError("line 1 is not a trace header (is this a persist-sim trace?)")
  if (first.format !== TRACE_FORMAT_VERSION) {
    throw new TraceParseError(`trace format ${JSON.stringify(first.format)} is not supported (this persist-sim reads format ${TRACE_FORMAT_VERSION}; re-run the seed to get a new trace)`)
  }
  const header = decodeLine(TraceHeader, first, "line 1 (header)")
  const footer = decodeLine(FooterLine, parsed[parsed.length - 1], `line ${parsed.length} (footer; truncated trace?)`)
  const events: Array<TraceEvent> = []
  const violations: Array<Violation> = []
  for (let i = 1; i < parsed.length - 1; i++) {
    const line = parsed[i] as { type?: unknown } | null
    const type = line !== null && typeof line === "object" ? line.type : undefined
    if (type === "event") {
      const { type: _, ...event } = decodeLine(EventLine, line, `line ${i + 1} (event)`)
      events.push(event)
    } else if (type === "violation") violations.push(decodeLine(ViolationLine, line, `line ${i + 1} (violation)`).violation)
    else throw new TraceParseError(`line ${i + 1} is neither an event nor a violation`)
  }
  return { header, events, tape: footer.tape, violations, digest: footer.digest, exitCode: footer.exitCode }
}
