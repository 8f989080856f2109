/**
 * Attributes a V8 CPU profile of the bundled simulator to the parts of the system, for the
 * bench's cost split (issue 13). The bench profiles itself (node:inspector), so the frames'
 * URLs are its own esbuild bundle; esbuild starts every module of a non-minified bundle with a
 * `// path/to/Module.ts` line, which maps a frame's line back to its source module.
 *
 * Each sample goes to one part, decided by its stack:
 *   checker   any frame of sim/check/ on the stack (the checker runs inside the world's step)
 *   trace     else, the innermost frame of ours is in sim/trace/ (event records, digest)
 *   kernel    ... in sim/kernel/ (scheduler, clock, traps, tape), except Effect's own frames
 *             run from the scheduler, which are the port's fibers running:
 *   effect    Effect library frames whose innermost frame of ours is the kernel's scheduler
 *             loop (fiber run loops, FiberRefs, schedules of the port's code)
 *   port      ... in core/ (the system under test), Effect frames called from it included
 *   world     ... in sim/world/ (driver, parking stores, faults, workload programs)
 *   gc        V8's garbage collector (not attributable to one part)
 *   other     anything else (module loading, Node internals)
 * Samples of "(idle)" (the thread waiting, not computing) are left out.
 * The system under test is port + effect (+ most of gc); the harness is kernel + trace + world.
 */

export interface CpuProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}
export interface CpuProfile {
  readonly nodes: ReadonlyArray<CpuProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

export const PARTS = ["port", "effect", "checker", "world", "kernel", "trace", "gc", "other"] as const
export type Part = (typeof PARTS)[number]

/** Line numbers (0-based) where each module of a bundle starts, with its path. */
export const moduleStarts = (bundleText: string): ReadonlyArray<readonly [number, string]> => {
  const out: Array<readonly [number, string]> = []
  const lines = bundleText.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const m = /^\/\/ ((?:core|sim|scenarios|reports|stores)\/[\w/.-]+\.ts)$/.exec(lines[i]!)
    if (m !== null) out.push([i, m[1]!])
  }
  return out
}

const moduleAt = (starts: ReadonlyArray<readonly [number, string]>, line: number): string | undefined => {
  let lo = 0
  let hi = starts.length - 1
  let found: string | undefined
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (starts[mid]![0] <= line) {
      found = starts[mid]![1]
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/**
 * Milliseconds of samples per part. `isBundle(url)` says which frames are ours (the bundle
 * file); `isEffect(url)` which are the Effect library's.
 */
export const splitProfile = (
  profile: CpuProfile,
  bundleText: string,
  isBundle: (url: string) => boolean,
  isEffect: (url: string) => boolean
): Record<Part, number> => {
  const starts = moduleStarts(bundleText)
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const partOf = new Map<number, Part>()
  const classify = (id: number): Part => {
    const leaf = byId.get(id)!
    if (leaf.callFrame.functionName === "(garbage collector)") return "gc"
    let sawEffect = false
    let innermost: string | undefined
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame
      if (isEffect(f.url)) {
        if (innermost === undefined) sawEffect = true
        continue
      }
      if (!isBundle(f.url)) continue
      const mod = moduleAt(starts, f.lineNumber) ?? ""
      if (mod.startsWith("sim/check/")) return "checker"
      innermost ??= mod
    }
    if (innermost === undefined) return "other"
    if (innermost.startsWith("core/")) return "port"
    if (innermost.startsWith("sim/kernel/")) return sawEffect ? "effect" : "kernel"
    if (innermost.startsWith("sim/trace/")) return "trace"
    if (innermost.startsWith("sim/world/")) return "world"
    return "other"
  }
  const out = Object.fromEntries(PARTS.map((p) => [p, 0])) as Record<Part, number>
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!
    if (byId.get(id)!.callFrame.functionName === "(idle)") continue
    let p = partOf.get(id)
    if (p === undefined) {
      p = classify(id)
      partOf.set(id, p)
    }
    out[p] += (profile.timeDeltas[i] ?? 0) / 1000
  }
  return out
}
