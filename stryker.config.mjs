// StrykerJS configuration for `npm run mutate` (run it through sim/cli/mutate.mjs, which sets
// MUTATE_SEEDS and prints the score per module). README "Mutation testing" says what the
// figures mean.
//
// The test is the simulator itself: sim/cli/mutateSweep.ts runs a fixed seed range and fails
// on the first seed with a violation the findings table does not explain. Stryker instruments
// every mutant into one copy of the sources (mutant switching): each run of the command gets
// `__STRYKER_ACTIVE_MUTANT__` in its environment, and the bundle launch.mjs builds from the
// sandbox's sources (into the sandbox's own .mutate-bundle/) reads it at run time.
const seeds = process.env.MUTATE_SEEDS ?? "1..200"

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "command",
  commandRunner: {
    command: `PERSIST_SIM_BUNDLE_DIR=.mutate-bundle node sim/cli/launch.mjs sim/cli/mutateSweep.ts ${seeds}`
  },
  // The default modules; `npm run mutate -- --mutate core/Machine.ts` (or a comma list) overrides.
  mutate: ["core/Gc.ts", "core/StateVersions.ts"],
  // String literals are not mutated. In core/ they are nearly all panic and assertion
  // messages, metric names, log texts and attribution site names, and a verdict never depends
  // on text (STYLE.md: verdicts are data), so each such mutant would be equivalent by
  // construction and need its own disable comment, tripling the comments in core/ for no
  // signal; the baseline (51.6 %) was measured the same way, so scores compare. The
  // cost, stated: the few literals that are data (`_tag` comparisons such as "Batch",
  // "Hollow", "Committed") go unmeasured.
  mutator: { excludedMutations: ["StringLiteral"] },
  // Two cores: two sandboxes, each running one seed at a time.
  concurrency: 2,
  coverageAnalysis: "off",
  // A mutant that makes a world loop or crawl is a Timeout (counted as detected). Generous:
  // on a shared 2-core machine a surviving mutant's sweep can take twice the dry run's time,
  // and a tight timeout then counts survivors as detected (seen: 18 "timeouts" in 46 mutants
  // at 1.5x + 15 s while another sweep ran beside it).
  timeoutMS: 30000,
  timeoutFactor: 3,
  reporters: ["clear-text", "progress", "json", "html"],
  jsonReporter: { fileName: "reports/out/mutation/mutation.json" },
  htmlReporter: { fileName: "reports/out/mutation/index.html" },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  tempDirName: ".stryker-tmp",
  cleanTempDir: true,
  ignorePatterns: ["reports/out", ".mutate-bundle", ".scratch", ".stryker-tmp"],
  // esbuild never type-checks, so Stryker's @ts-nocheck headers are not needed.
  disableTypeChecks: false
}
