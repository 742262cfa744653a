/**
 * Which snapshots to keep (pure policy; store.ts deletes). Default, documented in
 * docs/SNAPSHOTS.md: every snapshot of the last hour; then one per 10 minutes up to a day old;
 * one per hour up to 30 days; one per day after that (kept for good unless maxAgeMs is set).
 * The newest snapshot is always kept.
 *
 * In each bucket (a period of `everyMs` aligned to the Unix epoch) the EARLIEST snapshot is the
 * one kept: it stays the earliest as newer ones arrive, so what survives never changes once it
 * ages into a tier, and a tier's periods nest in the next tier's (10 min divides 1 h divides 1 d).
 */

/** Snapshots older than `olderThanMs` are thinned to one per `everyMs`. */
export type RetentionTier = { olderThanMs: number; everyMs: number }

export type RetentionPolicy = {
  /** Ascending by olderThanMs. Snapshots younger than the first tier are all kept. */
  tiers: RetentionTier[]
  /** Snapshots older than this are deleted (except the newest); null = never. */
  maxAgeMs: number | null
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

export const DEFAULT_RETENTION: RetentionPolicy = {
  tiers: [
    { olderThanMs: HOUR, everyMs: 10 * MINUTE },
    { olderThanMs: DAY, everyMs: HOUR },
    { olderThanMs: 30 * DAY, everyMs: DAY },
  ],
  maxAgeMs: null,
}

const UNITS: Record<string, number> = { s: 1000, m: MINUTE, h: HOUR, d: DAY }

/** Parses a duration like "90s", "10m", "24h", "30d" into ms, or null. */
export const parseDuration = (text: string): number | null => {
  const m = /^(\d{1,6})([smhd])$/.exec(text.trim())
  return m ? Number(m[1]) * (UNITS[m[2] as string] as number) : null
}

/**
 * Parses tiers written "age:every,age:every", e.g. the default "1h:10m,1d:1h,30d:1d".
 * Returns the tiers or an error message.
 */
export const parseRetentionTiers = (text: string): { ok: true; tiers: RetentionTier[] } | { ok: false; error: string } => {
  const tiers: RetentionTier[] = []
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const [age, every] = part.split(':')
    const olderThanMs = parseDuration(age ?? '')
    const everyMs = parseDuration(every ?? '')
    if (olderThanMs === null || everyMs === null || everyMs === 0) {
      return { ok: false, error: `retention tier ${JSON.stringify(part)} is not "<age>:<every>" (e.g. 1h:10m)` }
    }
    tiers.push({ olderThanMs, everyMs })
  }
  tiers.sort((a, b) => a.olderThanMs - b.olderThanMs)
  return { ok: true, tiers }
}

/** What retention needs to know of a snapshot. Times in ms since the Unix epoch. */
export type SnapshotEntry = { version: number; time: number }

/** Versions to delete now, given every kept snapshot and the clock. */
export const snapshotsToDelete = (entries: readonly SnapshotEntry[], now: number, policy: RetentionPolicy): number[] => {
  if (entries.length === 0) return []
  const sorted = [...entries].sort((a, b) => a.time - b.time || a.version - b.version)
  const newest = sorted[sorted.length - 1] as SnapshotEntry
  const seen = new Set<string>()
  const doomed: number[] = []
  for (const e of sorted) {
    if (e === newest) break
    const age = now - e.time
    if (policy.maxAgeMs !== null && age > policy.maxAgeMs) {
      doomed.push(e.version)
      continue
    }
    let tier = -1
    for (let i = 0; i < policy.tiers.length; i++) if (age >= (policy.tiers[i] as RetentionTier).olderThanMs) tier = i
    if (tier < 0) continue
    const bucket = `${tier}:${Math.floor(e.time / (policy.tiers[tier] as RetentionTier).everyMs)}`
    if (seen.has(bucket)) doomed.push(e.version)
    else seen.add(bucket)
  }
  return doomed
}
