/** A sweep's (or shard's) summary file: built from its seed records and written into `--out`. */
import type { CliArgs } from "./Args.ts"
import { PACKAGE_VERSION } from "../trace/Run.ts"
import { type SummaryBuilder, summaryFileName, type SweepSummary } from "../trace/SweepSummary.ts"
import { writeJsonAtomic } from "./SummaryFiles.ts"

/** Writes the summary; returns it with its file, so the sweep prints what it wrote. */
export const writeSweepSummary = (args: CliArgs, built: SummaryBuilder, wallSeconds: number): { readonly file: string; readonly summary: SweepSummary } => {
  const config = { range: args.seeds!, shard: args.shard, steps: args.steps, bug: args.bug, nemesis: args.nemesis, jobs: args.jobs }
  const summary = built.build(PACKAGE_VERSION, config, Math.round(wallSeconds * 1000) / 1000)
  return { file: writeJsonAtomic(args.out, summaryFileName(config), summary), summary }
}
