/**
 * When to compact (pure policy; doc-schema.ts does the writing). Counts are tile writes into a
 * shard's map since its base, live or overwritten: each costs memory until the map is replaced.
 */
export type CompactionLimits = {
  /** A shard with this many writes since its base is compacted. */
  shardWrites: number
  /** When all shards together hold more writes than this, the busiest are compacted. */
  totalWrites: number
}

/**
 * Default limits. The total bounds the document (its struct count, heap, the full sync answer
 * and the time a start takes to load it): 50,000 pending writes load in about a quarter of the
 * time 200,000 did. Compacting more often costs shard bases (4 KiB each) in Yjs update frames
 * only: live=tiles sockets never receive bases.
 */
export const DEFAULT_COMPACTION: CompactionLimits = { shardWrites: 1024, totalWrites: 50_000 }

/**
 * Shards to compact now: every touched shard at its own limit, then the busiest shards until
 * the total falls to three quarters of its limit (hysteresis, so that one busy tick does not
 * compact a shard at a time over and over).
 */
export const pickShardsToCompact = (
  writes: ReadonlyMap<string, number>,
  touched: Iterable<string>,
  total: number,
  limits: CompactionLimits,
): string[] => {
  const picked = new Set<string>()
  for (const key of touched) {
    if ((writes.get(key) ?? 0) >= limits.shardWrites) picked.add(key)
  }
  let remaining = total
  for (const key of picked) remaining -= writes.get(key) ?? 0
  if (remaining > limits.totalWrites) {
    const target = Math.floor(limits.totalWrites * 0.75)
    const busiest = [...writes.entries()].filter(([k]) => !picked.has(k)).sort((a, b) => b[1] - a[1])
    for (const [key, n] of busiest) {
      if (remaining <= target) break
      picked.add(key)
      remaining -= n
    }
  }
  return [...picked]
}

/**
 * Whether the epoch map holds enough tombstones (one per shard replacement) to be replaced
 * itself: more than four per shard, and at least 256, so that a new epoch (which re-sends every
 * shard's base) stays rare next to the shard compactions it clears.
 */
export const shouldStartEpoch = (replacementsThisEpoch: number, shardCount: number): boolean =>
  replacementsThisEpoch > Math.max(256, 4 * shardCount)
