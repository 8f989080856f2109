/**
 * The simulated processes: each runs its role's program over the real core/ client, with its
 * own services (the simulated stores under its name, the world's metrics and bug switches,
 * and an observer that reports its panics and opened shards to the world). A crash interrupts
 * the process's fiber at its park point, which closes its scope and with it every background
 * task; a restarted process has empty memory.
 */
import { Cause, Effect, Exit, type Fiber, Layer } from "effect"
import { Blob } from "../../core/Blob.ts"
import { BugSwitches } from "../../core/BugSwitches.ts"
import { PersistClient } from "../../core/Client.ts"
import { Consensus } from "../../core/Consensus.ts"
import type { ShardId } from "../../core/Ids.ts"
import type { Machine } from "../../core/Machine.ts"
import { Metrics } from "../../core/Metrics.ts"
import { PersistConfig } from "../../core/PersistConfig.ts"
import { ProcessObserver } from "../../core/ProcessObserver.ts"
import type { WorldHost } from "./Host.ts"
import { simBlob, simConsensus } from "./SimStores.ts"
import type { Role } from "./SwarmConfig.ts"
import { programFor } from "./Workload.ts"

export interface Proc {
  readonly name: string
  readonly role: Role
  readonly incarnation: number
  /** Its place in the configured roles: a restart keeps it. */
  readonly index: number
  fiber: Fiber.RuntimeFiber<void, unknown> | undefined
  /** The machine of the shard, once the process opened it (its cached state). */
  machine: Machine | undefined
  /** Its persist client, once made (the GC-race nemesis reaches its GC worker through it). */
  client: PersistClient | undefined
  done: boolean
}

/**
 * The services of process `name` (also its hostname in state). `watchGc` false: no GC hook,
 * as in persist (SwarmConfig.ts `unwatchedGcFor`).
 */
export const layerFor = (world: WorldHost, name: string, onShardOpened: (shardId: ShardId, machine: Machine) => void = () => {}, watchGc = true) =>
  Layer.mergeAll(
    Layer.succeed(Consensus, simConsensus(world, name)),
    Layer.succeed(Blob, simBlob(world, name)),
    Layer.succeed(PersistConfig, { ...world.persistCfg, hostname: name }),
    Layer.succeed(Metrics, world.metrics),
    Layer.succeed(BugSwitches, world.bugs),
    Layer.succeed(ProcessObserver, {
      backgroundFailure: (cause) => world.onProcessFailure(name, cause, "background task"),
      shardOpened: (shardId, machine) => {
        if (shardId === world.shardId) world.checker.onOpened(name, machine.seqno)
        onShardOpened(shardId, machine)
      },
      ...(watchGc ? { gc: world.checker.gcAudit.observerFor(name) } : {})
    })
  )

/** Starts (or restarts) a process running `role`'s program. */
export const startProcess = (world: WorldHost, role: Role, index: number, incarnation: number): Proc => {
  const name = incarnation === 1 ? `p${index}` : `p${index}.${incarnation}`
  const proc: Proc = { name, role, index, incarnation, fiber: undefined, machine: undefined, client: undefined, done: false }
  const program = Effect.scoped(
    Effect.gen(function* () {
      const client = yield* PersistClient.make
      proc.client = client
      yield* programFor(role)({
        client,
        shardId: world.shardId,
        ops: world.config.opsPerProcess,
        draw: (bound, label) =>
          Effect.sync(() => {
            world.drawer = name
            try {
              return world.choices.draw(bound, label)
            } finally {
              world.drawer = "world"
            }
          }),
        onAppended: (writerId, seqno, batch) => world.checker.onAcked({ _tag: "Append", process: name, writerId, seqno, batch }),
        onDowngraded: (readerId, seqno, since) => world.checker.onAcked({ _tag: "Downgrade", process: name, readerId, seqno, since })
      })
    })
  ).pipe(Effect.provide(layerFor(world, name, (shardId, machine) => shardId === world.shardId && (proc.machine = machine), world.config.unwatchedGc !== index)))
  proc.fiber = world.kernel.fork(program)
  proc.fiber.addObserver((exit) => {
    proc.done = true
    if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) world.onProcessFailure(name, exit.cause, "program")
  })
  return proc
}
