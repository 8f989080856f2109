/**
 * `npm run sim -- --merge DIR|FILES…`: combines shard summaries into one summary of the same
 * shape, prints it like a sweep's, and writes it to `--out`.
 *
 * Exit codes (README "Sharded sweeps"): 2 when an input cannot be read or is not a summary
 * (one line on stderr, nothing merged), and also when the inputs do not make one complete,
 * consistent sweep — missing seeds or shards, overlapping or duplicated shards, mixed tool
 * versions, ranges, steps or bugs. In that case the merge is still printed and written (with
 * its `problems`), and each problem is one line on stderr: an incomplete sweep must fail a
 * CI job, and must not read as a clean pass (0) or as a violation in the system (1).
 * Otherwise 1 when any seed failed, 0 when none did.
 */
import type { CliArgs } from "./Args.ts"
import { UsageError } from "./Args.ts"
import { mergedFileName, mergeSummaries, renderSummary } from "../trace/SweepSummary.ts"
import { readSummary, summaryFilesOf, writeJsonAtomic } from "./SummaryFiles.ts"

export const runMerge = (args: CliArgs, paths: ReadonlyArray<string>): number => {
  const files = summaryFilesOf(paths)
  if (files.length === 0) throw new UsageError("--merge needs at least one summary file or folder")
  const inputs = files.map((file) => ({ file, summary: readSummary(file) }))
  const merged = mergeSummaries(inputs)
  const written = writeJsonAtomic(args.out, mergedFileName(merged.config), merged)
  if (args.json) console.log(JSON.stringify(merged))
  else console.log(`${renderSummary(merged)}\nmerged summary: ${written}`)
  const problems = merged.problems ?? []
  for (const p of problems) console.error(`persist-sim: merge: ${p}`)
  return problems.length > 0 ? 2 : merged.totals.failing > 0 ? 1 : 0
}
