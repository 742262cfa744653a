/**
 * A tile's history: its chain of records walked from the latest (the tile index) through each
 * record's previous seq on its tile, newest first.
 */

import type { PlacementRecord } from '../shared/placement-record.ts'
import type { RecordReader } from './history-blocks.ts'
import type { TileIndex } from './tile-index.ts'

export type TileHistory = {
  /** A tile's records newest first: at most `limit`, with seq < `beforeSeq` if given. */
  tileHistory: (board: string, x: number, y: number, limit: number, beforeSeq?: number) => Promise<PlacementRecord[]>
  /** `tileHistory` of many tiles at once (one reader: neighbours share block reads). */
  tileHistories: (
    board: string,
    tiles: readonly { x: number; y: number; beforeSeq?: number | undefined }[],
    limit: number,
  ) => Promise<PlacementRecord[][]>
}

export const createTileHistory = (deps: {
  /** The board's tile index (its latest seq of each tile). */
  tilesOf: (board: string) => Promise<TileIndex>
  openReader: (board: string) => RecordReader
}): TileHistory => {
  /** Walks each tile's chain from its latest record, newest first, through one reader. */
  const tileHistories: TileHistory['tileHistories'] = async (board, tiles, limit) => {
    const index = await deps.tilesOf(board)
    const reader = deps.openReader(board)
    try {
      const out: PlacementRecord[][] = []
      for (const { x, y, beforeSeq } of tiles) {
        const records: PlacementRecord[] = []
        let seq = index.get(x, y)
        while (seq > 0 && records.length < limit) {
          const linked = await reader.at(seq)
          if (!linked) break
          if (beforeSeq === undefined || linked.record.seq < beforeSeq) records.push(linked.record)
          seq = linked.prevSeq
        }
        out.push(records)
      }
      return out
    } finally {
      await reader.close()
    }
  }
  return {
    tileHistories,
    tileHistory: async (board, x, y, limit, beforeSeq) =>
      (await tileHistories(board, [{ x, y, beforeSeq }], limit))[0] as PlacementRecord[],
  }
}
