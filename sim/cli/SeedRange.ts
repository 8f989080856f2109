/**
 * The seeds a sweep runs, as arithmetic instead of a list: `--seeds 1..1000000000 --shard
 * 1/100000` is the progression 1, 100001, 200001, … and nothing of size ~10^9 is ever built.
 * Bounds are below 2^32 (Args.ts), so every seed and count here is a safe integer.
 */
export interface SeedSlice {
  readonly first: number
  readonly stride: number
  /** How many seeds the slice has (0 when the shard starts past the range's end). */
  readonly count: number
}

export const sliceOf = (range: { readonly from: number; readonly to: number }, shard: { readonly k: number; readonly n: number } | null): SeedSlice => {
  const stride = shard?.n ?? 1
  const first = range.from + (shard === null ? 0 : shard.k - 1)
  return { first, stride, count: first > range.to ? 0 : Math.floor((range.to - first) / stride) + 1 }
}

/** The i-th seed of the slice (0 <= i < count). */
export const seedAt = (s: SeedSlice, i: number): number => s.first + i * s.stride
