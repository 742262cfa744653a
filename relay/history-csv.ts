/**
 * The placement history as CSV, in the shape of Reddit's public r/place data: one row per write,
 * time, pseudonymous user, x, y, colour. Shared by the admin API (streamed over HTTP) and
 * `npm run export-history` (read from DATA_DIR).
 */
import type { PlacementRecord } from '../shared/placement-record.ts'

export const HISTORY_CSV_HEADER = 'placed_at,user,x,y,color,kind'

const KIND_NAMES = ['placement', 'fill', 'restore'] as const

/**
 * One CSV row (with its newline). Users are pseudonymised; the relay's own writers ('@admin',
 * '@restore') are shown as they are. Colours are "#rrggbb" from the palette.
 */
export const historyCsvRow = (r: PlacementRecord, palette: readonly string[], anonymise: (user: string) => string): string => {
  const user = r.user.startsWith('@') ? r.user : anonymise(r.user)
  return `${new Date(r.placedAt).toISOString()},${user},${r.x},${r.y},${palette[r.color] ?? r.color},${KIND_NAMES[r.kind] ?? r.kind}\n`
}
