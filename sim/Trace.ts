/**
 * The trace of a run (DESIGN §4 "Trace"): a header, one short event per step, the choice tape
 * and a final digest, as JSON Lines. The digest is a hash of every event line, so the same
 * seed gives the same digest on every machine; the events hold no wall-clock time, fiber id or
 * object hash.
 */
import { createHash } from "node:crypto"

export const TRACE_FORMAT_VERSION = 1

export interface TraceHeader {
  readonly type: "header"
  readonly format: number
  readonly packageVersion: string
  readonly seed: number | null
  readonly replayOf: string | null
  readonly steps: number
  readonly bug: string | null
  readonly scenario: string | null
  readonly config: unknown
}

export interface TraceEvent {
  readonly step: number
  readonly t: number
  readonly p: string
  readonly op: string
  readonly arg: string
  readonly fault: string
  readonly result: string
}

export interface Violation {
  readonly step: number
  readonly t: number
  readonly invariant: string
  readonly message: string
}

export class TraceRecorder {
  readonly events: Array<TraceEvent> = []
  private readonly hash = createHash("sha256")
  /** Keep events in memory (for reports); the digest is computed either way. */
  constructor(private readonly keep = true) {}

  record(e: TraceEvent): void {
    this.hash.update(`${e.step}|${e.t}|${e.p}|${e.op}|${e.arg}|${e.fault}|${e.result}\n`)
    if (this.keep) this.events.push(e)
  }

  /** The digest of every event so far plus the given final facts (call once). */
  digest(final: string): string {
    this.hash.update(`final|${final}\n`)
    return this.hash.digest("hex").slice(0, 32)
  }
}

export interface TraceFile {
  readonly header: TraceHeader
  readonly events: ReadonlyArray<TraceEvent>
  readonly tape: ReadonlyArray<number>
  readonly violations: ReadonlyArray<Violation>
  readonly digest: string
  readonly exitCode: number
}

/** Serialises a trace as JSON Lines: header, events, then a footer with tape and digest. */
export const toJsonLines = (t: TraceFile): string => {
  const lines = [JSON.stringify(t.header)]
  for (const e of t.events) lines.push(JSON.stringify({ type: "event", ...e }))
  for (const v of t.violations) lines.push(JSON.stringify({ type: "violation", ...v }))
  lines.push(JSON.stringify({ type: "footer", tape: t.tape, digest: t.digest, exitCode: t.exitCode }))
  return lines.join("\n") + "\n"
}

export class TraceParseError extends Error {
  override readonly name = "TraceParseError"
}

/** Parses a trace file; any malformation is a TraceParseError with a one-line reason. */
export const parseJsonLines = (text: string): TraceFile => {
  const lines = text.split("\n").filter((l) => l.trim() !== "")
  if (lines.length < 2) throw new TraceParseError("trace has fewer than two lines (needs a header and a footer)")
  const parsed = lines.map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, unknown>
    } catch {
      throw new TraceParseError(`line ${i + 1} is not JSON`)
    }
  })
  const header = parsed[0]!
  if (header.type !== "header") throw new TraceParseError("first line is not a header")
  if (header.format !== TRACE_FORMAT_VERSION) throw new TraceParseError(`unsupported trace format ${String(header.format)} (expected ${TRACE_FORMAT_VERSION})`)
  const footer = parsed[parsed.length - 1]!
  if (footer.type !== "footer") throw new TraceParseError("last line is not a footer (truncated trace?)")
  const tape = footer.tape
  if (!Array.isArray(tape) || !tape.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)) throw new TraceParseError("footer tape is not a list of non-negative integers")
  if (typeof footer.digest !== "string") throw new TraceParseError("footer has no digest")
  const events = parsed.filter((p) => p.type === "event") as unknown as Array<TraceEvent>
  const violations = parsed.filter((p) => p.type === "violation") as unknown as Array<Violation>
  return {
    header: header as unknown as TraceHeader,
    events,
    tape: tape as Array<number>,
    violations,
    digest: footer.digest,
    exitCode: typeof footer.exitCode === "number" ? footer.exitCode : 0
  }
}
