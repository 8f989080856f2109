/**
 * Re-running a tape to see what a trace file does not hold: the state the checker reconstructed
 * at every committed seqno (for the short log and the reports), and, for every draw, its label
 * and where in the trace it was made (for explaining a minimal tape). The run is the same run —
 * the probe only wraps the Choices it reads from, so it cannot change a single decision.
 */
import type { BugSwitchesShape } from "../../core/BugSwitches.ts"
import { type State, seqnoSince } from "../../core/State.ts"
import { type Choices, Choices as ChoicesSource } from "../kernel/Choices.ts"
import { type RunOptions, type RunResult, World } from "../world/World.ts"

/** The parts of a state a person reads when following a run, as plain JSON. */
export interface StateSummary {
  readonly seqno: number
  /** The earliest live diff in Consensus when the state was observed. */
  readonly earliest: number
  readonly seqnoSince: number
  readonly lastGcReq: number
  readonly upper: string
  readonly since: string
  readonly batches: number
  readonly rollups: ReadonlyArray<readonly [number, string]>
  readonly readers: ReadonlyArray<{ readonly id: string; readonly seqno: number; readonly since: string }>
  readonly writers: ReadonlyArray<{ readonly id: string; readonly upper: string }>
}

/** Where one draw was made: its label, value, the world's step and how many events preceded it. */
export interface DrawSite {
  readonly index: number
  readonly label: string
  readonly value: number
  readonly step: number
  /** Events recorded before the draw; the event it decided (if any) is at this index. */
  readonly eventIndex: number
}

export interface ProbeResult {
  readonly result: RunResult
  readonly states: ReadonlyMap<number, StateSummary>
  readonly draws: ReadonlyArray<DrawSite>
}

const frontier = (a: ReadonlyArray<number>): string => (a.length === 0 ? "[]" : `[${a.join(",")}]`)

export const summarizeState = (s: State, earliest: number): StateSummary => ({
  seqno: s.seqno,
  earliest,
  seqnoSince: seqnoSince(s),
  lastGcReq: s.collections.lastGcReq,
  upper: frontier(s.collections.trace.batches.length === 0 ? [0] : s.collections.trace.batches[s.collections.trace.batches.length - 1]!.desc.upper),
  since: frontier(s.collections.trace.since),
  batches: s.collections.trace.batches.length,
  rollups: [...s.collections.rollups.entries()].sort(([a], [b]) => a - b).map(([q, r]) => [q, r.key] as const),
  readers: [...s.collections.leasedReaders.entries()].map(([id, r]) => ({ id, seqno: r.seqno, since: frontier(r.since) })),
  writers: [...s.collections.writers.entries()].map(([id, w]) => ({ id, upper: frontier(w.mostRecentWriteUpper) }))
})

/** Runs `tape` again with the probe attached. */
export const probeRun = (
  tape: ReadonlyArray<number>,
  steps: number,
  bugs: Partial<BugSwitchesShape>,
  /** How the phases end (Run.ts `phasesOf` of the trace header). */
  phases: { readonly liveness?: boolean; readonly livenessSteps?: number } = {},
  /** The run's nemeses (`--nemesis`, from the trace header): the probe must run the same world. */
  nemesis: Pick<RunOptions, "nemesis" | "gcNemesis"> = {}
): ProbeResult => {
  const inner = ChoicesSource.recorded(tape, { labels: true })
  const states = new Map<number, StateSummary>()
  let world: World | undefined
  const sample = () => {
    if (world === undefined) return
    const cur = world.checker.current
    if (cur !== undefined && !states.has(cur.seqno)) states.set(cur.seqno, summarizeState(cur, world.checker.earliestSeqno))
  }
  // Values are filled in from the tape at the end (reading `tape` copies it, so not per draw).
  const sites: Array<Omit<DrawSite, "value">> = []
  const note = (label: string) => {
    sample()
    sites.push({ index: sites.length, label, step: world?.stepCount ?? 0, eventIndex: world?.trace.events.length ?? 0 })
  }
  // Every delivery is preceded by a `deliver` draw, so sampling at each draw sees every commit.
  const probe: Choices = {
    draw: (bound, label) => {
      const v = inner.draw(bound, label)
      note(label)
      return v
    },
    drawBool: (p, label) => {
      const b = inner.drawBool(p, label)
      note(label)
      return b
    },
    drawWeighted: (w, label) => {
      const i = inner.drawWeighted(w, label)
      note(label)
      return i
    },
    get tape() {
      return inner.tape
    },
    get drawCount() {
      return inner.drawCount
    },
    get labels() {
      return inner.labels
    },
    get bounds() {
      return inner.bounds
    }
  }
  const w = new World(probe, { steps, bugs, keepEvents: true, ...phases, ...nemesis })
  world = w
  const result = w.run()
  sample()
  const values = result.tape
  return { result, states, draws: sites.map((d) => ({ ...d, value: values[d.index] ?? 0 })) }
}
