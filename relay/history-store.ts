/**
 * The append-only placement history and the per-tile index, in LevelDB (DATA_DIR/history).
 *
 * Keys (bytes): 0x0a board 0x00 seq(u64 BE)   -> a block: the records up to seq (count, offsets,
 *                                                then each record with the previous seq on its tile)
 *               0x03 board 0x00 name          -> meta value (varuint)
 *               0x08 board 0x00 chunk(u32 BE) -> tile index chunk: 64 x 64 latest seqs (u32 LE)
 *               0x09 board 0x00 n(u64 BE)     -> document update n, not yet in the document store
 *               0x0b board 0x00 name          -> an admin operation in progress (JSON; relay/admin-ops.ts)
 * Board ids never contain 0x00 (BOARD_ID_PATTERN), so the separator is unambiguous.
 *
 * Writes go in one LevelDB batch per commit: the records, meta and the commit's document update
 * together, so they are all there or none is. A commit's records are block values (one per
 * MAX_BLOCK_RECORDS), not one entry each: classic-level prepares every entry of a batch on the
 * relay's thread (2-5 us each, 12-35 ms for a 7,200-record commit), a block takes 0.5 ms.
 *
 * A block is keyed by its last seq, so the block holding a seq is the first key at or after it:
 * a forward seek, LevelDB's fast direction (a reverse seek to the last key at or before it cost
 * ~3x more a step of a tile's chain). A block indexes every BLOCK_STRIDE-th record's offset, so
 * reading one record parses at most BLOCK_STRIDE records; reads keep the last few blocks' bytes.
 * Measured against one key a record (200 commits of 4,096 records, cold): a step of a tile's
 * chain ~130-250 us against 64 us, 1,000 scattered records 94 against 12 ms, a full scan 7x
 * faster, an append 3.6x cheaper.
 *
 * The document update waits here until the room has written it to the document store
 * (y-leveldb, in the background) and drops it. A resolved append has reached the operating
 * system (LevelDB's log write), which survives kill -9 of the relay; `sync: true` also survives
 * power loss.
 *
 * Who placed a tile: the latest seq of every tile is kept in memory (relay/tile-index.ts) and
 * each record carries the previous seq on its tile, so a tile's history is a chain walked from
 * the latest, with no per-tile key in the commit's batch. The index reaches disk as changed
 * chunks every INDEX_FLUSH_MS, outside the commit path, with meta indexSeq (the last seq the
 * chunks on disk hold); opening replays the records after it.
 */
import { ClassicLevel } from 'classic-level'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { MAX_BOARD_SIDE } from '../shared/board.ts'
import { type Block, decodeLegacy, encodeBlock, openBlock, type PlacementRecord, recordOf, recordsOf } from './record-block.ts'
import { createTileIndex, type TileIndex } from './tile-index.ts'

/** How often changed tile index chunks are written, ms (a restart replays at most this much history into the index). */
export const INDEX_FLUSH_MS = 5_000
/** Tile index chunks (16 KB each) written per LevelDB batch. */
const INDEX_FLUSH_CHUNKS = 256

// The record types live with their codec (relay/record-block.ts); re-exported for the store's users.
export { type PlacementRecord, RecordKind } from './record-block.ts'

/** An audit log entry: who did what, when, and how many tiles it changed. */
export type AuditEntry = { seq: number; at: number; actor: string; action: string; board: string | null; tiles: number; details: unknown }

/**
 * Writes that join a commit's batch (so they land with its records or not at all): one chunk of
 * an admin operation's rollback marks, and its journal entry's progress.
 */
export type AppendExtra = {
  /** Adds rollback `id` to the marks of `add`, removes it from those of `remove` (idempotent). */
  marks?: { id: number; add: readonly number[]; remove: readonly number[] }
  /** Journal entries (by name) to write; null deletes one. */
  operations?: Record<string, unknown>
}

// 1 held one record per key and 2 per-tile keys in earlier layouts: an open converts 1 into
// blocks (migrateRecordKeys); 2 stays unused.
const Prefix = {
  LegacyRecord: 1,
  Meta: 3,
  Json: 4,
  Audit: 5,
  RolledBack: 6,
  RollbackMembers: 7,
  TileIndex: 8,
  DocUpdate: 9,
  Block: 10,
  Operation: 11,
} as const

/** Records a block holds at most (a fill of a million tiles is one commit, not one value). */
export const MAX_BLOCK_RECORDS = 1_024
/** Blocks whose bytes are kept for reads (each at most MAX_BLOCK_RECORDS records, ~25 KB). */
const BLOCK_CACHE = 32

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

const seqKey = (prefix: Uint8Array, seq: number): Uint8Array => {
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
    extra?: AppendExtra,
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
    onConvert?: (event: { phase: 'start' } | { phase: 'done'; records: number; ms: number }) => void
  },
): Promise<HistoryStore> => {
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
  const prefixes = new Map<string, { block: Uint8Array; meta: Uint8Array; index: Uint8Array; update: Uint8Array }>()
  const prefixOf = (board: string) => {
    let p = prefixes.get(board)
    if (!p) {
      p = {
        block: boardPrefix(Prefix.Block, board),
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
  const auditKey = (seq: number) => {
    const key = new Uint8Array(9)
    key[0] = Prefix.Audit
    writeU64(key, 1, seq)
    return key
  }
  const operationKey = (board: string, name: string) => metaKey(boardPrefix(Prefix.Operation, board), name)
  // Prefixes of the mark keys by board (a rollback builds hundreds of thousands of keys).
  const markPrefixes = new Map<string, { rolled: Uint8Array; member: Uint8Array }>()
  const markPrefixOf = (board: string) => {
    let p = markPrefixes.get(board)
    if (!p) {
      p = { rolled: boardPrefix(Prefix.RolledBack, board), member: boardPrefix(Prefix.RollbackMembers, board) }
      markPrefixes.set(board, p)
    }
    return p
  }
  const rolledKey = (board: string, seq: number) => seqKey(markPrefixOf(board).rolled, seq)
  const memberKey = (board: string, id: number, seq: number) => {
    const prefix = markPrefixOf(board).member
    const key = new Uint8Array(prefix.length + 16)
    key.set(prefix)
    writeU64(key, prefix.length, id)
    writeU64(key, prefix.length + 8, seq)
    return key
  }
  // Blocks read, least recently used first. Blocks never change once written.
  const blockCache = new Map<string, Block>()
  const remember = (board: string, block: Block) => {
    const k = `${board}\0${block.first}`
    blockCache.delete(k)
    blockCache.set(k, block)
    if (blockCache.size > BLOCK_CACHE) blockCache.delete(blockCache.keys().next().value as string)
  }
  const cachedBlockOf = (board: string, seq: number): Block | undefined => {
    const prefix = `${board}\0`
    for (const [k, b] of blockCache) if (k.startsWith(prefix) && seq >= b.first && seq < b.first + b.count) return b
    return undefined
  }
  /** Reads records by seq for one walk (a tile's chain, a sorted list) through one iterator that seeks to each block. Call `close` when done. */
  const openReader = (board: string) => {
    const p = prefixOf(board).block
    let it: ReturnType<typeof db.iterator> | null = null
    return {
      at: async (seq: number) => {
        let block = cachedBlockOf(board, seq)
        if (!block) {
          it ??= db.iterator({ gte: p, lt: rangeEnd(p) })
          // The first block whose last seq is at or after this one.
          it.seek(seqKey(p, seq))
          const entry = (await it.next()) as [Uint8Array, Uint8Array] | undefined
          if (!entry) return undefined
          block = openBlock(readU64(entry[0], p.length), entry[1])
        }
        remember(board, block)
        return seq >= block.first ? recordOf(block, seq - block.first) : undefined
      },
      close: async () => {
        await it?.close()
      },
    }
  }
  /** Blocks from the one holding `afterSeq + 1` on (a scan: not kept in the cache). */
  const blocksFrom = async function* (board: string, afterSeq: number): AsyncGenerator<Block> {
    const p = prefixOf(board).block
    for await (const [key, value] of db.iterator({ gte: seqKey(p, afterSeq + 1), lt: rangeEnd(p) }))
      yield openBlock(readU64(key, p.length), value)
  }
  const recordsAfter = async function* (board: string, afterSeq: number): AsyncGenerator<PlacementRecord> {
    for await (const block of blocksFrom(board, afterSeq)) {
      for (const r of recordsOf(block)) if (r.seq > afterSeq) yield r
    }
  }
  const getRecords = async (board: string, seqs: readonly number[]) => {
    // In seq order, so that neighbours share a block read.
    const found = new Map<number, PlacementRecord>()
    const reader = openReader(board)
    try {
      for (const seq of [...new Set(seqs)].sort((a, b) => a - b)) {
        const linked = await reader.at(seq)
        if (linked) found.set(seq, linked.record)
      }
    } finally {
      await reader.close()
    }
    return seqs.map((s) => found.get(s))
  }

  /**
   * Converts the one-key-a-record layout into blocks, a block per batch with the deletion of
   * its keys (so an interrupted conversion resumes where it stopped).
   */
  const migrateRecordKeys = async () => {
    const start = new Uint8Array([Prefix.LegacyRecord])
    const end = new Uint8Array([Prefix.LegacyRecord + 1])
    let board = ''
    let records: PlacementRecord[] = []
    let prevSeqs: number[] = []
    let doomed: Uint8Array[] = []
    const flush = async () => {
      if (records.length === 0) return
      const ops: ({ type: 'del'; key: Uint8Array } | { type: 'put'; key: Uint8Array; value: Uint8Array })[] = [
        {
          type: 'put',
          key: seqKey(prefixOf(board).block, (records[records.length - 1] as PlacementRecord).seq),
          value: encodeBlock(records, prevSeqs),
        },
        ...doomed.map((key) => ({ type: 'del' as const, key })),
      ]
      await db.batch(ops, { sync: opts.sync })
      records = []
      prevSeqs = []
      doomed = []
    }
    const t0 = performance.now()
    let converted = 0
    for await (const [key, value] of db.iterator({ gte: start, lt: end })) {
      if (converted++ === 0) opts.onConvert?.({ phase: 'start' })
      const sep = key.indexOf(0, 1)
      const keyBoard = new TextDecoder().decode(key.subarray(1, sep))
      const seq = readU64(key, sep + 1)
      const last = records[records.length - 1]
      // A block holds consecutive seqs of one board.
      if (keyBoard !== board || !last || last.seq + 1 !== seq || records.length >= MAX_BLOCK_RECORDS) await flush()
      board = keyBoard
      const { record, prevSeq } = decodeLegacy(seq, value)
      records.push(record)
      prevSeqs.push(prevSeq)
      doomed.push(key)
    }
    await flush()
    if (converted > 0) opts.onConvert?.({ phase: 'done', records: converted, ms: performance.now() - t0 })
  }
  await migrateRecordKeys()

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
  type Op = { type: 'del'; key: Uint8Array } | { type: 'put'; key: Uint8Array; value: Uint8Array }
  /**
   * The writes that add rollback `id` to some placements' marks and remove it from others'. A
   * placement may be rolled back by several rollbacks; it counts again only when every one of
   * them is undone. Idempotent: adding a mark already there, or removing one that is not, changes
   * nothing (a resumed operation may repeat a chunk's marks).
   */
  const markOps = async (board: string, change: NonNullable<AppendExtra['marks']>): Promise<Op[]> => {
    const { id, add, remove } = change
    const marks = await marksOf(board, [...add, ...remove])
    const ops: Op[] = []
    add.forEach((seq, i) => {
      const m = marks[i] ?? []
      if (!m.includes(id)) ops.push({ type: 'put', key: rolledKey(board, seq), value: encodeIds([...m, id]) })
      ops.push({ type: 'put', key: memberKey(board, id, seq), value: empty })
    })
    remove.forEach((seq, j) => {
      const left = (marks[add.length + j] ?? []).filter((m) => m !== id)
      if (left.length > 0) ops.push({ type: 'put', key: rolledKey(board, seq), value: encodeIds(left) })
      else ops.push({ type: 'del', key: rolledKey(board, seq) })
      ops.push({ type: 'del', key: memberKey(board, id, seq) })
    })
    return ops
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
    for await (const r of recordsAfter(board, seq)) {
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

  /** Walks each tile's chain from its latest record, newest first, through one reader. */
  const tileHistories = async (
    board: string,
    tiles: readonly { x: number; y: number; beforeSeq?: number | undefined }[],
    limit: number,
  ): Promise<PlacementRecord[][]> => {
    const index = (await indexOf(board)).tiles
    const reader = openReader(board)
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
  const tileHistory = async (board: string, x: number, y: number, limit: number, beforeSeq?: number) =>
    (await tileHistories(board, [{ x, y, beforeSeq }], limit))[0] as PlacementRecord[]

  return {
    lastSeq: async (board) => {
      const p = prefixOf(board).block
      for await (const key of db.keys({ gte: p, lt: rangeEnd(p), reverse: true, limit: 1 })) return readU64(key, p.length)
      return 0
    },
    append: async (board, records, meta = {}, update, extra) => {
      // After a failed write LevelDB refuses every later write (its error is sticky): reopen
      // first, which recovers once the cause (a full disk, say) is gone.
      if (failed) {
        await db.close()
        await db.open()
        failed = false
      }
      const p = prefixOf(board)
      const index = await indexOf(board)
      const ops: Op[] = []
      // The previous seq of each tile, counting this batch's own earlier records.
      const latest = new Map<number, number>()
      // A block's records are found by seq arithmetic (first + index): seqs must be consecutive.
      const first = records[0]?.seq ?? 0
      const prevSeqs: number[] = new Array(records.length)
      for (let i = 0; i < records.length; i++) {
        const r = records[i] as PlacementRecord
        if (r.seq !== first + i) throw new Error(`history.append: seq ${r.seq} after ${first + i - 1}: seqs must be consecutive`)
        const tile = r.y * MAX_BOARD_SIDE + r.x
        prevSeqs[i] = latest.get(tile) ?? index.tiles.get(r.x, r.y)
        latest.set(tile, r.seq)
      }
      for (let i = 0; i < records.length; i += MAX_BLOCK_RECORDS) {
        const end = Math.min(records.length, i + MAX_BLOCK_RECORDS)
        const value = encodeBlock(records.slice(i, end), prevSeqs.slice(i, end))
        ops.push({ type: 'put', key: seqKey(p.block, first + end - 1), value })
      }
      for (const [name, value] of Object.entries(meta)) ops.push({ type: 'put', key: metaKey(p.meta, name), value: encodeVarUint(value) })
      if (update) ops.push({ type: 'put', key: seqKey(p.update, update.n), value: update.bytes })
      if (extra?.marks) for (const op of await markOps(board, extra.marks)) ops.push(op)
      for (const [name, value] of Object.entries(extra?.operations ?? {})) {
        const key = operationKey(board, name)
        ops.push(value === null ? { type: 'del', key } : { type: 'put', key, value: te.encode(JSON.stringify(value)) })
      }
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
      for await (const [key, value] of db.iterator({ gt: seqKey(p, afterN), lt: rangeEnd(p) })) {
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
      for await (const key of db.keys({ gte: p.update, lte: seqKey(p.update, upTo) })) ops.push({ type: 'del', key })
      for (const [name, value] of Object.entries(meta)) ops.push({ type: 'put', key: metaKey(p.meta, name), value: encodeVarUint(value) })
      await db.batch(ops, { sync: opts.sync })
    },
    readAfter: recordsAfter,
    readBackwards: async function* (board) {
      const p = prefixOf(board).block
      for await (const [key, value] of db.iterator({ gte: p, lt: rangeEnd(p), reverse: true })) {
        const records = recordsOf(openBlock(readU64(key, p.length), value))
        for (let i = records.length - 1; i >= 0; i--) yield records[i] as PlacementRecord
      }
    },
    tileLatestSeq: async (board, x, y) => (await indexOf(board)).tiles.get(x, y),
    tileLatest: async (board, x, y) => (await tileHistory(board, x, y, 1))[0] ?? null,
    tileHistory,
    tileHistories,
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
      await db.put(auditKey(auditSeq), te.encode(JSON.stringify(full)), { sync: opts.sync })
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
    marksOf,
    membersOf: async (board, id) => {
      const seqs: number[] = []
      for await (const key of db.keys({ gte: memberKey(board, id, 0), lt: memberKey(board, id + 1, 0) })) {
        seqs.push(readU64(key, key.length - 8))
        // Keys arrive in microtasks, many per read: return to the event loop now and then.
        if (seqs.length % 8_192 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      return seqs
    },
    readOperations: async () => {
      const out: { board: string; name: string; value: unknown }[] = []
      const td = new TextDecoder()
      for await (const [key, value] of db.iterator({
        gte: new Uint8Array([Prefix.Operation]),
        lt: new Uint8Array([Prefix.Operation + 1]),
      })) {
        const sep = key.indexOf(0, 1)
        out.push({ board: td.decode(key.subarray(1, sep)), name: td.decode(key.subarray(sep + 1)), value: JSON.parse(td.decode(value)) })
      }
      return out
    },
    putOperation: async (board, name, value) => {
      await db.put(operationKey(board, name), te.encode(JSON.stringify(value)), { sync: opts.sync })
    },
    finishOperation: async (board, name, entry) => {
      // The seq is taken before the write, as appendAudit does: two entries never share one.
      auditSeq += 1
      const full = { seq: auditSeq, ...entry }
      await db.batch(
        [
          { type: 'del', key: operationKey(board, name) },
          { type: 'put', key: auditKey(full.seq), value: te.encode(JSON.stringify(full)) },
        ],
        { sync: opts.sync },
      )
      return full
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
