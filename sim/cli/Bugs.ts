/**
 * Resolving `--bug NAME` against the planted-bug catalogue (scenarios/), here at the front door
 * so that the world and the trace layer only ever see switches.
 */
import type { BugSwitchesShape } from "../../core/BugSwitches.ts"
import { findBug } from "../../scenarios/Bugs.ts"
import { UsageError } from "./Args.ts"

export const bugSwitches = (bug: string | null): Partial<BugSwitchesShape> => {
  if (bug === null) return {}
  const b = findBug(bug)
  if (b === undefined) throw new UsageError(`unknown bug ${JSON.stringify(bug)} (see --list-bugs)`)
  return { [b.switch]: true }
}
