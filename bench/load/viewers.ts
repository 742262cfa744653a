/**
 * Load generator child: anonymous viewer sockets that count the relay's broadcast frames (bytes
 * and arrival times), without decoding them: Yjs update frames (live=yjs, as any y-websocket
 * provider) or Tiles frames (live=tiles, as Tessera's client). Socket 0 is the reference: it keeps its
 * frames so that their content can be decoded once, after the run, for all viewers (every viewer
 * receives the same frames in the same order).
 *
 * Mode 'yardstick' (issue 15): sockets to the in-memory yardstick (bench/yardstick/server.ts),
 * whose every binary message is a broadcast of 6-byte records; each viewer also counts the
 * placements it received (frame length / 6), since the yardstick's frames vary in size.
 */
import * as decoding from 'lib0/decoding'
import { readTiles } from '../../shared/frames.ts'
import { LIVE_PARAM, LiveMode, MessageType } from '../../shared/protocol.ts'
import { encodeTileValue } from '../../shared/tile-codec.ts'
import { serveChild } from '../helpers/child.ts'
import { connectMany, connectRaw, type RawWs } from '../helpers/raw-ws.ts'
import { createHistogram, wallMs } from '../helpers/stats.ts'
import { tileValuesOf, updateOfFrame } from '../helpers/update-tiles.ts'
import { readYardstickRecord, YARDSTICK_RECORD_BYTES } from '../yardstick/placement.ts'

type Viewer = {
  ws: RawWs
  frames: number
  /** Placements received: counted in yardstick mode only (0 otherwise). */
  placements: number
  payloadBytes: number
  wireBytes: number
  arrivals: number[]
  first: number
  last: number
}

let viewers: Viewer[] = []
let record = false
let kept: Buffer[] = []

/** What the sockets receive: a relay's live mode, or the yardstick's records. */
type Mode = LiveMode | 'yardstick'
let mode: Mode = LiveMode.Tiles

/** Whether a frame is a broadcast of placements in the sockets' live mode. */
const isBroadcast = (payload: Buffer): boolean => {
  if (mode === LiveMode.Yjs) return payload[0] === MessageType.Sync && payload[1] === 2
  if (payload[0] !== MessageType.Tiles) return false
  const dec = decoding.createDecoder(payload)
  decoding.readVarUint(dec)
  decoding.readVarUint(dec)
  return decoding.readVarUint(dec) > 0
}

/** Tile values a broadcast frame carries. */
const tilesOfFrame = (frame: Buffer): Iterable<number> => {
  if (mode === 'yardstick') {
    const values: number[] = []
    for (let off = 0; off + YARDSTICK_RECORD_BYTES <= frame.length; off += YARDSTICK_RECORD_BYTES) {
      const r = readYardstickRecord(frame, off)
      values.push(encodeTileValue(r.x, r.y, r.color))
    }
    return values
  }
  if (mode === LiveMode.Tiles) {
    const dec = decoding.createDecoder(frame)
    decoding.readVarUint(dec)
    return readTiles(dec).values
  }
  const update = updateOfFrame(frame)
  return update ? tileValuesOf(update) : []
}

/** `countOnly`: count broadcasts without keeping their bytes (raw-ws; no latency decoding then). */
const open = async (args: { port: number; n: number; board?: string; live: Mode; countOnly?: boolean; localAddress?: string }) => {
  mode = args.live
  const fresh = await connectMany(args.n, 64, () => {
    const v: Viewer = { frames: 0, placements: 0, payloadBytes: 0, wireBytes: 0, arrivals: [], first: 0, last: 0 } as unknown as Viewer
    const isRef = viewers.length === 0
    viewers.push(v)
    return connectRaw({
      port: args.port,
      ...(args.localAddress ? { localAddress: args.localAddress } : {}),
      path: args.live === 'yardstick' ? '/' : `/ws/${args.board ?? 'main'}?${LIVE_PARAM}=${args.live}`,
      countOnly: args.countOnly ?? false,
      onMessage: (payload, frameBytes, payloadBytes) => {
        // Heartbeats, presence, config and the rest are not counted.
        if (mode === 'yardstick' ? payloadBytes === 0 : !isBroadcast(payload)) return
        const t = wallMs()
        if (v.frames === 0) v.first = t
        v.last = t
        v.frames++
        if (mode === 'yardstick') v.placements += payloadBytes / YARDSTICK_RECORD_BYTES
        v.payloadBytes += payloadBytes
        v.wireBytes += frameBytes
        if (record) v.arrivals.push(t)
        if (isRef && record) kept.push(Buffer.from(payload))
      },
    }).then((ws) => {
      v.ws = ws
      return ws
    })
  })
  return { opened: fresh.length, total: viewers.length }
}

/** Clears counters; `recordArrivals` keeps every arrival time and the reference's frames. */
const reset = (args: { recordArrivals: boolean }) => {
  record = args.recordArrivals
  kept = []
  for (const v of viewers) {
    v.frames = 0
    v.placements = 0
    v.payloadBytes = 0
    v.wireBytes = 0
    v.arrivals = []
    v.first = 0
    v.last = 0
  }
  return null
}

const stats = () => {
  const frames = viewers.map((v) => v.frames)
  const placements = viewers.map((v) => v.placements)
  return {
    viewers: viewers.length,
    open: viewers.filter((v) => !v.ws.closed()).length,
    minFrames: Math.min(...frames),
    maxFrames: Math.max(...frames),
    totalFrames: frames.reduce((a, b) => a + b, 0),
    minPlacements: Math.min(...placements),
    maxPlacements: Math.max(...placements),
    refPayloadBytes: viewers[0]?.payloadBytes ?? 0,
    refWireBytes: viewers[0]?.wireBytes ?? 0,
    firstArrival: Math.min(...viewers.map((v) => v.first || Number.POSITIVE_INFINITY)),
    lastArrival: Math.max(...viewers.map((v) => v.last)),
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
  }
}

/**
 * Place-to-visible latency: `sent` is [tileValue, sentAt, ...] from the placer. Each placement
 * becomes visible to viewer v when v receives the frame that carries it.
 */
const latency = (args: { sent: number[] }) => {
  const sentAt = new Map<number, number>()
  for (let i = 0; i < args.sent.length; i += 2) sentAt.set(args.sent[i] as number, args.sent[i + 1] as number)
  const hist = createHistogram()
  let placementsSeen = 0
  let refBytes = 0
  kept.forEach((frame, i) => {
    refBytes += frame.length
    for (const tv of tilesOfFrame(frame)) {
      const t0 = sentAt.get(tv)
      if (t0 === undefined) continue
      placementsSeen++
      for (const v of viewers) {
        const t = v.arrivals[i]
        if (t !== undefined) hist.add(t - t0)
      }
    }
  })
  return {
    samples: hist.count(),
    placementsSeen,
    frames: kept.length,
    refPayloadBytes: refBytes,
    negatives: hist.negatives(),
    p50: hist.percentile(50),
    p90: hist.percentile(90),
    p99: hist.percentile(99),
    p999: hist.percentile(99.9),
    max: hist.percentile(100),
  }
}

const closeAll = () => {
  for (const v of viewers) v.ws.close()
  viewers = []
  return null
}

serveChild({ open, reset, stats, latency, closeAll })
