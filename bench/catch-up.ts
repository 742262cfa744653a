/**
 * Cold-start catch-up on the wire: a reader holds a snapshot (a bitmap and the state vector it
 * was taken at) and asks the relay for everything since (sync step 1 with that vector); the
 * relay answers with one sync step 2 frame. Measured with 10,000 and 100,000 r/place-shaped
 * placements made after the snapshot: the frame's bytes, the relay's answer time, and the
 * reader's decode-and-paint time with shared/update-reader.ts (Y.decodeUpdate alone for
 * comparison; the reader needs no Y.Doc).
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { startChild } from './helpers/child.ts'
import { clientFrame, connectRaw } from './helpers/raw-ws.ts'
import { mintTokens, spawnRelay } from './helpers/relay-process.ts'
import { median } from './helpers/stats.ts'
import type { FigureOptions, Row } from './helpers/table.ts'

type Reader = { paint: (bitmap: Uint8Array, update: Uint8Array) => void; name: string }

/** shared/update-reader.ts if present (another engineer's module), else Y.decodeUpdate plus a paint loop. */
const loadReader = async (): Promise<Reader> => {
  try {
    const mod = await import('../shared/update-reader.ts')
    return {
      name: 'shared/update-reader.ts',
      paint: (bitmap, update) => void mod.applyUpdateToBitmap({ bitmap, width: 1000, height: 1000 }, update),
    }
  } catch {
    const { tileValuesOf } = await import('./helpers/update-tiles.ts')
    const { decodeTileValue } = await import('../shared/tile-codec.ts')
    return {
      name: 'Y.decodeUpdate (shared/update-reader.ts absent)',
      paint: (bitmap, update) => {
        for (const v of tileValuesOf(update)) {
          const { x, y, color } = decodeTileValue(v)
          bitmap[y * 1000 + x] = color
        }
      },
    }
  }
}

/** One sync round trip on a fresh socket: sends step 1 with `sv`, resolves with the step 2 update. */
export const requestStep2 = async (port: number, sv: Uint8Array): Promise<{ update: Uint8Array; frameBytes: number; ms: number }> => {
  let done: (v: { update: Uint8Array; frameBytes: number; ms: number }) => void = () => {}
  const result = new Promise<{ update: Uint8Array; frameBytes: number; ms: number }>((r) => {
    done = r
  })
  let t0 = 0
  const ws = await connectRaw({
    port,
    path: '/ws/main',
    onMessage: (payload, frameBytes) => {
      if (payload[0] !== 0 || payload[1] !== 1) return
      const dec = decoding.createDecoder(payload)
      dec.pos = 2
      done({ update: decoding.readVarUint8Array(dec).slice(), frameBytes, ms: performance.now() - t0 })
    },
  })
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, 0)
  encoding.writeVarUint(enc, 0)
  encoding.writeVarUint8Array(enc, sv)
  t0 = performance.now()
  ws.write(clientFrame(encoding.toUint8Array(enc)))
  const r = await result
  ws.close()
  return r
}

const timeMs = (f: () => void, reps: number): number =>
  median(
    Array.from({ length: reps }, () => {
      const t = performance.now()
      f()
      return performance.now() - t
    }),
  )

export const measureCatchUp = async (opts: { steps: number[]; identities: number }) => {
  const reader = await loadReader()
  const relay = await spawnRelay()
  const placers = await startChild('load/placers.ts')
  try {
    const tokens = await mintTokens(relay.url, opts.identities)
    await placers.call('open', { port: relay.port, tokens })
    // Some history before the snapshot, so the snapshot is of a used board.
    await placers.call('run', { perSocket: 10, window: 8, seed: 11, width: 1000, height: 1000 })
    const snap = await requestStep2(relay.port, new Uint8Array([0]))
    const snapshotBitmap = new Uint8Array(1000 * 1000)
    reader.paint(snapshotBitmap, snap.update)
    const sv = Y.encodeStateVectorFromUpdate(snap.update)
    const out: { since: number; bytes: number; bytesPerPlacement: number; relayAnswerMs: number; decodeMs: number; yDecodeMs: number }[] =
      []
    let placed = 0
    for (const [i, since] of opts.steps.entries()) {
      const perSocket = Math.ceil((since - placed) / tokens.length)
      await placers.call('run', { perSocket, window: 8, seed: 100 + i, width: 1000, height: 1000 })
      placed += perSocket * tokens.length
      const answers = []
      for (let k = 0; k < 3; k++) answers.push(await requestStep2(relay.port, sv))
      const { update, frameBytes } = answers[0] as { update: Uint8Array; frameBytes: number }
      reader.paint(snapshotBitmap.slice(), update) // warm-up: JIT of this size, not a cold process
      const decodeMs = timeMs(() => reader.paint(snapshotBitmap.slice(), update), 7)
      const yDecodeMs = timeMs(() => Y.decodeUpdate(update), 3)
      out.push({
        since: placed,
        bytes: frameBytes,
        bytesPerPlacement: frameBytes / placed,
        relayAnswerMs: median(answers.map((a) => a.ms)),
        decodeMs,
        yDecodeMs,
      })
    }
    return { reader: reader.name, snapshotBytes: snap.frameBytes, steps: out }
  } finally {
    await placers.stop()
    await relay.stop()
  }
}

export const runCatchUp = async ({ quick }: FigureOptions): Promise<Row[]> => {
  const r = await measureCatchUp({ steps: quick ? [10_000, 30_000] : [10_000, 100_000], identities: 1_000 })
  return r.steps.flatMap((s) => {
    const n = s.since.toLocaleString('en-US')
    return [
      {
        key: `catchup-bytes-${s.since}`,
        figure: `catch-up frame after ${n} placements since snapshot`,
        value: s.bytes / 1024,
        unit: 'KiB',
        digits: 0,
        details: { ...s, reader: r.reader },
      },
      {
        key: `catchup-decode-${s.since}`,
        figure: `catch-up decode+paint after ${n} placements (${r.reader.startsWith('shared') ? 'update-reader' : 'Y.decodeUpdate'})`,
        value: s.decodeMs,
        unit: 'ms',
        digits: 1,
        ...(s.since <= 10_000 ? { target: { op: '<=' as const, value: 50 } } : {}),
      },
    ]
  })
}
