/**
 * The in-memory yardstick (issue 15), a bench child process: the least a one-process r/place
 * server can do per placement, as a limit to measure Tessera against, not as a competitor.
 *
 * - The board is a `Uint8Array` (1000x1000 by default), one colour index per tile, in memory only.
 * - A client sends binary messages of 6-byte records (bench/yardstick/placement.ts):
 *   x u16 LE, y u16 LE, color u8, one spare byte (0, unread). A record in bounds is written to
 *   the board and appended to the pending buffer; one out of bounds is dropped. Nothing else is
 *   checked (no identity, cooldown, palette or rate limit), nothing is acknowledged, nothing is
 *   written to disk.
 * - Every `tickMs` (a start option: 1,000, 50 or 20 ms) the pending records are copied into ONE
 *   Buffer and that same Buffer is sent to every open socket (placers included, as Tessera's
 *   relay writes every commit to every socket) as one binary message; ticks with nothing pending
 *   send nothing.
 *
 * Uses `ws` as the relay does, without permessage-deflate (as relay/relay.ts).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type WebSocket, WebSocketServer } from 'ws'
import { serveChild } from '../helpers/child.ts'
import { YARDSTICK_RECORD_BYTES } from './placement.ts'

/** Counters since start, for the run's details. */
const counts = { received: 0, dropped: 0, ticks: 0, broadcasts: 0, broadcastBytes: 0, largestFrameBytes: 0 }

const start = async (args: { tickMs: number; width?: number; height?: number }) => {
  const width = args.width ?? 1000
  const height = args.height ?? 1000
  const board = new Uint8Array(width * height)
  // Pending records since the last tick: `pendingBytes` of `pending`, which doubles when full.
  let pending = Buffer.allocUnsafe(64 * 1024)
  let pendingBytes = 0
  const sockets = new Set<WebSocket>()

  const append = (data: Buffer, offset: number) => {
    if (pendingBytes + YARDSTICK_RECORD_BYTES > pending.length) {
      const bigger = Buffer.allocUnsafe(pending.length * 2)
      pending.copy(bigger, 0, 0, pendingBytes)
      pending = bigger
    }
    data.copy(pending, pendingBytes, offset, offset + YARDSTICK_RECORD_BYTES)
    pendingBytes += YARDSTICK_RECORD_BYTES
  }

  const server = createServer()
  const wss = new WebSocketServer({ server, perMessageDeflate: false })
  wss.on('connection', (ws) => {
    sockets.add(ws)
    ws.on('close', () => sockets.delete(ws))
    ws.on('message', (data: Buffer) => {
      // Whole records only; a trailing partial record is ignored.
      for (let off = 0; off + YARDSTICK_RECORD_BYTES <= data.length; off += YARDSTICK_RECORD_BYTES) {
        counts.received++
        const x = data.readUInt16LE(off)
        const y = data.readUInt16LE(off + 2)
        if (x >= width || y >= height) {
          counts.dropped++
          continue
        }
        board[y * width + x] = data[off + 4] as number
        append(data, off)
      }
    })
  })

  setInterval(() => {
    counts.ticks++
    if (pendingBytes === 0) return
    // One Buffer per tick (a copy, so that `pending` can be refilled at once), the same Buffer
    // handed to every socket: ws frames it without copying (server frames are not masked).
    const frame = Buffer.allocUnsafe(pendingBytes)
    pending.copy(frame, 0, 0, pendingBytes)
    pendingBytes = 0
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(frame, { binary: true })
    counts.broadcasts++
    counts.broadcastBytes += frame.length
    counts.largestFrameBytes = Math.max(counts.largestFrameBytes, frame.length)
  }, args.tickMs)

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as AddressInfo).port }
}

serveChild({ start, counts: () => ({ ...counts }) })
