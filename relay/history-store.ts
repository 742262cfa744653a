/**
 * The append-only placement history and the per-tile index, in LevelDB (DATA_DIR/history).
 *
 * Keys (bytes): 0x01 board 0x00 seq(u64 BE)   -> placement record (with the previous seq on its tile)
 *               0x03 board 0x00 name          -> meta value (varuint)
 *               0x08 board 0x00 chunk(u32 BE) -> tile index chunk: 64 x 64 latest seqs (u32 LE)
 *               0x09 board 0x00 n(u64 BE)     -> document update n, not yet in the document store
 * Board ids never contain 0x00 (BOARD_ID_PATTERN), so the separator is unambiguous.
 *
 * Writes go in one LevelDB batch per commit: the records, meta and the commit's document update
 * together, so they are all there or none is. The document update waits here until the room has
 * written it to the document store (y-leveldb, in the background) and drops it. A resolved append has reached the operating system (LevelDB's log write),
 * which survives kill -9 of the relay; `sync: true` also survives power loss.
 *
 * Who placed a tile: the latest seq of every tile is kept in memory (relay/tile-index.ts) and
 * each record carries the previous seq on its tile, so a tile's history is a chain walked from
 * the latest. One LevelDB entry per placement instead of two (a per-tile key) halves the work
 * of a commit's batch, which runs on the relay's thread (about 3 us an entry). The index reaches
 * disk as changed chunks every INDEX_FLUSH_MS, outside the commit path, with meta indexSeq (the
 * last seq the chunks on disk hold); opening replays the records after it.
 */
import { ClassicLevel } from 'classic-level'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { MAX_BOARD_SIDE } from '../shared/board.ts'
import { createTileIndex, type TileIndex } from './tile-index.ts'

/** How often changed tile index chunks are written, ms (a restart replays at most this much history into the index). */
export const INDEX_FLUSH_MS = 5_000
/** Tile index chunks (16 KB each) written per LevelDB batch. */
const INDEX_FLUSH_CHUNKS = 256

/** What wrote a history record. */
export const RecordKind = {
  /** A placement by an identity (admins included). */
  Placement: 0,
  /** An admin fill or blank of a rectangle. */
  Fill: 1,
  /** A tile restored by a rollback or its undo; `ref` is the placement whose colour it restores (0: none). */
  Restore: 2,
} as const
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind]

/** One write to the board, in commit order. Times in ms since the Unix epoch. */
export type PlacementRecord = {
  seq: number
  x: number
  y: number
  color: number
  user: string
  placedAt: number
  kind: RecordKind
  /** For Restore records: the seq of the placement restored, 0 for "never placed". */
  ref: number
}

/** An audit log entry: who did what, when, and how many tiles it changed. */
export type AuditEntry = { seq: number; at: number; actor: string; action: string; board: string | null; tiles: number; details: unknown }

// 2 held per-tile keys in an earlier layout; it stays unused.
const Prefix = { History: 1, Meta: 3, Json: 4, Audit: 5, RolledBack: 6, RollbackMembers: 7, TileIndex: 8, DocUpdate: 9 } as const

const te = new TextEncoder()

const boardPrefix = (kind: number, board: string): Uint8Array => {
  const id = te.encode(board)
  const out = new Uint8Array(id.length + 2)
  out[0] = kind
  out.set(id, 1)
  return out
}

const writeU64 = (out: Uint8Array, at: number, n: number) => {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  view.setUint32(at, Math.floor(n / 2 ** 32))
  view.setUint32(at + 4, n >>> 0)
}
const readU64 = (bytes: Uint8Array, at: number): number => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4)
}

const historyKey = (prefix: Uint8Array, seq: number): Uint8Array => {
  const key = new Uint8Array(prefix.length + 8)
  key.set(prefix)
  writeU64(key, prefix.length, seq)
  return key
}

const metaKey = (prefix: Uint8Array, name: string): Uint8Array => {
  const n = te.encode(name)
  const key = new Uint8Array(prefix.length + n.length)
  key.set(prefix)
  key.set(n, prefix.length)
  return key
}

/** A record's value: its fields, then the previous seq on its tile (0: none). */
const writeRecord = (enc: encoding.Encoder, r: PlacementRecord, prevSeq: number): void => {
  encoding.writeVarUint(enc, r.x)
  encoding.writeVarUint(enc, r.y)
  encoding.writeVarUint(enc, r.color)
  encoding.writeVarUint(enc, r.placedAt)
  encoding.writeVarString(enc, r.user)
  encoding.writeVarUint(enc, r.kind)
  encoding.writeVarUint(enc, r.ref)
  encoding.writeVarUint(enc, prevSeq)
}

const decodeLinked = (seq: number, bytes: Uint8Array): { record: PlacementRecord; prevSeq: number } => {
  const dec = decoding.createDecoder(bytes)
  const x = decoding.readVarUint(dec)
  const y = decoding.readVarUint(dec)
  const color = decoding.readVarUint(dec)
  const placedAt = decoding.readVarUint(dec)
  const user = decoding.readVarString(dec)
  const kind = decoding.readVarUint(dec) as RecordKind
  const ref = decoding.readVarUint(dec)
  const prevSeq = decoding.hasContent(dec) ? decoding.readVarUint(dec) : 0
  return { record: { seq, x, y, color, user, placedAt, kind, ref }, prevSeq }
}

const decodeRecord = (seq: number, bytes: Uint8Array): PlacementRecord => decodeLinked(seq, bytes).record

const chunkKey = (prefix: Uint8Array, chunk: number): Uint8Array => {
  const key = new Uint8Array(prefix.length + 4)
  key.set(prefix)
  new DataView(key.buffer).setUint32(prefix.length, chunk)
  return key
}

const encodeChunk = (seqs: Uint32Array): Uint8Array => {
  const out = new Uint8Array(seqs.length * 4)
  const view = new DataView(out.buffer)
  for (let i = 0; i < seqs.length; i++) view.setUint32(i * 4, seqs[i] as number, true)
  return out
}

const decodeChunk = (bytes: Uint8Array): Uint32Array => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const seqs = new Uint32Array(bytes.byteLength / 4)
  for (let i = 0; i < seqs.length; i++) seqs[i] = view.getUint32(i * 4, true)
  return seqs
}

const encodeVarUint = (n: number): Uint8Array => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, n)
  return encoding.toUint8Array(enc)
}

/** The end of a key range: the prefix with its last byte incremented (prefix's last byte is 0x00). */
const rangeEnd = (prefix: Uint8Array): Uint8Array => {
  const end = prefix.slice()
  end[end.length - 1] = 0x01
  return end
}

export type HistoryStore = {
  /** Highest seq written for a board (0 if none). */
  lastSeq: (board: string) => Promise<number>
  /**
   * Appends records (seqs ascending), sets meta values and keeps document update `update.n` if
   * given, atomically. Rejects if the write failed (nothing was written); the next call reopens
   * the database first.
   */
  append: (
    board: string,
    records: readonly PlacementRecord[],
    meta?: Record<string, number>,
    update?: { n: number; bytes: Uint8Array },
  ) => Promise<void>
  /** Document updates kept by `append` with n > afterN, ascending. */
  readUpdates: (board: string, afterN: number) => AsyncIterable<{ n: number; bytes: Uint8Array }>
  /** The highest document update number kept (0 if none). */
  lastUpdate: (board: string) => Promise<number>
  /** Drops kept document updates with n <= upTo (the document store holds them) and sets meta. */
  dropUpdates: (board: string, upTo: number, meta?: Record<string, number>) => Promise<void>
  /** A meta value, or `fallback`. */
  getMeta: (board: string, name: string, fallback: number) => Promise<number>
  /** Placements with seq > afterSeq, ascending. */
  readAfter: (board: string, afterSeq: number) => AsyncIterable<PlacementRecord>
  /** Placements newest first (stop iterating to stop reading). */
  readBackwards: (board: string) => AsyncIterable<PlacementRecord>
  /** The latest placement on a tile, or null if it was never placed. */
  tileLatest: (board: string, x: number, y: number) => Promise<PlacementRecord | null>
  /** A tile's records newest first: at most `limit`, with seq < `beforeSeq` if given. */
  tileHistory: (board: string, x: number, y: number, limit: number, beforeSeq?: number) => Promise<PlacementRecord[]>
  /** Records by seq (undefined where none). */
  getRecords: (board: string, seqs: readonly number[]) => Promise<(PlacementRecord | undefined)[]>
  /** A JSON value stored under a name ('' board = global), or undefined. */
  getJson: (board: string, name: string) => Promise<unknown>
  putJson: (board: string, name: string, value: unknown) => Promise<void>
  /** Appends an audit entry (its seq is assigned here) and returns it. */
  appendAudit: (entry: Omit<AuditEntry, 'seq'>) => Promise<AuditEntry>
  /** Audit entries newest first: at most `limit`, with seq < `beforeSeq` if given. */
  readAudit: (limit: number, beforeSeq?: number) => Promise<AuditEntry[]>
  /** Which of these seqs are rolled back (by at least one rollback in force). */
  rolledBackOf: (board: string, seqs: readonly number[]) => Promise<Set<number>>
  /** Marks placements as rolled back by rollback `id`. Returns the seqs marked. */
  markRolledBack: (board: string, id: number, seqs: readonly number[]) => Promise<number[]>
  /** Removes rollback `id`'s marks; returns the seqs it had marked. */
  unmarkRollback: (board: string, id: number) => Promise<number[]>
  close: () => Promise<void>
}

/**
 * Opens the history database. Rejects with a readable error if another process holds it (a
 * second relay on the same DATA_DIR).
 */
export const openHistoryStore = async (location: string, opts: { sync: boolean }): Promise<HistoryStore> => {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' })
  try {
    await db.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String(cause?.message ?? ''))) {
      throw new Error(`${location} is in use by another process: is a second relay running on the same DATA_DIR?`)
    }
    throw err
  }
  const prefixes = new Map<string, { history: Uint8Array; meta: Uint8Array; index: Uint8Array; update: Uint8Array }>()
  const prefixOf = (board: string) => {
    let p = prefixes.get(board)
    if (!p) {
      p = {
        history: boardPrefix(Prefix.History, board),
        meta: boardPrefix(Prefix.Meta, board),
        index: boardPrefix(Prefix.TileIndex, board),
        update: boardPrefix(Prefix.DocUpdate, board),
      }
      prefixes.set(board, p)
    }
    return p
  }
  const empty = new Uint8Array(0)
  let failed = false
  const jsonKey = (board: string, name: string) => metaKey(boardPrefix(Prefix.Json, board), name)
  const auditPrefix = new Uint8Array([Prefix.Audit])
  let auditSeq = 0
  for await (const key of db.keys({ gte: auditPrefix, lt: new Uint8Array([Prefix.Audit + 1]), reverse: true, limit: 1 })) {
    auditSeq = readU64(key, 1)
  }
  const rolledKey = (board: string, seq: number) => historyKey(boardPrefix(Prefix.RolledBack, board), seq)
  const memberKey = (board: string, id: number, seq: number) => {
    const prefix = boardPrefix(Prefix.RollbackMembers, board)
    const key = new Uint8Array(prefix.length + 16)
    key.set(prefix)
    writeU64(key, prefix.length, id)
    writeU64(key, prefix.length + 8, seq)
    return key
  }
  const getRecords = async (board: string, seqs: readonly number[]) => {
    if (seqs.length === 0) return []
    const p = prefixOf(board)
    const values = await db.getMany(seqs.map((s) => historyKey(p.history, s)))
    return values.map((v, i) => (v ? decodeRecord(seqs[i] as number, v) : undefined))
  }
  /** Rollback ids that mark a placement, as stored: a list of varuints (absent = none). */
  const encodeIds = (ids: readonly number[]) => {
    const enc = encoding.createEncoder()
    for (const id of ids) encoding.writeVarUint(enc, id)
    return encoding.toUint8Array(enc)
  }
  const decodeIds = (bytes: Uint8Array) => {
    const dec = decoding.createDecoder(bytes)
    const ids: number[] = []
    while (decoding.hasContent(dec)) ids.push(decoding.readVarUint(dec))
    return ids
  }
  const marksOf = async (board: string, seqs: readonly number[]) =>
    seqs.length === 0 ? [] : (await db.getMany(seqs.map((s) => rolledKey(board, s)))).map((v) => (v ? decodeIds(v) : []))
  const rolledBackOf = async (board: string, seqs: readonly number[]) => {
    const marks = await marksOf(board, seqs)
    return new Set(seqs.filter((_, i) => (marks[i]?.length ?? 0) > 0))
  }

  /** A board's tile index with the last seq it holds; loaded on first use. */
  type BoardIndex = { tiles: TileIndex; seq: number; flushedAt: number; flushing: Promise<void> | null }
  const indexes = new Map<string, Promise<BoardIndex>>()
  const readMeta = async (board: string, name: string, fallback: number) => {
    // classic-level 1 rejects get() of a missing key; getMany answers undefined instead.
    const [value] = await db.getMany([metaKey(prefixOf(board).meta, name)])
    return value === undefined ? fallback : decoding.readVarUint(decoding.createDecoder(value))
  }
  const loadIndex = async (board: string): Promise<BoardIndex> => {
    const p = prefixOf(board)
    const tiles = createTileIndex()
    for await (const [key, value] of db.iterator({ gte: p.index, lt: rangeEnd(p.index) })) {
      tiles.loadChunk(new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(p.index.length), decodeChunk(value))
    }
    let seq = await readMeta(board, 'indexSeq', 0)
    // Records after the chunks on disk (at most INDEX_FLUSH_MS of placements, or all of a
    // history written before the index existed).
    for await (const [key, value] of db.iterator({ gt: historyKey(p.history, seq), lt: rangeEnd(p.history) })) {
      const r = decodeRecord(readU64(key, p.history.length), value)
      tiles.set(r.x, r.y, r.seq)
      seq = r.seq
    }
    return { tiles, seq, flushedAt: Date.now(), flushing: null }
  }
  const indexOf = (board: string): Promise<BoardIndex> => {
    let index = indexes.get(board)
    if (!index) {
      index = loadIndex(board)
      indexes.set(board, index)
      index.catch(() => indexes.delete(board))
    }
    return index
  }
  /**
   * Writes the index chunks changed since the last flush, then the seq they hold at least, in
   * batches of INDEX_FLUSH_CHUNKS (a whole 4096 x 4096 board is 64 MB of chunks: encoded a batch
   * at a time, it never needs more than 4 MB at once). A chunk may hold seqs beyond the seq
   * written: the records behind them are durable, and an open replays them again anyway.
   */
  const flushIndex = (board: string, index: BoardIndex): Promise<void> => {
    if (index.flushing) return index.flushing
    const p = prefixOf(board)
    const chunks = [...index.tiles.takeDirty()]
    const seq = index.seq
    index.flushedAt = Date.now()
    if (chunks.length === 0) return Promise.resolve()
    index.flushing = (async () => {
      for (let i = 0; i < chunks.length; i += INDEX_FLUSH_CHUNKS) {
        const ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[] = []
        for (const [chunk, seqs] of chunks.slice(i, i + INDEX_FLUSH_CHUNKS)) {
          ops.push({ type: 'put', key: chunkKey(p.index, chunk), value: encodeChunk(seqs) })
        }
        if (i + INDEX_FLUSH_CHUNKS >= chunks.length) ops.push({ type: 'put', key: metaKey(p.meta, 'indexSeq'), value: encodeVarUint(seq) })
        await db.batch(ops, { sync: opts.sync })
      }
    })()
      .catch(() => {
        // The records are durable; the chunks are written again at the next flush (or rebuilt
        // from the records on the next open).
        index.tiles.markDirty(chunks.map(([chunk]) => chunk))
        failed = true
      })
      .finally(() => {
        index.flushing = null
      })
    return index.flushing
  }

  const tileHistory = async (board: string, x: number, y: number, limit: number, beforeSeq?: number) => {
    const p = prefixOf(board)
    const out: PlacementRecord[] = []
    // Walk the tile's chain from its latest record, newest first.
    let seq = (await indexOf(board)).tiles.get(x, y)
    while (seq > 0 && out.length < limit) {
      const [value] = await db.getMany([historyKey(p.history, seq)])
      if (!value) break
      const { record, prevSeq } = decodeLinked(seq, value)
      if (beforeSeq === undefined || record.seq < beforeSeq) out.push(record)
      seq = prevSeq
    }
    return out
  }

  return {
    lastSeq: async (board) => {
      const p = prefixOf(board).history
      for await (const key of db.keys({ gte: p, lt: rangeEnd(p), reverse: true, limit: 1 })) {
        return readU64(key, p.length)
      }
      return 0
    },
    append: async (board, records, meta = {}, update) => {
      // After a failed write LevelDB refuses every later write (its error is sticky): reopen
      // first, which recovers once the cause (a full disk, say) is gone.
      if (failed) {
        await db.close()
        await db.open()
        failed = false
      }
      const p = prefixOf(board)
      const index = await indexOf(board)
      // One allocation for all keys and one for all values (the hot path: thousands of records
      // a commit), handed to LevelDB as views in one array batch (one native call).
      const hLen = p.history.length + 8
      const keys = new Uint8Array(records.length * hLen)
      const view = new DataView(keys.buffer)
      const enc = encoding.createEncoder()
      const ends: number[] = []
      const ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[] = []
      // The previous seq of each tile, counting this batch's own earlier records.
      const latest = new Map<number, number>()
      let at = 0
      for (const r of records) {
        keys.set(p.history, at)
        view.setUint32(at + p.history.length, Math.floor(r.seq / 2 ** 32))
        view.setUint32(at + p.history.length + 4, r.seq >>> 0)
        at += hLen
        const tile = r.y * MAX_BOARD_SIDE + r.x
        writeRecord(enc, r, latest.get(tile) ?? index.tiles.get(r.x, r.y))
        latest.set(tile, r.seq)
        ends.push(encoding.length(enc))
      }
      const values = encoding.toUint8Array(enc)
      at = 0
      let start = 0
      for (const end of ends) {
        ops.push({ type: 'put', key: keys.subarray(at, at + hLen), value: values.subarray(start, end) })
        at += hLen
        start = end
      }
      for (const [name, value] of Object.entries(meta)) ops.push({ type: 'put', key: metaKey(p.meta, name), value: encodeVarUint(value) })
      if (update) ops.push({ type: 'put', key: historyKey(p.update, update.n), value: update.bytes })
      try {
        await db.batch(ops, { sync: opts.sync })
      } catch (err) {
        failed = true
        throw err
      }
      for (const r of records) index.tiles.set(r.x, r.y, r.seq)
      const last = records[records.length - 1]
      if (last) index.seq = last.seq
      if (Date.now() - index.flushedAt >= INDEX_FLUSH_MS) void flushIndex(board, index)
    },
    getMeta: readMeta,
    readUpdates: async function* (board, afterN) {
      const p = prefixOf(board).update
      for await (const [key, value] of db.iterator({ gt: historyKey(p, afterN), lt: rangeEnd(p) })) {
        yield { n: readU64(key, p.length), bytes: value }
      }
    },
    lastUpdate: async (board) => {
      const p = prefixOf(board).update
      for await (const key of db.keys({ gte: p, lt: rangeEnd(p), reverse: true, limit: 1 })) return readU64(key, p.length)
      return 0
    },
    dropUpdates: async (board, upTo, meta = {}) => {
      const p = prefixOf(board)
      const ops: ({ type: 'del'; key: Uint8Array } | { type: 'put'; key: Uint8Array; value: Uint8Array })[] = []
      for await (const key of db.keys({ gte: p.update, lte: historyKey(p.update, upTo) })) ops.push({ type: 'del', key })
      for (const [name, value] of Object.entries(meta)) ops.push({ type: 'put', key: metaKey(p.meta, name), value: encodeVarUint(value) })
      await db.batch(ops, { sync: opts.sync })
    },
    readAfter: async function* (board, afterSeq) {
      const p = prefixOf(board).history
      for await (const [key, value] of db.iterator({ gt: historyKey(p, afterSeq), lt: rangeEnd(p) })) {
        yield decodeRecord(readU64(key, p.length), value)
      }
    },
    readBackwards: async function* (board) {
      const p = prefixOf(board).history
      for await (const [key, value] of db.iterator({ gte: p, lt: rangeEnd(p), reverse: true })) {
        yield decodeRecord(readU64(key, p.length), value)
      }
    },
    tileLatest: async (board, x, y) => (await tileHistory(board, x, y, 1))[0] ?? null,
    tileHistory,
    getRecords,
    getJson: async (board, name) => {
      const [value] = await db.getMany([jsonKey(board, name)])
      return value === undefined ? undefined : JSON.parse(new TextDecoder().decode(value))
    },
    putJson: async (board, name, value) => {
      await db.put(jsonKey(board, name), te.encode(JSON.stringify(value)), { sync: opts.sync })
    },
    appendAudit: async (entry) => {
      auditSeq += 1
      const full = { seq: auditSeq, ...entry }
      const key = new Uint8Array(9)
      key[0] = Prefix.Audit
      writeU64(key, 1, auditSeq)
      await db.put(key, te.encode(JSON.stringify(full)), { sync: opts.sync })
      return full
    },
    readAudit: async (limit, beforeSeq) => {
      const lt = new Uint8Array(9)
      lt[0] = Prefix.Audit
      writeU64(lt, 1, beforeSeq ?? 2 ** 53)
      const out: AuditEntry[] = []
      for await (const value of db.values({ gt: auditPrefix, lt, reverse: true, limit })) {
        out.push(JSON.parse(new TextDecoder().decode(value)) as AuditEntry)
      }
      return out
    },
    rolledBackOf,
    markRolledBack: async (board, id, seqs) => {
      // A placement may be rolled back by several rollbacks; it counts again only when every
      // one of them is undone.
      const marks = await marksOf(board, seqs)
      const batch = db.batch()
      seqs.forEach((seq, i) => {
        batch.put(rolledKey(board, seq), encodeIds([...(marks[i] ?? []), id]))
        batch.put(memberKey(board, id, seq), empty)
      })
      await batch.write({ sync: opts.sync })
      return [...seqs]
    },
    unmarkRollback: async (board, id) => {
      const seqs: number[] = []
      for await (const key of db.keys({ gte: memberKey(board, id, 0), lt: memberKey(board, id + 1, 0) })) {
        seqs.push(readU64(key, key.length - 8))
      }
      const marks = await marksOf(board, seqs)
      const batch = db.batch()
      seqs.forEach((seq, i) => {
        const left = (marks[i] ?? []).filter((m) => m !== id)
        if (left.length > 0) batch.put(rolledKey(board, seq), encodeIds(left))
        else batch.del(rolledKey(board, seq))
        batch.del(memberKey(board, id, seq))
      })
      await batch.write({ sync: opts.sync })
      return seqs
    },
    close: async () => {
      // Chunks written now spare the next open a replay of the history since the last flush.
      for (const [board, index] of indexes) {
        const loaded = await index.catch(() => null)
        if (!loaded) continue
        await loaded.flushing
        await flushIndex(board, loaded)
      }
      await db.close()
    },
  }
}
