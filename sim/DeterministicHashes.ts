/**
 * Effect gives plain objects (no Hash implementation) a random hash code the first time it
 * needs one (`Hash.random`, via `Math.random`), e.g. for the FiberScope in a fork-scope
 * override whenever a fiber is forked into a scope. That is nondeterminism on the simulated
 * path. While a world runs, such objects get the constant hash 0 instead: equality of plain
 * objects is by reference anyway, so a shared hash only costs collisions, never correctness,
 * and the run no longer depends on `Math.random`.
 */
import { GlobalValue } from "effect"

const cache = GlobalValue.globalValue(Symbol.for("effect/Hash/randomHashCache"), () => new WeakMap<object, number>())

export const withDeterministicHashes = <A>(f: () => A): A => {
  const has = cache.has
  const get = cache.get
  cache.has = () => true
  cache.get = (k: object) => WeakMap.prototype.get.call(cache, k) ?? 0
  try {
    return f()
  } finally {
    cache.has = has
    cache.get = get
  }
}
