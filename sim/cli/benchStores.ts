/**
 * `npm run bench:stores`: simulated runs per backend, side by side in one process (issue 12):
 * the same seeds on the models (the synchronous driver), on the async driver over in-memory
 * promise faces (its own cost, no real store), on PGlite, on the directory Blob, on both, and on
 * a Postgres server when PERSIST_SIM_POSTGRES_URL is set. Prints delivered requests per second
 * and wall µs per request, a table then one JSON line; every backend must give the models'
 * digests, or the line says which did not.
 *
 *   node sim/cli/launch.mjs sim/cli/benchStores.ts [--seeds A..B] [--steps N]
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { memoryBlob, memoryConsensus } from "../../stores/AsyncStores.ts"
import { Choices } from "../kernel/Choices.ts"
import type { Backend } from "../world/Backend.ts"
import { runWorld, runWorldOn } from "../world/World.ts"
import { type StoresSpec, withRealStores } from "./RealStores.ts"

const arg = (flag: string, fallback: string): string => {
  const i = process.argv.indexOf(flag)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}
const [from, to] = arg("--seeds", "1..4").split("..").map(Number) as [number, number]
const steps = Number(arg("--steps", "500"))
const seeds = Array.from({ length: to - from + 1 }, (_, i) => from + i)
const now = (): bigint => process.hrtime.bigint()

interface Row {
  readonly backend: string
  readonly requests: number
  readonly wallMs: number
  readonly requestsPerSec: number
  readonly usPerRequest: number
  readonly digestsMatchModels: boolean
}

const models = new Map<number, string>()
const rows: Array<Row> = []
const row = (backend: string, requests: number, wallMs: number, digests: ReadonlyArray<string>): void => {
  rows.push({
    backend,
    requests,
    wallMs: Math.round(wallMs),
    requestsPerSec: Math.round((requests * 1000) / wallMs),
    usPerRequest: Math.round((wallMs * 1000) / requests),
    digestsMatchModels: digests.every((d, i) => d === models.get(seeds[i]!))
  })
}

// The models, synchronously: the figure every other is beside.
{
  const start = now()
  let n = 0
  const digests: Array<string> = []
  for (const s of seeds) {
    const r = runWorld(Choices.seeded(s), { steps })
    models.set(s, r.digest)
    digests.push(r.digest)
    n += r.steps
  }
  row("memory (sync driver)", n, Number(now() - start) / 1e6, digests)
}

const timed = async (name: string, backendFor: () => Promise<{ backend: Backend; close: () => Promise<void> }>) => {
  let n = 0
  let wall = 0
  const digests: Array<string> = []
  for (const s of seeds) {
    const opened = await backendFor()
    // Opening and closing the stores (schema, directory) is outside the figure.
    const start = now()
    const r = await runWorldOn(Choices.seeded(s), { steps }, opened.backend)
    wall += Number(now() - start) / 1e6
    await opened.close()
    digests.push(r.digest)
    n += r.steps
  }
  row(name, n, wall, digests)
}

await timed("memory (async driver)", async () => ({ backend: { consensus: memoryConsensus(), blob: memoryBlob() }, close: async () => {} }))

const blobRoot = mkdtempSync(join(tmpdir(), "persist-sim-benchstores-"))
try {
  const specs: Array<[string, StoresSpec]> = [
    ["pglite", { consensus: "pglite", blobDir: null }],
    ["directory", { consensus: "memory", blobDir: blobRoot }],
    ["pglite + directory", { consensus: "pglite", blobDir: blobRoot }]
  ]
  const url = process.env["PERSIST_SIM_POSTGRES_URL"]
  if (url !== undefined) specs.push(["server", { consensus: url, blobDir: null }], ["server + directory", { consensus: url, blobDir: blobRoot }])
  for (const [name, spec] of specs) {
    await withRealStores(spec, (stores) => timed(name, () => stores.fresh()))
  }
} finally {
  rmSync(blobRoot, { recursive: true, force: true })
}

console.log(`simulated runs per backend: seeds ${from}..${to}, ${steps} steps each (opening/closing stores not timed)`)
console.log("backend                  requests   wall ms   requests/s   µs/request   digests = models")
for (const r of rows) {
  console.log(`${r.backend.padEnd(24)} ${String(r.requests).padStart(8)} ${String(r.wallMs).padStart(9)} ${String(r.requestsPerSec).padStart(12)} ${String(r.usPerRequest).padStart(12)}   ${r.digestsMatchModels ? "yes" : "NO"}`)
}
console.log(JSON.stringify({ seeds: [from, to], steps, rows }))
