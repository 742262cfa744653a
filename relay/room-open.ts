/**
 * Opening a board's loaded document: the configuration given at start is reconciled with the
 * stored one, and history records the document does not hold yet (after meta docSeq: data of a
 * relay from before the document's updates were written with the records) are replayed into it.
 * What that changed is stored before the room serves anyone.
 */
import type * as Y from 'yjs'
import type { Logger } from '../node-kit/log.ts'
import { type BoardConfig, checkBoardChange, sameBoard } from '../shared/board.ts'
import { type DocConfig, readBoardBitmap, readDocConfig, writeDocConfig, writeTile } from '../shared/doc-schema.ts'
import type { PlacementRecord } from '../shared/placement-record.ts'
import { regrow } from './board-state.ts'
import type { HistoryStore } from './history-store.ts'
import type { UpdateCapture } from './update-capture.ts'

/** Records replayed in one Yjs transaction at most (bounds the transaction's memory). */
const REPLAY_BATCH = 10_000

/** The board and counters as the opened document holds them. */
export type OpenedRoom = {
  board: BoardConfig
  configVersion: number
  bitmap: Uint8Array
  /** The last history seq, all of it now in the document. */
  lastSeq: number
  /** Shard compactions since the last epoch (relay/shard-compactor.ts). */
  epochReplacements: number
}

/**
 * Which configuration holds: the stored descriptor carries live (admin) changes, so it wins,
 * unless the configuration given at start changed since the previous start (the operator
 * edited it): then the new start configuration is applied, if it loses no tiles. Throws if it
 * would.
 */
const reconcileConfig = async (doc: Y.Doc, history: HistoryStore, start: BoardConfig) => {
  const id = start.id
  const stored = readDocConfig(doc)
  const previousStart = (await history.getJson(id, 'startConfig')) as BoardConfig | undefined
  const startChanged = !previousStart || !sameBoard(previousStart, start)
  let board: BoardConfig = start
  if (stored) {
    const { version: _version, ...storedBoard } = stored
    if (startChanged) {
      const reason = checkBoardChange(storedBoard, start)
      if (reason) throw new Error(`board ${id}: the configuration does not match the stored board: ${reason}`)
    } else {
      board = storedBoard
    }
  }
  await history.putJson(id, 'startConfig', start)
  const width0 = stored?.width ?? board.width
  const height0 = stored?.height ?? board.height
  let bitmap = readBoardBitmap(doc, width0, height0)
  if (width0 !== board.width || height0 !== board.height) bitmap = regrow(bitmap, width0, height0, board.width, board.height)
  return { stored, board, bitmap }
}

/** Writes history records after `docSeq` into the document and bitmap; returns how many. */
const replayHistory = async (doc: Y.Doc, history: HistoryStore, id: string, board: BoardConfig, bitmap: Uint8Array, docSeq: number) => {
  let replayed = 0
  const batch: PlacementRecord[] = []
  const flushReplay = () => {
    doc.transact(() => {
      for (const r of batch) {
        writeTile(doc, board.shardSize, r.x, r.y, r.color)
        bitmap[r.y * board.width + r.x] = r.color
      }
    })
    replayed += batch.length
    batch.length = 0
  }
  for await (const r of history.readAfter(id, docSeq)) {
    if (r.x < board.width && r.y < board.height) batch.push(r)
    if (batch.length >= REPLAY_BATCH) flushReplay()
  }
  flushReplay()
  return replayed
}

/**
 * Brings a loaded document up to the history and the start configuration, and stores what
 * that changed (`store`: the document's update with meta values in one history write, retried
 * until durable).
 */
export const openRoomDoc = async (deps: {
  doc: Y.Doc
  capture: UpdateCapture
  board: BoardConfig
  history: HistoryStore
  log: Logger
  store: (update: Uint8Array, meta: Record<string, number>) => Promise<void>
  /**
   * An edge relay's room (relay/edge-follower.ts): its document holds only what the writer
   * shipped, so opening writes nothing into it (a write of its own would give its clients
   * content the writer lacks). The board is the stored descriptor, else the start configuration
   * until the writer's arrives.
   */
  follower?: boolean
}): Promise<OpenedRoom> => {
  const { doc, history, log } = deps
  const id = deps.board.id
  if (deps.follower) {
    const stored = readDocConfig(doc)
    const { version, ...board }: DocConfig = stored ?? { ...deps.board, version: 0 }
    const startup = deps.capture.take()
    if (startup) await deps.store(startup, {})
    return {
      board,
      configVersion: version,
      bitmap: readBoardBitmap(doc, board.width, board.height),
      // docSeq beyond the last record: it bootstrapped from a State that left records out.
      lastSeq: Math.max(await history.lastSeq(id), await history.getMeta(id, 'docSeq', 0)),
      epochReplacements: 0,
    }
  }
  const { stored, board, bitmap } = await reconcileConfig(doc, history, deps.board)
  let configVersion = stored?.version ?? 0
  const docSeq = await history.getMeta(id, 'docSeq', 0)
  const lastSeq = await history.lastSeq(id)
  const epochReplacements = await history.getMeta(id, 'epochReplacements', 0)
  doc.transact(() => {
    if (!stored || !sameBoard(stored, board)) {
      configVersion += 1
      writeDocConfig(doc, { ...board, version: configVersion } satisfies DocConfig)
    }
  })
  const replayed = await replayHistory(doc, history, id, board, bitmap, docSeq)
  const startup = deps.capture.take()
  // With the records it replayed: the next start replays none of them again.
  if (startup) await deps.store(startup, replayed > 0 ? { docSeq: lastSeq } : {})
  if (replayed > 0) log.info(`board ${id}: replayed ${replayed} placements from history after seq ${docSeq}`)
  return { board, configVersion, bitmap, lastSeq, epochReplacements }
}
