/**
 * The fault model: what can happen to a store request when the world delivers it. Each seed
 * draws its rates (SwarmConfig's `FaultRates`); the ranges and odds below are the same for
 * every seed. Both go into the trace header, so a trace says exactly which faults were possible.
 *
 * - none: delivered cleanly.
 * - determinate: the store answers a Determinate error; nothing happened.
 * - indeterminateNotApplied / indeterminateApplied: the store answers Indeterminate; the
 *   operation did not / did take effect (only requests that change a store can be "applied").
 * - latency: the request is held for a while — either it arrives late (nothing happens until
 *   then) or it applies now and only its answer is late (the caller acts on old news while
 *   others move on). With probability `stall` (a rate) the hold is a long stall: the GC-behind
 *   and rollup-behind races.
 * - crash: the sending process dies at this request (a mutating request may still apply);
 *   it restarts with empty memory after the swarm's `restartAfterMs`.
 */
import type { Choices } from "../kernel/Choices.ts"
import type { FaultRates, TargetedFaults } from "./SwarmConfig.ts"

/**
 * A request some targeted fault singles out (issue 14, spec §8's rare races): a read or write
 * by a GC worker or rollup writer (stalled between reading state and acting on it while others
 * move on: RACE-8, RACE-9/10, RACE-P1), or the init CaS (a crash between the first rollup write
 * and the CaS: RACE-2's crash variant, a shard that exists only in Blob; or an Indeterminate
 * answer after it applied, then a stall: RACE-2 proper). Targeting changes
 * only the odds of the draws a request takes anyway, never how many draws it takes.
 */
export type Target = "background" | "init" | "fetch" | "register"

/** The least odds a targeted request gets (per request, whatever the seed's rates). */
export const TARGETED = {
  backgroundLatency: 0.3,
  backgroundStall: 0.7,
  initCrash: 0.35,
  /**
   * The init CaS in init-crash seeds also answers Indeterminate after applying, and arrives or
   * answers late (a stall half the time): RACE-2's own variant, where the retry mismatches
   * against ourselves and the refetch, after the stall, finds the shard moved on (several
   * rollups, only one of them ours).
   */
  initIndeterminateApplied: 0.25,
  initLatency: 0.25,
  initStall: 0.5,
  /** The init CaS's crash in blob-only seeds, which then never applies. */
  blobOnlyCrash: 0.9,
  /** A fetch's rollup read or scan (late arrival half the time: the read happens after the wait). */
  fetchLatency: 0.8,
  fetchStall: 0.5,
  /** A reader's registration CaS. */
  registerLatency: 0.6,
  registerStall: 0.9
} as const

/** Ops (core/Attribution.ts) whose reads are a fetch's "read diffs, then the rollup" window. */
const FETCH_OPS: ReadonlySet<string> = new Set(["fetch_rollup_at_key", "fetch_all_live_diffs"])

/** Odds as "`num` in `den`"; a draw of 0 is always the plain outcome (see Choices). */
export interface Odds {
  readonly num: number
  readonly den: number
}

export interface FaultOptions {
  /** A latency fault's hold, in virtual ms, inclusive. */
  readonly latencyMs: { readonly min: number; readonly max: number }
  /** A stall's hold, in virtual ms, inclusive. */
  readonly stallMs: { readonly min: number; readonly max: number }
  /** That a latency fault is a slow response (applied now, answered late) rather than a late arrival. */
  readonly slowResponse: Odds
  /** That a crash at a mutating request lets the request apply first. */
  readonly crashApplied: Odds
}

export const defaultFaultOptions: FaultOptions = {
  latencyMs: { min: 1, max: 200 },
  stallMs: { min: 5_000, max: 64_999 },
  slowResponse: { num: 1, den: 2 },
  crashApplied: { num: 1, den: 2 }
}

export const FAULT_KINDS = ["none", "determinate", "indeterminateNotApplied", "indeterminateApplied", "latency", "crash"] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/** What the trace header records of the fault model: the seed's rates and the fixed options. */
export interface FaultPlan {
  readonly rates: FaultRates
  /** Which targeted faults this seed runs (absent: none). */
  readonly targeted?: TargetedFaults
  readonly options: FaultOptions
}

/** True with the given odds; draw 0 is false. */
export const drawOdds = (choices: Choices, odds: Odds, label: string): boolean => choices.draw(odds.den, label) >= odds.den - odds.num

const drawIn = (choices: Choices, range: { readonly min: number; readonly max: number }, label: string): number =>
  range.min + choices.draw(range.max - range.min + 1, label)

export interface Hold {
  readonly ms: number
  readonly stall: boolean
  readonly slowResponse: boolean
}

/** How a (targeted) request's draws go: its fault weights and the least odds of a stall. */
interface TargetOdds {
  /** Indexed by whether the request mutates a store (0 reads, 1 mutates). */
  readonly weights: readonly [ReadonlyArray<number>, ReadonlyArray<number>]
  readonly leastStall: number
}

/** Draws one fault kind per delivered request, and the details of latency and crashes. */
export class FaultDrawer {
  private readonly untargeted: TargetOdds
  private readonly targeted: Record<Target, TargetOdds>

  constructor(
    private readonly choices: Choices,
    readonly plan: FaultPlan
  ) {
    const r = plan.rates
    const odds = (rates: FaultRates, leastStall: number): TargetOdds => ({ weights: [weights(rates, false), weights(rates, true)], leastStall })
    const blobOnly = plan.targeted?.blobOnly === true
    this.untargeted = odds(r, 0)
    this.targeted = {
      background: odds({ ...r, latency: Math.max(r.latency, TARGETED.backgroundLatency) }, TARGETED.backgroundStall),
      init: blobOnly
        ? odds({ ...r, crash: Math.max(r.crash, TARGETED.blobOnlyCrash) }, 0)
        : odds(
            {
              ...r,
              crash: Math.max(r.crash, TARGETED.initCrash),
              indeterminateApplied: Math.max(r.indeterminateApplied, TARGETED.initIndeterminateApplied),
              latency: Math.max(r.latency, TARGETED.initLatency)
            },
            TARGETED.initStall
          ),
      fetch: odds({ ...r, latency: Math.max(r.latency, TARGETED.fetchLatency) }, TARGETED.fetchStall),
      register: odds({ ...r, latency: Math.max(r.latency, TARGETED.registerLatency) }, TARGETED.registerStall)
    }
  }

  private oddsFor(target: Target | undefined): TargetOdds {
    return target === undefined ? this.untargeted : this.targeted[target]
  }

  /** The request's target under this seed's targeted faults, from who sent it. */
  targetOf(by: { readonly task: string; readonly cmd: string; readonly op?: string }, call: string): Target | undefined {
    const t = this.plan.targeted
    if (t === undefined) return undefined
    if (t.backgroundStalls && (by.task === "gc-worker" || by.task === "rollup")) return "background"
    if ((t.initCrash || t.blobOnly === true) && by.cmd === "maybe_init_shard" && call === "consensus.cas") return "init"
    // Not GC's own fetches: a stalled GC worker would stop GC, the very thing the fetch must race.
    if (t.fetchStalls === true && by.task !== "gc-worker" && !call.endsWith("cas") && FETCH_OPS.has(by.op ?? "")) return "fetch"
    if (t.registerStalls === true && by.cmd === "register_leased_reader" && call === "consensus.cas") return "register"
    return undefined
  }

  kind(mutates: boolean, target?: Target): FaultKind {
    return FAULT_KINDS[this.choices.drawWeighted(this.oddsFor(target).weights[mutates ? 1 : 0], "fault")]!
  }

  hold(target?: Target): Hold {
    const { options, rates } = this.plan
    const least = this.oddsFor(target).leastStall
    const stall = this.choices.drawBool(Math.max(rates.stall, least), "latency.stall")
    const ms = stall ? drawIn(this.choices, options.stallMs, "latency.stallMs") : drawIn(this.choices, options.latencyMs, "latency.ms")
    const slowResponse = drawOdds(this.choices, options.slowResponse, "latency.slowResponse")
    return { ms, stall, slowResponse }
  }

  crashApplies(mutates: boolean, target?: Target): boolean {
    // Blob-only seeds: the init CaS's crash never applies (the draw is taken all the same).
    const odds = target === "init" && this.plan.targeted?.blobOnly === true ? { num: 0, den: this.plan.options.crashApplied.den } : this.plan.options.crashApplied
    return mutates && drawOdds(this.choices, odds, "crash.applied")
  }
}

/**
 * The weights of FAULT_KINDS for a request that does (or does not) change a store: each
 * fault's rate in millionths, and "none" the rest of a million (at least 1).
 */
const weights = (f: FaultRates, mutates: boolean): ReadonlyArray<number> => {
  const w = [1_000_000, f.determinate * 1e6, f.indeterminateNotApplied * 1e6, (mutates ? f.indeterminateApplied : 0) * 1e6, f.latency * 1e6, f.crash * 1e6]
  const total = w.reduce((a, b) => a + b, 0)
  w[0] = Math.max(1, total > 2e6 ? 1 : 2e6 - total)
  return w
}
