/**
 * PostgresConsensus: the contract suite on embedded PGlite, and on a server when
 * PERSIST_SIM_POSTGRES_URL names one (`.ci/run` starts a throwaway server and sets it);
 * per-instance isolation, teardown, and persist's error classification.
 */
import { PGlite } from "@electric-sql/pglite"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { isContractViolation } from "../core/Consensus.ts"
import { Determinate, Indeterminate } from "../core/Errors.ts"
import { SCAN_ALL, SeqNo } from "../core/SeqNo.ts"
import { consensusContract } from "./contract.ts"
import { classifySqlError, PostgresConsensus } from "./PostgresConsensus.ts"

const SERVER_URL = process.env["PERSIST_SIM_POSTGRES_URL"]
const row = (seqno: number, s = `d${seqno}`) => ({ seqno: SeqNo(seqno), data: new TextEncoder().encode(s) })

consensusContract("PGlite", async () => {
  const c = await PostgresConsensus.pglite()
  return { service: c.toService(), close: () => c.close() }
})

if (SERVER_URL === undefined || SERVER_URL === "") {
  describe("Consensus contract (CT-1): Postgres server", () => {
    // As persist's new_for_test panics in CI without its URL: where a server is promised, its
    // absence is a failure, not a skip.
    if (process.env["PERSIST_SIM_REQUIRE_POSTGRES"] === "1") {
      it("PERSIST_SIM_REQUIRE_POSTGRES=1 but PERSIST_SIM_POSTGRES_URL is not set", () => {
        expect.fail("no Postgres server URL although one is required")
      })
    }
    it.skip("skipped: PERSIST_SIM_POSTGRES_URL is not set, so there is no server to test against (.ci/run starts one and sets it)", () => {})
  })
} else {
  consensusContract("Postgres server", async () => {
    const c = await PostgresConsensus.server(SERVER_URL)
    return { service: c.toService(), close: () => c.close() }
  })
}

describe("PostgresConsensus - instances and errors", () => {
  let db: PGlite
  beforeAll(async () => {
    db = await PGlite.create()
  }, 120_000)
  afterAll(async () => {
    await db.close()
  })

  const schemas = async (): Promise<Array<string>> =>
    (await db.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'persist_sim_%' ORDER BY 1")).rows.map((r) => r.nspname)

  it("two instances on one database do not see each other; close drops the instance's schema and keeps a shared handle open", async () => {
    const a = await PostgresConsensus.pglite(db)
    const b = await PostgresConsensus.pglite(db)
    expect(await a.compareAndSet("k", null, row(1))).toBe("Committed")
    expect(await b.head("k")).toBeUndefined()
    expect(await b.compareAndSet("k", null, row(7))).toBe("Committed")
    expect((await a.head("k"))?.seqno).toBe(1)
    expect((await schemas()).length).toBe(2)
    await a.close()
    await a.close()
    expect((await schemas()).length).toBe(1)
    expect((await b.scan("k", SeqNo(0), SCAN_ALL)).map((r) => r.seqno)).toEqual([7])
    await b.close()
    expect(await schemas()).toEqual([])
    expect(db.closed).toBe(false)
  })

  it("a closed store answers Indeterminate, not a contract violation", async () => {
    const a = await PostgresConsensus.pglite(db)
    await a.close()
    const e = await a.head("k").then(() => undefined, (x: unknown) => x)
    expect(e).toBeInstanceOf(Indeterminate)
    expect(isContractViolation(e as Indeterminate)).toBe(false)
  })

  it("a database error is Indeterminate unless it is a serialization failure (40001), which is Determinate", () => {
    expect(classifySqlError(Object.assign(new Error("could not serialize access"), { code: "40001" }))).toBeInstanceOf(Determinate)
    expect(classifySqlError(Object.assign(new Error("division by zero"), { code: "22012" }))).toBeInstanceOf(Indeterminate)
    expect(classifySqlError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBeInstanceOf(Indeterminate)
    expect(classifySqlError(new Error("Connection terminated unexpectedly"))).toBeInstanceOf(Indeterminate)
    expect(classifySqlError("weird")).toBeInstanceOf(Indeterminate)
  })

  it("a server that cannot be reached is an Indeterminate error (a connection-level failure)", async () => {
    const e = await PostgresConsensus.server("postgres://nobody@127.0.0.1:1/none").then(() => undefined, (x: unknown) => x)
    expect(e).toBeInstanceOf(Indeterminate)
  })
})
