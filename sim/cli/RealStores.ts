/**
 * `--stores` / `--blob-dir`: the real backends a run executes its delivered requests on
 * (issue 12), chosen here at the front door and handed to the world as a `Backend`
 * (sim/world/Backend.ts), so sim/world never imports stores/ or an npm driver.
 *
 * Every run gets fresh stores, removed afterwards: a fresh schema (`persist_sim_<uuid>`,
 * dropped on close) in one PGlite opened for the whole invocation (opening PGlite costs far
 * more than a schema), or a fresh schema over a fresh connection to the server; and a fresh
 * `run-XXXXXX` directory under `--blob-dir`, removed on close. The directory Blob runs
 * without fsync: the simulator never crashes the machine under it, only simulated processes,
 * and the rename that makes a write visible stays atomic.
 */
import { mkdir, mkdtemp } from "node:fs/promises"
import { join, resolve } from "node:path"
import type { PGlite } from "@electric-sql/pglite"
import { DirectoryBlob } from "../../stores/DirectoryBlob.ts"
import { PostgresConsensus } from "../../stores/PostgresConsensus.ts"
import type { Backend } from "../world/Backend.ts"

/** What the command line asked for: `consensus` is "memory", "pglite" or a postgres:// URL. */
export interface StoresSpec {
  readonly consensus: string
  readonly blobDir: string | null
}

export const isPostgresUrl = (s: string): boolean => /^postgres(ql)?:\/\//.test(s)

/** True when some store is real (the run then awaits a backend). */
export const usesRealStores = (spec: StoresSpec): boolean => spec.consensus !== "memory" || spec.blobDir !== null

/** For people: "pglite + directory", "postgres server + memory", … (never the URL: it may hold a password). */
export const describeStores = (spec: StoresSpec): string =>
  `${spec.consensus === "memory" ? "memory" : spec.consensus === "pglite" ? "pglite" : "postgres server"} consensus + ${spec.blobDir === null ? "memory" : "directory"} blob`

export interface OpenedBackend {
  readonly backend: Backend
  readonly close: () => Promise<void>
}

/** The backends of one invocation: `fresh()` per run, `close()` at the end. */
export class RealStores {
  private constructor(
    readonly spec: StoresSpec,
    private readonly pglite: PGlite | undefined
  ) {}

  static async open(spec: StoresSpec): Promise<RealStores> {
    let db: PGlite | undefined
    if (spec.consensus === "pglite") db = await (await import("@electric-sql/pglite")).PGlite.create()
    if (spec.blobDir !== null) await mkdir(spec.blobDir, { recursive: true })
    return new RealStores(spec, db)
  }

  async fresh(): Promise<OpenedBackend> {
    const closers: Array<() => Promise<void>> = []
    const close = async () => {
      for (const c of closers.reverse()) await c()
    }
    try {
      let consensus: PostgresConsensus | undefined
      if (this.pglite !== undefined) consensus = await PostgresConsensus.pglite(this.pglite)
      else if (isPostgresUrl(this.spec.consensus)) consensus = await PostgresConsensus.server(this.spec.consensus)
      if (consensus !== undefined) closers.push(() => consensus.close())
      let blob: DirectoryBlob | undefined
      if (this.spec.blobDir !== null) {
        const dir = await mkdtemp(join(resolve(this.spec.blobDir), "run-"))
        const b = await DirectoryBlob.open(dir, { fsync: false, removeOnClose: true })
        blob = b
        closers.push(() => b.close())
      }
      return { backend: { ...(consensus !== undefined ? { consensus } : {}), ...(blob !== undefined ? { blob } : {}) }, close }
    } catch (e) {
      await close().catch(() => {})
      throw e
    }
  }

  async close(): Promise<void> {
    if (this.pglite !== undefined && !this.pglite.closed) await this.pglite.close()
  }
}

/** Opens the stores, runs `f`, closes them whatever happens. */
export const withRealStores = async <A>(spec: StoresSpec, f: (stores: RealStores) => Promise<A>): Promise<A> => {
  const stores = await RealStores.open(spec)
  try {
    return await f(stores)
  } finally {
    await stores.close()
  }
}

/** Runs `f` on a fresh backend, closing it afterwards. */
export const onFreshBackend = async <A>(stores: RealStores, f: (backend: Backend) => Promise<A>): Promise<A> => {
  const opened = await stores.fresh()
  try {
    return await f(opened.backend)
  } finally {
    await opened.close()
  }
}
