/**
 * The append-only placement history of every board, in LevelDB (DATA_DIR/history): the
 * composition of its parts, one job each.
 *
 *   relay/history-keys.ts       the key layout and byte helpers
 *   relay/history-db.ts         opening the database, reopening it after a failed write
 *   relay/history-migration.ts  conversion of the one-key-a-record layout, at open
 *   relay/history-blocks.ts     the records as blocks (relay/record-block.ts), their reads and cache
 *   relay/tile-index-store.ts   the per-tile index (relay/tile-index.ts) loaded and flushed
 *   relay/tile-history.ts       a tile's records, walked from the index through the blocks
 *   relay/doc-updates.ts        the board documents, in y-leveldb's layout, one update a commit
 *   relay/doc-migration.ts      conversion of the earlier DATA_DIR/doc and its kept updates, at open
 *   relay/history-meta.ts       meta numbers and JSON entries
 *   relay/rollback-marks.ts     which rollbacks mark which placements
 *   relay/operation-journal.ts  admin operations in progress
 *   relay/audit-log.ts          who did what
 *
 * Writes go in one LevelDB batch per commit: the records, meta and the commit's document update
 * (or the document's state in place of the updates before it) together, with a chunk of
 * rollback marks and journal progress (AppendExtra), so they are all there or none is. A resolved append has reached the operating system (LevelDB's log write),
 * which survives kill -9 of the relay; `sync: true` also survives power loss.
 *
 * Who placed a tile: the latest seq of every tile is kept in memory and each record carries the
 * previous seq on its tile, so a tile's history is a chain walked from the latest, with no
 * per-tile key in the commit's batch.
 */
import type * as Y from 'yjs'
import type { PlacementRecord } from '../shared/placement-record.ts'
import { type AuditEntry, openAuditLog } from './audit-log.ts'
import { type DocMigration, migrateDocStore } from './doc-migration.ts'
import { createDocUpdates } from './doc-updates.ts'
import { createHistoryBlocks } from './history-blocks.ts'
import { openHistoryDb } from './history-db.ts'
import { type BatchOp, createBoardPrefixes } from './history-keys.ts'
import { createHistoryMeta, pushMetaOps } from './history-meta.ts'
import { type ConvertEvent, migrateRecordKeys } from './history-migration.ts'
import { createOperationJournal } from './operation-journal.ts'
import { createRollbackMarks, type MarkChange } from './rollback-marks.ts'
import { createTileHistory } from './tile-history.ts'
import { createTileIndexStore } from './tile-index-store.ts'

/**
 * Writes that join a commit's batch (so they land with its records or not at all): one chunk of
 * an admin operation's rollback marks, and its journal entry's progress.
 */
export type AppendExtra = {
  /** Adds rollback `id` to the marks of `add`, removes it from those of `remove` (idempotent). */
  marks?: MarkChange
  /** Journal entries (by name) to write; null deletes one. */
  operations?: Record<string, unknown>
}

export type HistoryStore = {
  /** Highest seq written for a board (0 if none). */
  lastSeq: (board: string) => Promise<number>
  /**
   * Appends records (seqs ascending), sets meta values and stores the board document's
   * `docWrites` (from `docWrites` below), atomically. Rejects if the write failed (nothing was
   * written); the next call reopens the database first.
   */
  append: (
    board: string,
    records: readonly PlacementRecord[],
    meta?: Record<string, number>,
    docWrites?: readonly BatchOp[],
    extra?: AppendExtra,
  ) => Promise<void>
  /** Loads a board's document (empty if none is stored) for the room that writes it: relay/doc-updates.ts. */
  loadDoc: (board: string) => Promise<Y.Doc>
  /** Reads a board's document as stored now (export, tests: not the room that writes it). */
  readDoc: (board: string) => Promise<Y.Doc>
  /**
   * The writes that store a commit's document `update` (or, when due, `doc`'s whole state in
   * place of the updates stored before) for `append`; write them before asking for the next.
   */
  docWrites: (board: string, update: Uint8Array, doc: Y.Doc) => BatchOp[]
  /** Number of document updates stored for a board (tests and diagnostics). */
  storedDocUpdates: (board: string) => Promise<number>
  /** A meta value, or `fallback`. */
  getMeta: (board: string, name: string, fallback: number) => Promise<number>
  /** Placements with seq > afterSeq, ascending. */
  readAfter: (board: string, afterSeq: number) => AsyncIterable<PlacementRecord>
  /** Placements newest first (stop iterating to stop reading). */
  readBackwards: (board: string) => AsyncIterable<PlacementRecord>
  /** The seq of the latest record on a tile, 0 if none (from memory: no read). */
  tileLatestSeq: (board: string, x: number, y: number) => Promise<number>
  /** The latest placement on a tile, or null if it was never placed. */
  tileLatest: (board: string, x: number, y: number) => Promise<PlacementRecord | null>
  /** A tile's records newest first: at most `limit`, with seq < `beforeSeq` if given. */
  tileHistory: (board: string, x: number, y: number, limit: number, beforeSeq?: number) => Promise<PlacementRecord[]>
  /** `tileHistory` of many tiles at once (one reader: neighbours share block reads). */
  tileHistories: (
    board: string,
    tiles: readonly { x: number; y: number; beforeSeq?: number | undefined }[],
    limit: number,
  ) => Promise<PlacementRecord[][]>
  /** Records by seq (undefined where none). */
  getRecords: (board: string, seqs: readonly number[]) => Promise<(PlacementRecord | undefined)[]>
  /** A JSON value stored under a name ('' board = global), or undefined. */
  getJson: (board: string, name: string) => Promise<unknown>
  putJson: (board: string, name: string, value: unknown) => Promise<void>
  /** Appends an audit entry (its seq is assigned here) and returns it. */
  appendAudit: (entry: Omit<AuditEntry, 'seq'>) => Promise<AuditEntry>
  /** Audit entries newest first: at most `limit`, with seq < `beforeSeq` if given. */
  readAudit: (limit: number, beforeSeq?: number) => Promise<AuditEntry[]>
  /** The rollback ids in force on each of these seqs (empty: counts). */
  marksOf: (board: string, seqs: readonly number[]) => Promise<number[][]>
  /** The seqs rollback `id` marks, ascending. */
  membersOf: (board: string, id: number) => Promise<number[]>
  /** Journal entries of admin operations not finished, by board and name. */
  readOperations: () => Promise<{ board: string; name: string; value: unknown }[]>
  /** Writes a journal entry (durably, before the operation touches anything). */
  putOperation: (board: string, name: string, value: unknown) => Promise<void>
  /** Deletes a journal entry and appends its audit entry, in one batch; returns the entry. */
  finishOperation: (board: string, name: string, entry: Omit<AuditEntry, 'seq'>) => Promise<AuditEntry>
  /** Which of these seqs are rolled back (by at least one rollback in force). */
  rolledBackOf: (board: string, seqs: readonly number[]) => Promise<Set<number>>
  close: () => Promise<void>
}

/**
 * Opens the history database. Rejects with a readable error if another process holds it (a
 * second relay on the same DATA_DIR).
 */
export const openHistoryStore = async (
  location: string,
  opts: {
    sync: boolean
    /** Told when an open converts a history of the earlier layout (once; it makes that start slower). */
    onConvert?: (event: ConvertEvent) => void
    /**
     * DATA_DIR/doc of the earlier layout: if it is there (or the history keeps document updates
     * for it), its documents are moved into the history (relay/doc-migration.ts).
     */
    legacyDocDir?: string
    /** Told when an open converted the documents of the earlier layout. */
    onDocMigration?: (done: DocMigration) => void
  },
): Promise<HistoryStore> => {
  const { sync } = opts
  const hdb = await openHistoryDb(location)
  const db = hdb.level
  const prefixesOf = createBoardPrefixes()
  const audit = await openAuditLog(db, sync)
  await migrateRecordKeys(db, prefixesOf, opts)
  const blocks = createHistoryBlocks(db, prefixesOf)
  const meta = createHistoryMeta(db, prefixesOf, sync)
  if (opts.legacyDocDir !== undefined) {
    const moved = await migrateDocStore(db, prefixesOf, opts.legacyDocDir, sync)
    if (moved) opts.onDocMigration?.(moved)
  }
  const docs = createDocUpdates(db)
  const marks = createRollbackMarks(db, prefixesOf)
  const journal = createOperationJournal(db, prefixesOf, sync)
  const index = createTileIndexStore(db, prefixesOf, {
    sync,
    readMeta: meta.readMeta,
    recordsAfter: blocks.recordsAfter,
    markFailed: hdb.markFailed,
  })

  const history = createTileHistory({ tilesOf: async (board) => (await index.indexOf(board)).tiles, openReader: blocks.openReader })

  return {
    lastSeq: blocks.lastSeq,
    append: async (board, records, metaValues = {}, docWrites = [], extra) => {
      // After a failed write LevelDB refuses every later write (its error is sticky): reopen
      // first, which recovers once the cause (a full disk, say) is gone.
      await hdb.reopenIfFailed()
      const boardIndex = await index.indexOf(board)
      const ops: BatchOp[] = []
      blocks.appendOps(board, records, boardIndex.tiles, ops)
      pushMetaOps(ops, prefixesOf(board).meta, metaValues)
      for (const op of docWrites) ops.push(op)
      if (extra?.marks) for (const op of await marks.markOps(board, extra.marks)) ops.push(op)
      journal.pushOperationOps(ops, board, extra?.operations ?? {})
      try {
        await db.batch(ops, { sync })
      } catch (err) {
        hdb.markFailed()
        throw err
      }
      index.appended(board, boardIndex, records)
    },
    getMeta: meta.readMeta,
    loadDoc: docs.load,
    readDoc: docs.read,
    docWrites: docs.writeOps,
    storedDocUpdates: docs.storedUpdates,
    readAfter: blocks.recordsAfter,
    readBackwards: blocks.readBackwards,
    tileLatestSeq: async (board, x, y) => (await index.indexOf(board)).tiles.get(x, y),
    tileLatest: async (board, x, y) => (await history.tileHistory(board, x, y, 1))[0] ?? null,
    tileHistory: history.tileHistory,
    tileHistories: history.tileHistories,
    getRecords: blocks.getRecords,
    getJson: meta.getJson,
    putJson: meta.putJson,
    appendAudit: audit.appendAudit,
    readAudit: audit.readAudit,
    rolledBackOf: marks.rolledBackOf,
    marksOf: marks.marksOf,
    membersOf: marks.membersOf,
    readOperations: journal.readOperations,
    putOperation: journal.putOperation,
    finishOperation: async (board, name, entry) => {
      // The journal entry's deletion (null) and the audit entry, in one batch.
      const { full, op } = audit.takeAudit(entry)
      const done: BatchOp[] = []
      journal.pushOperationOps(done, board, { [name]: null })
      done.push(op)
      await db.batch(done, { sync })
      return full
    },
    close: async () => {
      await index.flushAll()
      await db.close()
    },
  }
}
