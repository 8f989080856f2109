/**
 * Store bench: requests per second and cost per request of each backend, through the promise
 * face the simulator calls (`npx tsx stores/bench.ts`).
 *
 * Consensus: `cas` appends N rows one after another to a fresh key (256 B each), `head` reads
 * that key's head N times, `scan` reads 10 rows N times, `truncate` removes the rows one at a
 * time (N truncates, one row each). Blob: `set` writes N fresh 1 KiB keys, `get` reads them.
 * Each figure is the median of ROUNDS rounds. Backends: memory (core's stores), PGlite
 * (embedded), directory (a temporary directory, files flushed as persist's FileBlob does), and
 * a Postgres server when PERSIST_SIM_POSTGRES_URL is set. Prints a table, then one JSON line.
 */
import { SeqNo } from "../core/SeqNo.ts"
import { type AsyncBlob, type AsyncConsensus, memoryBlob, memoryConsensus } from "./AsyncStores.ts"
import { DirectoryBlob } from "./DirectoryBlob.ts"
import { PostgresConsensus } from "./PostgresConsensus.ts"

const ROUNDS = 3
const payload = (n: number): Uint8Array => new Uint8Array(n).map((_, i) => i & 0xff)

interface Figure {
  readonly backend: string
  readonly op: string
  readonly n: number
  readonly perSecond: number
  readonly microsPerRequest: number
}

const median = (xs: Array<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/** Times `n` sequential calls of `f(i)`, in ms. */
const timed = async (n: number, f: (i: number) => Promise<unknown>): Promise<number> => {
  const t0 = performance.now()
  for (let i = 0; i < n; i++) await f(i)
  return performance.now() - t0
}

const figure = (backend: string, op: string, n: number, ms: Array<number>): Figure => {
  const m = median(ms)
  return { backend, op, n, perSecond: Math.round((n * 1000) / m), microsPerRequest: Math.round((m * 1000) / n * 10) / 10 }
}

const benchConsensus = async (c: AsyncConsensus, n: number): Promise<Array<Figure>> => {
  const ms: Record<string, Array<number>> = { cas: [], head: [], scan: [], truncate: [] }
  const data = payload(256)
  for (let round = 0; round < ROUNDS; round++) {
    const key = `bench-${round}`
    ms["cas"]!.push(await timed(n, (i) => c.compareAndSet(key, i === 0 ? null : SeqNo(i), { seqno: SeqNo(i + 1), data })))
    ms["head"]!.push(await timed(n, () => c.head(key)))
    ms["scan"]!.push(await timed(n, (i) => c.scan(key, SeqNo(1 + (i % Math.max(1, n - 10))), 10)))
    ms["truncate"]!.push(await timed(n - 1, (i) => c.truncate(key, SeqNo(i + 2))))
  }
  return [figure(c.name, "head", n, ms["head"]!), figure(c.name, "cas", n, ms["cas"]!), figure(c.name, "scan", n, ms["scan"]!), figure(c.name, "truncate", n - 1, ms["truncate"]!)]
}

const benchBlob = async (b: AsyncBlob, n: number): Promise<Array<Figure>> => {
  const set: Array<number> = []
  const get: Array<number> = []
  const value = payload(1024)
  for (let round = 0; round < ROUNDS; round++) {
    set.push(await timed(n, (i) => b.set(`bench/${round}/${i}`, value)))
    get.push(await timed(n, (i) => b.get(`bench/${round}/${i}`)))
  }
  return [figure(b.name, "blob get", n, get), figure(b.name, "blob set", n, set)]
}

const main = async (): Promise<void> => {
  const figures: Array<Figure> = []
  const note = (s: string) => process.stderr.write(`${s}\n`)

  note("memory…")
  figures.push(...(await benchConsensus(memoryConsensus(), 20_000)), ...(await benchBlob(memoryBlob(), 20_000)))

  note("PGlite…")
  const pglite = await PostgresConsensus.pglite()
  try {
    figures.push(...(await benchConsensus(pglite, 1_000)))
  } finally {
    await pglite.close()
  }

  note("directory…")
  const dir = await DirectoryBlob.temp()
  try {
    figures.push(...(await benchBlob(dir, 500)))
  } finally {
    await dir.close()
  }

  const url = process.env["PERSIST_SIM_POSTGRES_URL"]
  if (url !== undefined && url !== "") {
    note("Postgres server…")
    const server = await PostgresConsensus.server(url)
    try {
      figures.push(...(await benchConsensus(server, 1_000)))
    } finally {
      await server.close()
    }
  } else {
    note("Postgres server: skipped (PERSIST_SIM_POSTGRES_URL is not set)")
  }

  const rows = figures.map((f) => [f.backend, f.op, String(f.n), f.perSecond.toLocaleString("en-US"), f.microsPerRequest.toFixed(1)])
  const head = ["backend", "op", "n", "requests/s", "µs/request"]
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: Array<string>) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  console.log(`store bench: medians of ${ROUNDS} rounds, sequential requests through the promise face`)
  console.log(line(head))
  for (const r of rows) console.log(line(r))
  console.log(JSON.stringify({ rounds: ROUNDS, figures }))
}

await main()
