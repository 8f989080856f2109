/**
 * Effect scheduler for the simulation: a plain FIFO of tasks that only the
 * driver drains (DESIGN.md §4 "Scheduler"). Nothing here touches the event
 * loop, so a whole run is one synchronous call.
 */
import type { Fiber, Scheduler } from "effect"

export class SimScheduler implements Scheduler.Scheduler {
  // A growable array with a read cursor instead of Array#shift (O(n) per task).
  private queue: Array<Scheduler.Task> = []
  private head = 0
  private executed = 0

  /**
   * Never yields. Effect calls this once per evaluated op, so it must be cheap;
   * and op-count yields would add interleavings that no Choice decides: with
   * no yields, fibers switch only at real suspension points (park, sleep,
   * fork, join, Deferred...), which are exactly the points the driver chooses
   * between. A fiber that loops forever without suspending would hang the run
   * either way; `runUntilIdle`'s budget is the guard for that.
   */
  shouldYield(_fiber: Fiber.RuntimeFiber<unknown, unknown>): number | false {
    return false
  }

  /**
   * Priority is ignored: one FIFO keeps the order a function of the enqueue
   * order alone. Effect only uses non-default priorities for explicit
   * `yieldNow({ priority })`, which the simulated code has no reason to use.
   */
  scheduleTask(task: Scheduler.Task, _priority: number): void {
    this.queue.push(task)
  }

  get isIdle(): boolean {
    return this.head === this.queue.length
  }

  /** Tasks waiting to run. */
  get queued(): number {
    return this.queue.length - this.head
  }

  /** Tasks run since creation (a cheap progress measure for benchmarks and traces). */
  get tasksRun(): number {
    return this.executed
  }

  /**
   * Runs queued tasks in FIFO order, including those they enqueue, until the
   * queue is empty. Returns the number of tasks run. Throws if more than
   * `budget` tasks run (a livelock: fibers keep waking each other up without
   * ever parking).
   */
  runUntilIdle(budget: number = Infinity): number {
    let ran = 0
    while (this.head < this.queue.length) {
      if (ran >= budget) {
        throw new Error(`SimScheduler.runUntilIdle: more than ${budget} tasks without becoming idle (livelock?)`)
      }
      const task = this.queue[this.head]!
      // Drop the reference so finished fibers can be collected while we run.
      this.queue[this.head] = undefined as unknown as Scheduler.Task
      this.head++
      ran++
      this.executed++
      try {
        task()
      } finally {
        // Reset the cursor whenever the queue drains, and compact a long
        // consumed prefix so a never-draining queue does not grow forever.
        if (this.head === this.queue.length) {
          this.queue.length = 0
          this.head = 0
        } else if (this.head >= 4096 && this.head * 2 >= this.queue.length) {
          this.queue = this.queue.slice(this.head)
          this.head = 0
        }
      }
    }
    return ran
  }
}
