/**
 * Loads a board's snapshot for a page to start from: the immutable versioned PNG read into colour
 * indices (client/sync/png-indices.ts), and where it stands: its history seq when the relay
 * named it (catch up with since=<seq>: 4 bytes a write), else its state vector (sync step 1: a
 * Yjs diff), fetched from the full metadata only then.
 */
import type { SnapshotSummary } from '../../shared/board.ts'
import { fromBase64 } from '../../shared/snapshot-sidecar.ts'
import { fetchBytes, fetchSnapshotInfo } from './api.ts'
import type { SyncBasis } from './board-sync.ts'
import { browserInflate, decodePngIndices } from './png-indices.ts'

export type LoadedSnapshot = { bitmap: Uint8Array; width: number; height: number; basis: SyncBasis }

/** The snapshot `summary` names, or null when it cannot be fetched or read (the page syncs without it). */
export const loadSnapshot = async (origin: string, boardId: string, summary: SnapshotSummary): Promise<LoadedSnapshot | null> => {
  const bytesAsked = fetchBytes(`${origin}${summary.pngUrl}`)
  const stateVectorAsked =
    summary.seq === null
      ? fetchSnapshotInfo(origin, boardId, summary.version).then((m) => (m.ok ? fromBase64(m.stateVector) : null))
      : Promise.resolve(null)
  const bytes = await bytesAsked
  if (!bytes) return null
  performance.mark('tessera:snapshot-bytes')
  try {
    // Measured for the console and the bench: performance.getEntriesByName('tessera:snapshot-decode').
    const startedAt = performance.now()
    const png = await decodePngIndices(bytes, browserInflate)
    performance.measure('tessera:snapshot-decode', { start: startedAt })
    if ('error' in png || png.width !== summary.width || png.height !== summary.height) return null
    let basis: SyncBasis
    if (summary.seq !== null) basis = { kind: 'since', cursor: summary.seq }
    else {
      const stateVector = await stateVectorAsked
      if (!stateVector) return null
      basis = { kind: 'sv', stateVector }
    }
    return { bitmap: png.bitmap, width: png.width, height: png.height, basis }
  } catch {
    return null
  }
}
