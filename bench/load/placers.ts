/**
 * Load generator child: sockets that each carry one identity and send Place frames.
 * Decodes only PlaceResult status bytes; ignores the broadcasts (live=tiles by default, as
 * Tessera's client; live=yjs for the y-websocket frames).
 *
 * Yardstick mode (`openYardstick`, issue 15): the same sockets and pacing against the in-memory
 * yardstick (bench/yardstick/server.ts), sending its 6-byte records; it never answers, so
 * `blast` sends open-loop and `pace` does not wait for answers.
 */
import * as decoding from 'lib0/decoding'
import { encodePlace, readPlaceResult } from '../../shared/frames.ts'
import { LIVE_PARAM, LiveMode, MessageType, newPlacementId } from '../../shared/protocol.ts'
import { encodeTileValue } from '../../shared/tile-codec.ts'
import { serveChild } from '../helpers/child.ts'
import { createPlaceGenerator } from '../helpers/place-generator.ts'
import { clientFrame, connectMany, connectRaw, type RawWs } from '../helpers/raw-ws.ts'
import { wallMs } from '../helpers/stats.ts'
import { encodeYardstickRecord, YARDSTICK_RECORD_BYTES } from '../yardstick/placement.ts'

type Sock = { ws: RawWs; acks: number; owed: number; sent: number; quota: number }

let socks: Sock[] = []
let onAck: (s: Sock, ok: boolean, payload: Buffer) => void = () => {}
const errors = new Map<string, number>()
/** Whether the sockets are connected to the yardstick (set by openYardstick) instead of a relay. */
let yardstick = false

const placeFrame = (x: number, y: number, color: number, requestId = 0, id?: string) =>
  clientFrame(encodePlace(id === undefined ? { requestId, x, y, color } : { requestId, x, y, color, id }))

const open = async (args: { port: number; tokens: string[]; board?: string; live?: LiveMode }) => {
  const fresh = await connectMany(args.tokens.length, 64, (i) => {
    const sock = { acks: 0, owed: 0, sent: 0, quota: 0 } as Sock
    return connectRawFor(
      args.port,
      `/ws/${args.board ?? 'main'}?${LIVE_PARAM}=${args.live ?? LiveMode.Tiles}&token=${encodeURIComponent(args.tokens[i] as string)}`,
      sock,
    ).then((ws) => {
      sock.ws = ws
      socks.push(sock)
      return ws
    })
  })
  return { opened: fresh.length, total: socks.length }
}

const connectRawFor = (port: number, path: string, sock: Sock) =>
  connectRaw({
    port,
    path,
    onMessage: (payload) => {
      if (payload[0] !== MessageType.PlaceResult) return
      // [101, requestId, status, ...]: requestId is 0 (one byte) unless the sender numbered them.
      const dec = decoding.createDecoder(payload)
      decoding.readVarUint(dec)
      decoding.readVarUint(dec)
      const ok = decoding.readVarUint(dec) === 0
      if (!ok) {
        const r = readPlaceResult(decoding.createDecoder(payload.subarray(1)))
        const key = r.result.ok ? 'ok' : r.result.error
        errors.set(key, (errors.get(key) ?? 0) + 1)
      }
      onAck(sock, ok, payload)
    },
  })

/**
 * Placements socket 0 has seen in the yardstick's broadcasts (every socket receives every one):
 * what `blast` counts as delivered, and whom to wake when it grows.
 */
let seen = 0
let onSeen: () => void = () => {}

/**
 * Yardstick mode: `n` sockets to the yardstick. What it broadcasts to them is counted without
 * being kept (raw-ws countOnly), on socket 0 only.
 */
const openYardstick = async (args: { port: number; n: number }) => {
  yardstick = true
  const fresh = await connectMany(args.n, 64, (i) => {
    const sock = { acks: 0, owed: 0, sent: 0, quota: 0 } as Sock
    const onMessage =
      i === 0
        ? (_p: Buffer, _f: number, payloadBytes: number) => {
            seen += payloadBytes / YARDSTICK_RECORD_BYTES
            onSeen()
          }
        : () => {}
    return connectRaw({ port: args.port, path: '/', countOnly: true, onMessage }).then((ws) => {
      sock.ws = ws
      socks.push(sock)
      return ws
    })
  })
  return { opened: fresh.length, total: socks.length }
}

/** Resolves when the socket's queued bytes have drained to the kernel, or it closed. */
const drained = (s: Sock) =>
  new Promise<void>((resolve) => {
    const socket = s.ws.socket
    const done = () => {
      socket.off('drain', done)
      socket.off('close', done)
      resolve()
    }
    socket.on('drain', done)
    socket.on('close', done)
  })

/** Records per write in `blast`: 512 x 12-byte frames = 6 KB. */
const BLAST_CHUNK = 512

/**
 * Yardstick mode, saturating, for `durationMs`: every socket sends r/place-shaped placements
 * open-loop (the yardstick never answers): writes of BLAST_CHUNK pre-built frames, the next
 * after Node's send buffer drains when write() said it was full. And at most `inFlight`
 * placements sent but not yet seen in a broadcast (on socket 0): the loopback's kernel buffers
 * (tcp_rmem up to 32 MB here) would otherwise swallow a whole run at once, and the yardstick
 * would read it in one go and broadcast it as one multi-megabyte frame; the cap keeps it in its
 * steady state, where it reads and broadcasts in turn. The cap must exceed rate x (tick + delivery)
 * so that it does not bind. Resolves when every socket's bytes are handed to the kernel.
 */
const blast = async (args: { durationMs: number; inFlight: number; seed: number; width: number; height: number; poolSize?: number }) => {
  if (!yardstick) throw new Error('blast is for the yardstick (openYardstick first)')
  const gen = createPlaceGenerator({ seed: args.seed, width: args.width, height: args.height })
  const poolSize = args.poolSize ?? 50_000
  const frames: Buffer[] = []
  for (let i = 0; i < poolSize; i++) {
    const p = gen.next()
    frames.push(clientFrame(encodeYardstickRecord(p.x, p.y, p.color)))
  }
  // One contiguous pool of equal-sized frames (12 bytes each), written as subarrays: no copies.
  const frameBytes = (frames[0] as Buffer).length
  const pool = Buffer.concat(frames)
  let cursor = 0
  let sent = 0
  let windowWaits = 0
  const seen0 = seen
  const cpu0 = process.cpuUsage()
  const firstSend = wallMs()
  const end = firstSend + args.durationMs
  // Senders waiting for `seen` to grow; all woken by the next broadcast or at the end.
  let waiters: (() => void)[] = []
  const wake = () => {
    const w = waiters
    waiters = []
    for (const f of w) f()
  }
  onSeen = wake
  const endTimer = setTimeout(wake, args.durationMs)
  const sendAll = async (s: Sock) => {
    while (wallMs() < end && !s.ws.closed()) {
      if (sent - (seen - seen0) >= args.inFlight) {
        windowWaits++
        await new Promise<void>((resolve) => waiters.push(resolve))
        continue
      }
      const n = Math.min(BLAST_CHUNK, poolSize - cursor)
      const chunk = pool.subarray(cursor * frameBytes, (cursor + n) * frameBytes)
      cursor = (cursor + n) % poolSize
      sent += n
      if (!s.ws.socket.write(chunk)) await drained(s)
    }
    if (s.ws.socket.writableLength > 0 && !s.ws.closed()) await drained(s)
  }
  await Promise.all(socks.map(sendAll))
  clearTimeout(endTimer)
  onSeen = () => {}
  const cpu = process.cpuUsage(cpu0)
  return {
    sent,
    windowWaits,
    closed: socks.filter((s) => s.ws.closed()).length,
    firstSend,
    lastWrite: wallMs(),
    cpuMs: (cpu.user + cpu.system) / 1000,
  }
}

const closeAll = () => {
  for (const s of socks) s.ws.close()
  socks = []
  return null
}

/**
 * Every socket sends `perSocket` placements from the r/place-shaped generator, with at most
 * `window` unanswered at a time. Resolves when every placement is answered.
 */
/** What one `run` reports: answers by kind, timing of the first send and last ack, CPU used. */
export type RunResult = {
  ok: number
  rejected: number
  unanswered: number
  closed: number
  firstSend: number
  lastAck: number
  cpuMs: number
  errors: Record<string, number>
}

const run = (args: { perSocket: number; window: number; seed: number; width: number; height: number; poolSize?: number }) => {
  const gen = createPlaceGenerator({ seed: args.seed, width: args.width, height: args.height })
  const pool: Buffer[] = []
  // Each with a placement id, as Tessera's client sends them (the relay stores it with the record
  // and remembers it): 22 more bytes a frame and a record. The pool is reused round-robin across
  // sockets: a socket handed the same frame twice gets the first outcome (not placed again).
  for (let i = 0; i < (args.poolSize ?? 50_000); i++) {
    const p = gen.next()
    pool.push(
      placeFrame(
        p.x,
        p.y,
        p.color,
        0,
        newPlacementId((b) => crypto.getRandomValues(b)),
      ),
    )
  }
  let cursor = 0
  const take = (n: number): Buffer => {
    const parts: Buffer[] = []
    for (let i = 0; i < n; i++) {
      parts.push(pool[cursor] as Buffer)
      cursor = (cursor + 1) % pool.length
    }
    return n === 1 ? (parts[0] as Buffer) : Buffer.concat(parts)
  }
  errors.clear()
  const cpu0 = process.cpuUsage()
  let ok = 0
  let rejected = 0
  let outstanding = 0
  let flushQueued = false
  let lastAck = 0
  let finished = false
  return new Promise<RunResult>((resolve) => {
    // A socket the relay closes never answers: give up after 20 s without an answer.
    let answeredAt = wallMs()
    const watchdog = setInterval(() => {
      if (wallMs() - answeredAt > 20_000) finish()
    }, 1000)
    const finish = () => {
      if (finished) return
      finished = true
      clearInterval(watchdog)
      onAck = () => {}
      const cpu = process.cpuUsage(cpu0)
      const closed = socks.filter((s) => s.ws.closed()).length
      if (lastAck === 0) lastAck = answeredAt
      resolve({
        ok,
        rejected,
        unanswered: outstanding,
        closed,
        firstSend,
        lastAck,
        cpuMs: (cpu.user + cpu.system) / 1000,
        errors: Object.fromEntries(errors),
      })
    }
    const flush = () => {
      flushQueued = false
      for (const s of socks) {
        if (s.owed === 0) continue
        const n = Math.min(s.owed, s.quota - s.sent)
        s.owed = 0
        if (n <= 0) continue
        s.sent += n
        s.ws.write(take(n))
      }
    }
    onAck = (s, good) => {
      if (good) ok++
      else rejected++
      outstanding--
      answeredAt = wallMs()
      s.owed++
      if (!flushQueued) {
        flushQueued = true
        setImmediate(flush)
      }
      if (outstanding === 0) {
        lastAck = wallMs()
        finish()
      }
    }
    const firstSend = wallMs()
    for (const s of socks) {
      s.sent = Math.min(args.window, args.perSocket)
      s.quota = args.perSocket
      s.owed = 0
      outstanding += args.perSocket
      s.ws.write(take(s.sent))
    }
    if (outstanding === 0) finish()
  })
}

/**
 * Sends `rate` placements a second for `durationMs`, round-robin over the sockets, each on a
 * distinct tile (so a viewer can tell them apart), and reports when each was sent.
 */
const pace = async (args: { rate: number; durationMs: number; width: number; height: number; offset: number }) => {
  const sent: number[] = []
  let ok = 0
  let rejected = 0
  onAck = (_s, good) => {
    if (good) ok++
    else rejected++
  }
  errors.clear()
  const start = wallMs()
  let n = 0
  let rr = 0
  const total = Math.round((args.rate * args.durationMs) / 1000)
  while (n < total) {
    const due = Math.min(total, Math.floor(((wallMs() - start) * args.rate) / 1000))
    if (due > n) {
      const now = wallMs()
      const bySock = new Map<Sock, Buffer[]>()
      for (; n < due; n++) {
        const cell = (args.offset + n) % (args.width * args.height)
        const x = cell % args.width
        const y = Math.floor(cell / args.width)
        const color = 1 + (n % 15)
        const s = socks[rr++ % socks.length] as Sock
        const list = bySock.get(s) ?? []
        list.push(yardstick ? clientFrame(encodeYardstickRecord(x, y, color)) : placeFrame(x, y, color))
        bySock.set(s, list)
        sent.push(encodeTileValue(x, y, color), now)
      }
      for (const [s, frames] of bySock) s.ws.write(Buffer.concat(frames))
    }
    await new Promise((r) => setTimeout(r, 1))
  }
  // The yardstick never answers: nothing to wait for.
  const deadline = wallMs() + 10_000
  while (!yardstick && ok + rejected < total && wallMs() < deadline) await new Promise((r) => setTimeout(r, 10))
  return { sent, ok, rejected, errors: Object.fromEntries(errors) }
}

serveChild({ open, run, pace, openYardstick, blast, closeAll })
