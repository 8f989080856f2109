/** A worker thread of a sweep: runs the seeds it is given and posts one record per seed. */
import { parentPort, workerData } from "node:worker_threads"
import { runSeedRecord } from "./SweepCore.ts"

const { seeds, steps, bug, out, keepTraces } = workerData as { seeds: Array<number>; steps: number; bug: string | null; out: string; keepTraces: boolean }
for (const seed of seeds) parentPort!.postMessage(runSeedRecord(seed, steps, bug, out, keepTraces))
