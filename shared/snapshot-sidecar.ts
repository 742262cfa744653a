/**
 * The snapshot folder's sidecar format, pure: its type, layout number, file names and checker,
 * and the base64 of its state vector. Read by the relay's snapshot routes, the snapshotter's
 * store and export, and the client's cold start.
 */

/**
 * A snapshot's sidecar: DATA_DIR/snapshots/<board>/<version>.json, written after its PNG
 * (docs/SNAPSHOTS.md). `GET /api/boards/<id>/snapshot` answers the same fields plus URLs.
 */
export type SnapshotSidecar = {
  /** Layout of this object; readers refuse other values. */
  format: typeof SIDECAR_FORMAT
  board: string
  /** Sum of the state vector's clocks: grows with every change of the board document. */
  version: number
  /** Y.encodeStateVector of the document the PNG was painted from, base64. */
  stateVector: string
  /** The epoch map's Yjs item id ("client:clock"), or null before the first placement. */
  epoch: string | null
  /** When the snapshot was taken, ms since the Unix epoch. */
  time: number
  width: number
  height: number
  /** The board's palette then; PNG index i is palette[i]. */
  palette: string[]
  /** The board descriptor's change counter then (DocConfig.version). */
  configVersion: number
  /** File name of the PNG beside this sidecar: "<version>.png". */
  png: string
  /** Size of that PNG, bytes. */
  pngBytes: number
  /**
   * The history seq the PNG holds: every tile write up to it and none after (a reader catches up
   * with since=<seq>: 4 bytes a write). Null or absent: not known (a sidecar written before
   * snapshots carried it, or the snapshotter had not yet heard a cursor); catch up from
   * `stateVector` then.
   */
  seq?: number | null
}

/** Current sidecar layout. */
export const SIDECAR_FORMAT = 1

/** File names in a board's snapshot folder. Versions are decimal integers without padding. */
export const SnapshotFiles = {
  png: (version: number) => `${version}.png`,
  sidecar: (version: number) => `${version}.json`,
  /** A copy of the newest sidecar (the one mutable file; short cache lifetime). */
  latest: 'latest.json',
} as const

/** Checks a parsed sidecar. Returns null if any field is missing or has the wrong type. */
export const parseSidecar = (value: unknown): SnapshotSidecar | null => {
  if (typeof value !== 'object' || value === null) return null
  const s = value as Record<string, unknown>
  const int = (k: string) => Number.isSafeInteger(s[k]) && (s[k] as number) >= 0
  if (s.format !== SIDECAR_FORMAT || typeof s.board !== 'string' || typeof s.stateVector !== 'string') return null
  if (!['version', 'time', 'width', 'height', 'configVersion', 'pngBytes'].every(int)) return null
  if (!Array.isArray(s.palette) || !s.palette.every((c) => typeof c === 'string')) return null
  if (!(s.epoch === null || typeof s.epoch === 'string') || typeof s.png !== 'string') return null
  if (!(s.seq === undefined || s.seq === null || int('seq'))) return null
  return value as SnapshotSidecar
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
/** Value of each base64 character's code, -1 for every other code below 128. */
const BASE64_VALUE = Int8Array.from({ length: 128 }, (_, c) => BASE64.indexOf(String.fromCharCode(c)))

/**
 * Decodes base64 (a sidecar's stateVector) as atob does (the WHATWG forgiving-base64 decode:
 * ASCII whitespace ignored, padding optional, leftover bits dropped), without reaching a runtime
 * global: shared/ stays pure. Throws on text that is not base64, as atob does.
 */
export const fromBase64 = (text: string): Uint8Array => {
  let s = text.replace(/[\t\n\f\r ]/g, '')
  if (s.length % 4 === 0) s = s.replace(/==?$/, '')
  if (s.length % 4 === 1) throw new Error('fromBase64: the text is not base64 (its length)')
  const out = new Uint8Array(Math.floor((s.length * 3) / 4))
  let bits = 0
  let held = 0
  let o = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const v = c < 128 ? (BASE64_VALUE[c] as number) : -1
    if (v < 0) throw new Error(`fromBase64: ${JSON.stringify(s[i])} is not a base64 character`)
    bits = (bits << 6) | v
    held += 6
    if (held >= 8) {
      held -= 8
      out[o++] = (bits >> held) & 0xff
    }
  }
  return out
}
