/**
 * Conversion, at open, of the earlier two-database layout of the board documents: y-leveldb in
 * DATA_DIR/doc, plus the updates of recent commits kept in the history (prefix 0x09) until a
 * background flush had copied them there. Each board's document is loaded as the earlier relay
 * loaded it (the stored updates one at a time, then the kept ones) and its state written into
 * the history (relay/doc-updates.ts) in one batch that also deletes the kept updates and the
 * meta value that tracked them. Then DATA_DIR/doc is renamed aside to DATA_DIR/doc.migrated
 * (kept, not deleted: the operator deletes it once satisfied).
 *
 * A crash midway is safe: a board whose document is in the history already is skipped, and the
 * folder is renamed only after every board is converted, so the next open finishes the work.
 */
import { existsSync, renameSync } from 'node:fs'
import { ClassicLevel } from 'classic-level'
import * as Y from 'yjs'
import { applyEach, docStateOps, readDocUpdates } from './doc-updates.ts'
import type { HistoryLevel } from './history-db.ts'
import {
  type BatchOp,
  type BoardPrefixes,
  boardOfStateVectorKey,
  docStateVectorRange,
  docUpdateKey,
  docUpdatesEnd,
  nameKey,
  Prefix,
  rangeEnd,
} from './history-keys.ts'

/** The meta value (relay/history-meta.ts) that counted the kept updates copied to DATA_DIR/doc. */
const LEGACY_META = 'docUpdate'

export type DocMigration = { boards: number; ms: number; movedTo: string | null }

/** The boards with kept updates in the history: the name between the prefix byte and 0x00. */
const boardsWithKeptUpdates = async (db: HistoryLevel): Promise<Set<string>> => {
  const boards = new Set<string>()
  const start = new Uint8Array([Prefix.LegacyDocUpdate])
  const end = new Uint8Array([Prefix.LegacyDocUpdate + 1])
  for (let from: Uint8Array = start; ; ) {
    let next: Uint8Array | null = null
    for await (const key of db.keys({ gte: from, lt: end, limit: 1 })) next = key
    if (!next) return boards
    const sep = next.indexOf(0, 1)
    const board = new TextDecoder().decode(next.subarray(1, sep))
    boards.add(board)
    // Past this board's keys (its prefix ends with 0x00; rangeEnd makes it 0x01).
    from = rangeEnd(next.subarray(0, sep + 1))
  }
}

const hasStoredDoc = async (db: HistoryLevel, board: string): Promise<boolean> => {
  for await (const _ of db.keys({ gte: docUpdateKey(board, 0), lt: docUpdatesEnd(board), limit: 1 })) return true
  return false
}

/**
 * Converts the earlier layout if any of it is there (DATA_DIR/doc at `legacyDir`, or kept
 * updates in the history); null if there was nothing to convert.
 */
export const migrateDocStore = async (
  db: HistoryLevel,
  prefixesOf: (board: string) => BoardPrefixes,
  legacyDir: string,
  sync: boolean,
): Promise<DocMigration | null> => {
  const t0 = performance.now()
  const kept = await boardsWithKeptUpdates(db)
  const hasDir = existsSync(legacyDir)
  if (!hasDir && kept.size === 0) return null
  const legacy = hasDir ? new ClassicLevel<Uint8Array, Uint8Array>(legacyDir, { keyEncoding: 'view', valueEncoding: 'view' }) : null
  let boards = 0
  try {
    const names = new Set(kept)
    if (legacy) {
      await legacy.open()
      // y-leveldb writes a state vector key with a document's first update: it lists documents by them.
      for await (const key of legacy.keys(docStateVectorRange())) names.add(boardOfStateVectorKey(key))
    }
    for (const board of names) {
      if (await hasStoredDoc(db, board)) continue
      const doc = new Y.Doc()
      if (legacy) await applyEach(doc, readDocUpdates(legacy, board))
      // Applying an update the document holds already changes nothing, so every kept update is
      // applied, whichever of them the flush had copied.
      const p = prefixesOf(board).legacyUpdate
      const ops: BatchOp[] = []
      for await (const [key, value] of db.iterator({ gte: p, lt: rangeEnd(p) })) {
        Y.applyUpdate(doc, value)
        ops.push({ type: 'del', key })
      }
      ops.push({ type: 'del', key: nameKey(prefixesOf(board).meta, LEGACY_META) })
      await db.batch([...docStateOps(board, doc, { first: -1, last: -1 }), ...ops], { sync })
      doc.destroy()
      boards += 1
    }
  } finally {
    await legacy?.close()
  }
  let movedTo: string | null = null
  if (hasDir) {
    movedTo = `${legacyDir}.migrated`
    for (let n = 2; existsSync(movedTo); n++) movedTo = `${legacyDir}.migrated-${n}`
    renameSync(legacyDir, movedTo)
  }
  return { boards, ms: performance.now() - t0, movedTo }
}
