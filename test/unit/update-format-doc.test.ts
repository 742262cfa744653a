/**
 * docs/PROTOCOL.md, "Decoding sync answers without Yjs", is enough to decode sync answers: a
 * reader written here from that section alone (its own byte reader, no lib0, no yjs, no
 * shared/update-reader.ts) paints real board documents' updates exactly, through placements,
 * overwrites, shard compactions, a new epoch and growth, and advances the state vector as Yjs's.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DEFAULT_BOARD } from '../../shared/board.ts'
import {
  type DocConfig,
  readBoardBitmap,
  replaceEpoch,
  replaceShard,
  shardKeysOf,
  writeDocConfig,
  writeTile,
} from '../../shared/doc-schema.ts'
import { extractShardColors } from '../../shared/tile-codec.ts'
import { prng } from '../helpers/prng.ts'

/** The documented primitives: varuint, varint, byte arrays, strings, `any`. */
const byteReader = (bytes: Uint8Array) => {
  let at = 0
  const u8 = (): number => {
    if (at >= bytes.length) throw new Error('read past the end')
    return bytes[at++] as number
  }
  const varuint = (): number => {
    let n = 0
    for (let mult = 1; ; mult *= 128) {
      const b = u8()
      n += (b & 0x7f) * mult
      if (b < 0x80) return n
    }
  }
  const varint = (): number => {
    let b = u8()
    const negative = (b & 0x40) !== 0
    let n = b & 0x3f
    for (let mult = 64; b & 0x80; mult *= 128) {
      b = u8()
      n += (b & 0x7f) * mult
    }
    return negative ? -n : n
  }
  const byteArray = (): Uint8Array => {
    const length = varuint()
    at += length
    return bytes.subarray(at - length, at)
  }
  const string = (): string => new TextDecoder().decode(byteArray())
  const any = (): unknown => {
    const type = u8()
    switch (type) {
      case 125:
        return varint()
      case 118: {
        const object: Record<string, unknown> = {}
        for (let n = varuint(); n > 0; n--) object[string()] = any()
        return object
      }
      case 117:
        return Array.from({ length: varuint() }, any)
      case 119:
        return string()
      case 120:
        return true
      case 121:
        return false
      case 126:
        return null
      case 127:
        return undefined
      default:
        throw new Error(`any type ${type} is not in the documented board document`)
    }
  }
  return { u8, varuint, byteArray, string, any, done: () => at === bytes.length }
}

type Painted = { bitmap: Uint8Array; width: number; height: number }

/** Reads an update as the section says and paints it onto `board`; returns the clocks it advanced. */
const paintFromDocs = (board: Painted, update: Uint8Array): { board: Painted; next: Map<number, { from: number; to: number }> } => {
  const r = byteReader(update)
  /** An ID: varuint client, varuint clock. */
  const readId = () => {
    r.varuint()
    r.varuint()
  }
  const found: { client: number; clock: number; kind: 'tile' | 'config' | 'base'; value: unknown }[] = []
  const next = new Map<number, { from: number; to: number }>()
  for (let clients = r.varuint(); clients > 0; clients--) {
    const count = r.varuint()
    const client = r.varuint()
    const from = r.varuint()
    let clock = from
    for (let s = 0; s < count; s++) {
      const info = r.u8()
      const ref = info & 0x1f
      if (ref === 0 || ref === 10) {
        clock += r.varuint()
        continue
      }
      if (info & 0x80) readId()
      if (info & 0x40) readId()
      if ((info & 0xc0) === 0) {
        if (r.varuint() === 1) r.string()
        else readId()
        if (info & 0x20) r.string()
      }
      let length = 1
      if (ref === 1) length = r.varuint()
      else if (ref === 3) found.push({ client, clock, kind: 'base', value: r.byteArray() })
      else if (ref === 7) r.varuint()
      else if (ref === 8) {
        length = r.varuint()
        for (let i = 0; i < length; i++) {
          const v = r.any()
          if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 8192 * 8192 * 32)
            found.push({ client, clock: clock + i, kind: 'tile', value: v })
          else if (typeof v === 'object' && v !== null && Array.isArray((v as { palette?: unknown }).palette))
            found.push({ client, clock: clock + i, kind: 'config', value: v })
        }
      } else throw new Error(`content ref ${ref} is not in the documented board document`)
      clock += length
    }
    next.set(client, { from, to: clock })
  }
  const deleted = new Map<number, [number, number][]>()
  for (let clients = r.varuint(); clients > 0; clients--) {
    const client = r.varuint()
    const ranges: [number, number][] = []
    for (let n = r.varuint(); n > 0; n--) ranges.push([r.varuint(), r.varuint()])
    deleted.set(client, ranges)
  }
  expect(r.done()).toBe(true)
  const live = found.filter((f) => !(deleted.get(f.client) ?? []).some(([c, len]) => f.clock >= c && f.clock < c + len))
  let out = board
  for (const f of live.filter((l) => l.kind === 'config')) {
    const { width, height } = f.value as { width: number; height: number }
    if (width > out.width || height > out.height) {
      const grown = new Uint8Array(width * height)
      for (let y = 0; y < out.height; y++) grown.set(out.bitmap.subarray(y * out.width, (y + 1) * out.width), y * width)
      out = { bitmap: grown, width, height }
    }
  }
  const paint = (x: number, y: number, color: number) => {
    if (x < out.width && y < out.height) out.bitmap[y * out.width + x] = color
  }
  for (const f of live.filter((l) => l.kind === 'base')) {
    // Shard base: [0x54, 1, log2(S), 0], varuint sx, varuint sy, then S * S colour indices.
    const bytes = f.value as Uint8Array
    expect([bytes[0], bytes[1], bytes[3]]).toEqual([0x54, 1, 0])
    const size = 2 ** (bytes[2] as number)
    const b = byteReader(bytes.subarray(4))
    const sx = b.varuint()
    const sy = b.varuint()
    for (let i = 0; i < size * size; i++) paint(sx * size + (i % size), sy * size + Math.floor(i / size), b.u8())
  }
  for (const f of live.filter((l) => l.kind === 'tile')) {
    const v = f.value as number
    const tile = Math.floor(v / 32)
    paint(tile % 8192, Math.floor(tile / 8192), v % 32)
  }
  return { board: out, next }
}

describe('the documented update format', () => {
  // The relay's document collects garbage (deleted content is gone from its updates); without
  // that, deleted items keep their content and only the delete set tells them apart.
  it.each([true, false])('decodes full and incremental sync answers of a board document exactly (gc %s)', (gc) => {
    const rand = prng(14)
    const doc = new Y.Doc({ gc })
    let config: DocConfig = { ...DEFAULT_BOARD, width: 40, height: 24, shardSize: 16, version: 1 }
    doc.transact(() => writeDocConfig(doc, config))
    let board: Painted = { bitmap: new Uint8Array(0), width: 0, height: 0 }
    const sv = new Map<number, number>()
    let lastSv = Y.encodeStateVector(new Y.Doc())
    for (let commit = 0; commit < 40; commit++) {
      // The relay rotates its client id (relay/yjs-internals.ts): an update then holds several
      // writers, each writer's structs together, so update order is no longer time order.
      if (commit === 12) doc.clientID = 1
      if (commit === 22) doc.clientID = 2 ** 31
      doc.transact(() => {
        if (commit === 25) {
          config = { ...config, width: 56, height: 40, version: config.version + 1 }
          writeDocConfig(doc, config)
        }
        for (let i = 0; i < 30; i++) {
          writeTile(doc, config.shardSize, Math.floor(rand() * config.width), Math.floor(rand() * config.height), Math.floor(rand() * 16))
        }
        const bitmap = readBoardBitmap(doc, config.width, config.height)
        const colorsOf = (sx: number, sy: number) => extractShardColors(bitmap, config.width, config.height, config.shardSize, sx, sy)
        const shards = shardKeysOf(doc).map((key) => key.split(',').map(Number) as [number, number])
        if (commit % 7 === 3 && shards[0]) replaceShard(doc, config.shardSize, shards[0][0], shards[0][1], colorsOf(...shards[0]))
        if (commit === 30)
          replaceEpoch(
            doc,
            config.shardSize,
            shards.map(([sx, sy]) => ({ sx, sy, colors: colorsOf(sx, sy) })),
          )
      })
      // Every fifth commit, an answer to the state vector the bitmap stands at (as a sync step 2).
      if (commit % 5 !== 4) continue
      const painted = paintFromDocs(board, Y.encodeStateAsUpdate(doc, lastSv))
      board = painted.board
      for (const [client, { from, to }] of painted.next)
        if (from <= (sv.get(client) ?? 0)) sv.set(client, Math.max(to, sv.get(client) ?? 0))
      expect(board.width).toBe(config.width)
      expect(board.bitmap).toEqual(readBoardBitmap(doc, config.width, config.height))
      // The clocks counted as documented are Yjs's own state vector.
      expect(sv).toEqual(Y.decodeStateVector(Y.encodeStateVector(doc)))
      lastSv = Y.encodeStateVector(doc)
    }
    // And a full answer (to an empty state vector) from nothing.
    const full = paintFromDocs({ bitmap: new Uint8Array(0), width: 0, height: 0 }, Y.encodeStateAsUpdate(doc)).board
    expect(full.bitmap).toEqual(readBoardBitmap(doc, config.width, config.height))
    expect(board.bitmap.some((c) => c !== 0)).toBe(true)
  })
})
