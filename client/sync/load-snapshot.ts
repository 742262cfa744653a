/**
 * The latest snapshot, as the first paint of a board that has none stored: its PNG decoded to
 * colour indices, and the state vector it stands at (the sync then asks for what followed).
 * Used by the app (client/app.ts) and the embeds (client/embed/board-embed.ts).
 */
import { fromBase64 } from '../../shared/cold-start.ts'
import { type ApiResult, fetchBytes, type SnapshotInfo } from './api.ts'
import { browserInflate, decodePngIndices } from './png-indices.ts'

/** The snapshot's pixels as colour indices and the state vector they stand at, or null (none, or unreadable). */
export const loadSnapshot = async (
  origin: string,
  metaAsked: Promise<ApiResult<SnapshotInfo>>,
): Promise<{ bitmap: Uint8Array; width: number; height: number; stateVector: Uint8Array } | null> => {
  const meta = await metaAsked
  if (!meta.ok) return null
  const bytes = await fetchBytes(`${origin}${meta.pngUrl}`)
  if (!bytes) return null
  try {
    // Measured for the console and test/perf/client-start.ts: performance.getEntriesByName('tessera:snapshot-decode').
    const startedAt = performance.now()
    const png = await decodePngIndices(bytes, browserInflate)
    performance.measure('tessera:snapshot-decode', { start: startedAt })
    if ('error' in png || png.width !== meta.width || png.height !== meta.height) return null
    return { bitmap: png.bitmap, width: png.width, height: png.height, stateVector: fromBase64(meta.stateVector) }
  } catch {
    return null
  }
}
