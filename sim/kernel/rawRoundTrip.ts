/**
 * Benchmark helper: the kernel's own cost per simulated request, i.e. one
 * park + deliver + resume, with no world logic around it. Timed with the real
 * clock, so it must never run inside the nondeterminism traps.
 */
import { Effect, Exit } from "effect"
import { Kernel } from "./Kernel.ts"

export interface RawRoundTrip {
  readonly requests: number
  readonly ns: number
  readonly nsPerRoundTrip: number
}

export const measureRawRoundTrip = (n: number): RawRoundTrip => {
  const kernel = new Kernel()
  const request = kernel.park<number>({ process: "bench", op: "ping" }, undefined)
  const reply = Exit.succeed(1)
  const fiber = kernel.fork(
    Effect.gen(function*() {
      let sum = 0
      for (let i = 0; i < n; i++) sum += yield* request
      return sum
    })
  )
  let requests = 0
  const start = process.hrtime.bigint()
  kernel.runUntilQuiet()
  while (kernel.pending.length > 0) {
    kernel.deliver(0, reply)
    requests++
    kernel.runUntilQuiet()
  }
  const ns = Number(process.hrtime.bigint() - start)
  const exit = fiber.unsafePoll()
  if (exit === null || !Exit.isSuccess(exit) || exit.value !== n) {
    throw new Error(`measureRawRoundTrip: fiber did not complete its ${n} requests`)
  }
  return { requests, ns, nsPerRoundTrip: requests === 0 ? 0 : ns / requests }
}
