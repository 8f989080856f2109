/**
 * Consensus (spec CT-1) on Postgres, with the schema and statements of persist's
 * `PostgresConsensus` (`src/persist/src/postgres.rs`): one table keyed by
 * `(shard, sequence_number)` with a `bytea` payload; compare-and-set is one conditional
 * `INSERT ... SELECT` (for an expected seqno: only if that seqno is the shard's current head;
 * for none: only if the shard has no rows); head is the largest row; scan is a range with a
 * `LIMIT`; truncate deletes the rows below the bound only if a row at or above it exists, and
 * when it deleted nothing looks at the head to tell "nothing to delete" from "past the head / no
 * data" (a contract violation).
 *
 * It runs on any `SqlClient`: embedded PGlite (`PostgresConsensus.pglite()`, in memory) or a
 * server through `pg` (`PostgresConsensus.server(url)`). Each instance creates its own schema
 * (`persist_sim_<random>`) and names its table through it, so instances sharing a database or
 * one PGlite never see each other; `close()` drops the schema and releases a client it owns.
 *
 * Errors, as persist maps them (`location.rs`, `From<tokio_postgres::Error>`): a database error
 * with SQLSTATE `40001` (serialization failure) is Determinate; every other database error, a
 * connection failure, a closed client, anything else, is Indeterminate. A unique violation on
 * the insert is an ExpectationMismatch (a concurrent CaS won the same seqno), as in persist's
 * newest version. Argument checks are core's (`checkCompareAndSet`, `checkSeqNo`,
 * `checkLimit`), done before any SQL, with the same Indeterminate contract violation.
 *
 * The server connection runs at SERIALIZABLE isolation, as persist's first Postgres consensus
 * did, so two concurrent compare-and-sets with different new seqnos cannot both commit; the
 * loser gets `40001` (Determinate, retried by `retry_determinate`).
 */
import { randomUUID } from "node:crypto"
import type { PGlite } from "@electric-sql/pglite"
import type { CaSResult, VersionedData } from "../core/Consensus.ts"
import { checkCompareAndSet, checkLimit, checkSeqNo, ConsensusContractError, CONTRACT_VIOLATION } from "../core/Consensus.ts"
import { Determinate, Indeterminate } from "../core/Errors.ts"
import { SeqNo } from "../core/SeqNo.ts"
import { type AsyncConsensus, consensusService } from "./AsyncStores.ts"

/** The little a backend needs from a SQL driver. */
export interface SqlClient {
  readonly flavor: string
  query(sql: string, params: ReadonlyArray<unknown>): Promise<{ readonly rows: ReadonlyArray<Record<string, unknown>>; readonly rowCount: number }>
  /** One or more statements without parameters. */
  exec(sql: string): Promise<void>
  close(): Promise<void>
}

/** A SqlClient over a PGlite handle (a fresh in-memory database unless one is given). */
export const pgliteClient = async (existing?: PGlite): Promise<SqlClient> => {
  const db = existing ?? (await (await import("@electric-sql/pglite")).PGlite.create())
  return {
    flavor: "pglite",
    query: async (sql, params) => {
      const r = await db.query<Record<string, unknown>>(sql, [...params])
      return { rows: r.rows, rowCount: r.affectedRows ?? 0 }
    },
    exec: async (sql) => {
      await db.exec(sql)
    },
    // A handle passed in belongs to the caller.
    close: async () => {
      if (existing === undefined && !db.closed) await db.close()
    }
  }
}

/** A SqlClient over one `pg` connection to a server, at SERIALIZABLE isolation. */
export const pgClient = async (url: string): Promise<SqlClient> => {
  const { default: pg } = await import("pg")
  const client = new pg.Client({ connectionString: url })
  // A connection that dies between calls must not crash the process; the next call fails.
  client.on("error", () => {})
  await client.connect()
  await client.query("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE")
  let closed = false
  return {
    flavor: "server",
    query: async (sql, params) => {
      const r = await client.query(sql, [...params])
      return { rows: r.rows as ReadonlyArray<Record<string, unknown>>, rowCount: r.rowCount ?? 0 }
    },
    exec: async (sql) => {
      await client.query(sql)
    },
    close: async () => {
      if (closed) return
      closed = true
      await client.end()
    }
  }
}

/** A driver error as persist classifies it: only a serialization failure is Determinate. */
export const classifySqlError = (e: unknown): Determinate | Indeterminate => {
  if (e instanceof Determinate || e instanceof Indeterminate) return e
  const code = typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined
  const message = e instanceof Error ? e.message : String(e)
  if (code === "40001") return new Determinate({ message: `postgres ${code}: ${message}` })
  return new Indeterminate({ message: code === undefined ? message : `postgres ${code}: ${message}` })
}

const UNIQUE_VIOLATION = "23505"

const contract = (message: string): Indeterminate => new Indeterminate({ message: CONTRACT_VIOLATION + message, contractViolation: true })

/** Runs core's argument checks, turning their error into the rejection every backend uses. */
const check = (f: () => void): void => {
  try {
    f()
  } catch (e) {
    if (e instanceof ConsensusContractError) throw contract(e.message)
    throw e
  }
}

const toSeqNo = (v: unknown): SeqNo => {
  const n = Number(v)
  if (!SeqNo.isValid(n) || n > SeqNo.maximum) throw new Indeterminate({ message: `sequence_number out of range in consensus table: ${String(v)}` })
  return SeqNo(n)
}

const toBytes = (v: unknown): Uint8Array => {
  if (!(v instanceof Uint8Array)) throw new Indeterminate({ message: "data column is not bytea" })
  // pg gives a Buffer (a Uint8Array over a shared pool); hand out a plain, private copy.
  return new Uint8Array(v)
}

const toRow = (r: Record<string, unknown>): VersionedData => ({ seqno: toSeqNo(r["seqno"]), data: toBytes(r["data"]) })

export class PostgresConsensus implements AsyncConsensus {
  private closed = false

  private constructor(
    private readonly client: SqlClient,
    /** The per-instance schema, quoted for SQL. */
    private readonly table: string,
    private readonly schema: string,
    private readonly ownsClient: boolean
  ) {}

  get name(): string {
    return this.client.flavor === "pglite" ? "pglite" : "postgres"
  }

  /** A store in a fresh schema on `client`; `ownsClient`: close() also closes the client. */
  static async open(client: SqlClient, ownsClient: boolean): Promise<PostgresConsensus> {
    const schema = `persist_sim_${randomUUID().replaceAll("-", "")}`
    const table = `"${schema}".consensus`
    try {
      await client.exec(
        `CREATE SCHEMA "${schema}";
         CREATE TABLE ${table} (
           shard text NOT NULL,
           sequence_number bigint NOT NULL,
           data bytea NOT NULL,
           PRIMARY KEY (shard, sequence_number)
         );`
      )
    } catch (e) {
      if (ownsClient) await client.close().catch(() => {})
      throw classifySqlError(e)
    }
    return new PostgresConsensus(client, table, schema, ownsClient)
  }

  /** On a fresh in-memory PGlite (or in a fresh schema of the one given, which stays the caller's). */
  static async pglite(db?: PGlite): Promise<PostgresConsensus> {
    return PostgresConsensus.open(await pgliteClient(db), db === undefined)
  }

  /** On a server, e.g. `postgres://user@127.0.0.1:55432/db`, over its own connection. */
  static async server(url: string): Promise<PostgresConsensus> {
    let client: SqlClient
    try {
      client = await pgClient(url)
    } catch (e) {
      throw classifySqlError(e)
    }
    return PostgresConsensus.open(client, true)
  }

  private async sql(sql: string, params: ReadonlyArray<unknown>) {
    if (this.closed) throw new Indeterminate({ message: "PostgresConsensus is closed" })
    try {
      return await this.client.query(sql, params)
    } catch (e) {
      throw classifySqlError(e)
    }
  }

  async head(key: string): Promise<VersionedData | undefined> {
    const r = await this.sql(
      `SELECT sequence_number::text AS seqno, data FROM ${this.table}
       WHERE shard = $1 ORDER BY sequence_number DESC LIMIT 1`,
      [key]
    )
    const row = r.rows[0]
    return row === undefined ? undefined : toRow(row)
  }

  async compareAndSet(key: string, expected: SeqNo | null, next: VersionedData): Promise<CaSResult> {
    check(() => checkCompareAndSet(expected, next))
    const data = next.data.slice()
    try {
      const r = expected === null
        ? await this.sql(
          `INSERT INTO ${this.table} (shard, sequence_number, data)
           SELECT $1::text, $2::bigint, $3::bytea
           WHERE NOT EXISTS (SELECT 1 FROM ${this.table} WHERE shard = $1)
           ON CONFLICT DO NOTHING`,
          [key, String(next.seqno), data]
        )
        : await this.sql(
          `INSERT INTO ${this.table} (shard, sequence_number, data)
           SELECT $1::text, $2::bigint, $3::bytea
           WHERE (SELECT sequence_number FROM ${this.table}
                  WHERE shard = $1 ORDER BY sequence_number DESC LIMIT 1) = $4::bigint
           ON CONFLICT DO NOTHING`,
          [key, String(next.seqno), data, String(expected)]
        )
      return r.rowCount >= 1 ? "Committed" : "ExpectationMismatch"
    } catch (e) {
      if (e instanceof Indeterminate && e.message.startsWith(`postgres ${UNIQUE_VIOLATION}`)) return "ExpectationMismatch"
      throw e
    }
  }

  async scan(key: string, from: SeqNo, limit: number): Promise<ReadonlyArray<VersionedData>> {
    check(() => {
      checkSeqNo("scan lower bound", from)
      checkLimit(limit)
    })
    const r = await this.sql(
      `SELECT sequence_number::text AS seqno, data FROM ${this.table}
       WHERE shard = $1 AND sequence_number >= $2::bigint
       ORDER BY sequence_number ASC LIMIT $3::bigint`,
      [key, String(from), String(limit)]
    )
    return r.rows.map(toRow)
  }

  async truncate(key: string, seqno: SeqNo): Promise<number> {
    check(() => checkSeqNo("truncate bound", seqno))
    const r = await this.sql(
      `DELETE FROM ${this.table}
       WHERE shard = $1 AND sequence_number < $2::bigint
         AND EXISTS (SELECT 1 FROM ${this.table} WHERE shard = $1 AND sequence_number >= $2::bigint)`,
      [key, String(seqno)]
    )
    if (r.rowCount === 0) {
      // Nothing deleted: either nothing lay below the bound, or the bound is past the head (or
      // the key has no data). Looking at the head in a second statement is safe for the same
      // reason persist gives: a shard that has data keeps some, and its head only grows.
      const head = await this.head(key)
      if (head === undefined) throw contract(`cannot truncate ${key}: it has no data`)
      if (head.seqno < seqno) throw contract(`upper bound too high for truncate: ${seqno} (head is ${head.seqno})`)
    }
    return r.rowCount
  }

  toService() {
    return consensusService(this)
  }

  /** Drops this instance's schema and closes a client it owns. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    try {
      await this.client.exec(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`)
    } finally {
      if (this.ownsClient) await this.client.close()
    }
  }
}
