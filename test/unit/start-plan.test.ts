import { describe, expect, it } from 'vitest'
import { chooseStart, snapshotCost, YJS_BYTES_PER_WRITE } from '../../client/sync/start-plan.ts'
import type { SnapshotSummary } from '../../shared/board.ts'
import { MAX_RESUME_TILES } from '../../shared/protocol.ts'

const snap = (seq: number | null, pngBytes = 200_000): SnapshotSummary => ({
  version: 1,
  time: 0,
  width: 1000,
  height: 1000,
  pngUrl: '/snapshots/main/1.png',
  pngBytes,
  seq,
})

describe('chooseStart', () => {
  it('catches up from the stored board while that costs fewer bytes than the snapshot', () => {
    // 10,000 writes behind: 40 KB of Tiles values against a 200 KB PNG.
    expect(chooseStart(90_000, { seq: 100_000, snapshot: snap(95_000) })).toBe('stored')
    // 300,000 writes behind a 1.2 M board, a snapshot 1,000 writes old: 1.2 MB against 204 KB.
    expect(chooseStart(900_000, { seq: 1_200_000, snapshot: snap(1_199_000) })).toBe('snapshot')
    // Just past the break-even point (200 KB PNG + 4 B x 1,000 = 204 KB = 51,000 writes).
    expect(chooseStart(1_200_000 - 51_001, { seq: 1_200_000, snapshot: snap(1_199_000) })).toBe('snapshot')
    expect(chooseStart(1_200_000 - 50_999, { seq: 1_200_000, snapshot: snap(1_199_000) })).toBe('stored')
  })

  it('starts from the snapshot when the relay would answer a full sync, or its data was reset', () => {
    expect(chooseStart(0, { seq: MAX_RESUME_TILES + 10, snapshot: snap(MAX_RESUME_TILES, 10_000_000) })).toBe('snapshot')
    expect(chooseStart(5_000, { seq: 40, snapshot: snap(30) })).toBe('snapshot')
  })

  it('keeps the stored board without a snapshot, without the relay, or with an older snapshot', () => {
    expect(chooseStart(10, { seq: 900_000, snapshot: null })).toBe('stored')
    expect(chooseStart(10, { seq: undefined, snapshot: undefined })).toBe('stored')
    expect(chooseStart(500_000, { seq: 900_000, snapshot: snap(400_000) })).toBe('stored')
  })

  it('prices a snapshot of unknown seq as a Yjs diff from its state vector', () => {
    expect(snapshotCost(snap(null, 1000), 100)).toBe(1000 + 100 * YJS_BYTES_PER_WRITE)
    expect(snapshotCost(snap(60, 1000), 100)).toBe(1000 + 40 * 4)
  })
})
