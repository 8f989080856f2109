/**
 * A worker thread of a sweep: the parent posts one seed at a time and gets one record back;
 * `null` means no more seeds.
 */
import { parentPort, workerData } from "node:worker_threads"
import { runSeedRecord } from "./SweepCore.ts"
import type { NemesisMode } from "../world/NemesisMode.ts"

const { steps, bug, out, keepTraces, nemesis } = workerData as { steps: number; bug: string | null; out: string; keepTraces: boolean; nemesis: NemesisMode | null }
parentPort!.on("message", (seed: number | null) => {
  if (seed === null) parentPort!.close()
  else parentPort!.postMessage(runSeedRecord(seed, steps, bug, out, keepTraces, nemesis))
})
