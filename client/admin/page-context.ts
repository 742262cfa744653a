/** What every part of the moderation page shares: the API, the board shown, and the message line. */
import type { AdminApi, AdminError } from './admin-api.ts'

export type PageContext = {
  api: AdminApi
  /** The board shown now. */
  board: () => string
  /** The board's palette now ("#rrggbb"). */
  palette: () => readonly string[]
  /** Shows a sentence in the message line (role=status): what was done, or why not. */
  say: (text: string, kind?: 'ok' | 'error') => void
  /** Shows a refusal as a sentence. */
  fail: (e: AdminError) => void
  /** Something changed through the API: refresh the lists that show it (audit log, protections). */
  changed: () => void
}

/** A time as the page shows it (local, to the second). */
export const formatTime = (ms: number): string => new Date(ms).toLocaleString(undefined, { hour12: false })
