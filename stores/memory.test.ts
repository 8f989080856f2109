/** The contract suites on core's in-memory stores: their Effect services, and the promise face. */
import { Effect } from "effect"
import { Blob } from "../core/Blob.ts"
import { Consensus } from "../core/Consensus.ts"
import { memoryBlob, memoryConsensus } from "./AsyncStores.ts"
import { blobContract, consensusContract } from "./contract.ts"

const none = () => Promise.resolve()

consensusContract("memory (Consensus.memory)", async () => ({ service: Effect.runSync(Effect.provide(Consensus, Consensus.memory)), close: none }))
consensusContract("memory (promise face)", async () => {
  const c = memoryConsensus()
  return { service: c.toService(), close: () => c.close() }
})
blobContract("memory (Blob.memory)", async () => ({ service: Effect.runSync(Effect.provide(Blob, Blob.memory)), close: none }))
blobContract("memory (promise face)", async () => {
  const b = memoryBlob()
  return { service: b.toService(), close: () => b.close() }
})
