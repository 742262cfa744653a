/**
 * The client's small pure pieces: the snapshot PNG read into colour indices (every depth and
 * every row filter, against the snapshotter's writer and a hand-filtered file), the reconnection
 * backoff schedule, the heartbeat's verdicts, and the "as of" wording of a board that is not live.
 */
import { deflateSync, inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { BACKOFF, backoffDelay, drawBackoffCap } from '../../client/sync/backoff.ts'
import { HEARTBEAT, heartbeatStep } from '../../client/sync/heartbeat.ts'
import { decodePngIndices, type Inflate } from '../../client/sync/png-indices.ts'
import { formatAsOf } from '../../client/ui/format.ts'
import { encodePalettePng } from '../../snapshotter/render-png.ts'

const inflate: Inflate = async (data) => new Uint8Array(inflateSync(data))

/** Deterministic pseudo-random numbers (a fixed LCG), so failures replay. */
const lcg = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed / 2 ** 31
}

const palette = (n: number) => Array.from({ length: n }, (_, i) => `#${(i * 7).toString(16).padStart(2, '0')}0000`)

const chunk = (type: string, data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(data, 8)
  // CRC left 0: the reader does not check it (HTTP delivered the bytes whole).
  return out
}

const paeth = (a: number, b: number, c: number) => {
  const p = a + b - c
  const pa = Math.abs(p - a)
  const pb = Math.abs(p - b)
  const pc = Math.abs(p - c)
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}

/** An 8-bit palette PNG whose row y uses filter y % 5. */
const filteredPng = (bitmap: Uint8Array, width: number, height: number, colors: number): Uint8Array => {
  const raw = new Uint8Array(height * (width + 1))
  for (let y = 0; y < height; y++) {
    const f = y % 5
    raw[y * (width + 1)] = f
    for (let x = 0; x < width; x++) {
      const v = bitmap[y * width + x] as number
      const a = x > 0 ? (bitmap[y * width + x - 1] as number) : 0
      const b = y > 0 ? (bitmap[(y - 1) * width + x] as number) : 0
      const c = x > 0 && y > 0 ? (bitmap[(y - 1) * width + x - 1] as number) : 0
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : paeth(a, b, c)
      raw[y * (width + 1) + 1 + x] = (v - pred) & 0xff
    }
  }
  const ihdr = new Uint8Array(13)
  const v = new DataView(ihdr.buffer)
  v.setUint32(0, width)
  v.setUint32(4, height)
  ihdr.set([8, 3, 0, 0, 0], 8)
  const parts = [
    Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('PLTE', new Uint8Array(colors * 3)),
    chunk('IDAT', new Uint8Array(deflateSync(raw))),
    chunk('IEND', new Uint8Array(0)),
  ]
  return Buffer.concat(parts)
}

describe('snapshot PNG to colour indices', () => {
  it('reads the snapshotter PNGs at every depth exactly', async () => {
    const rand = lcg(3)
    for (const colors of [2, 4, 16, 32]) {
      for (const [w, h] of [
        [1, 1],
        [7, 5],
        [70, 33],
      ] as const) {
        const bitmap = Uint8Array.from({ length: w * h }, () => Math.floor(rand() * colors))
        const png = await decodePngIndices(encodePalettePng(bitmap, w, h, palette(colors)), inflate)
        expect(png, `${colors} colours ${w}x${h}`).toEqual({ bitmap, width: w, height: h, colors })
      }
    }
  })

  it('undoes every row filter', async () => {
    const rand = lcg(9)
    const bitmap = Uint8Array.from({ length: 40 * 25 }, () => Math.floor(rand() * 32))
    const png = await decodePngIndices(filteredPng(bitmap, 40, 25, 32), inflate)
    expect(png).toEqual({ bitmap, width: 40, height: 25, colors: 32 })
  })

  it('says why it cannot read what is not a palette PNG', async () => {
    expect(await decodePngIndices(new Uint8Array([1, 2, 3]), inflate)).toEqual({ error: 'not a PNG file' })
    const good = encodePalettePng(new Uint8Array(4), 2, 2, palette(2))
    expect(await decodePngIndices(good.subarray(0, good.length - 20), inflate)).toHaveProperty('error')
    const rgb = good.slice()
    rgb[8 + 8 + 9] = 2 // IHDR colour type: truecolour
    expect(await decodePngIndices(rgb, inflate)).toEqual({ error: 'colour type 2 is not a palette PNG' })
  })
})

describe('reconnection backoff', () => {
  it('doubles from 200 ms up to a cap drawn per page in [2, 4) s', () => {
    expect(drawBackoffCap(0)).toBe(BACKOFF.minCapMs)
    expect(drawBackoffCap(0.999)).toBeLessThan(2 * BACKOFF.minCapMs)
    const cap = drawBackoffCap(0.5)
    expect([0, 1, 2, 3, 4, 5, 60].map((n) => backoffDelay(n, cap))).toEqual([200, 400, 800, 1600, cap, cap, cap])
  })
})

describe('the age of a board shown offline', () => {
  it('says the time the same day, the date too on another day', () => {
    const at = new Date(2026, 11, 3, 14, 2, 30).getTime()
    expect(formatAsOf(at, new Date(2026, 11, 3, 18, 0).getTime())).toBe('as of 14:02')
    expect(formatAsOf(at, new Date(2026, 11, 5, 9, 0).getTime())).toBe('as of 3 Dec 14:02')
    expect(formatAsOf(at, new Date(2027, 0, 2, 9, 0).getTime())).toBe('as of 3 Dec 2026 14:02')
  })
})

describe('heartbeat', () => {
  /** A live socket in the foreground, ticking every tickMs: queries every queryMs, answered at once while the network lasts. */
  const run = (diesAt: number, until: number) => {
    const h = { lastFrameAt: 0, lastQueryAt: 0, queryOutstandingSince: null as number | null }
    for (let now = HEARTBEAT.tickMs; now <= until; now += HEARTBEAT.tickMs) {
      const step = heartbeatStep({ now, live: true, open: true, ...h })
      if (step === 'drop') return now
      if (step === 'query') {
        h.lastQueryAt = now
        h.queryOutstandingSince ??= now
        // Answered at once while the network is up.
        if (now < diesAt) {
          h.lastFrameAt = now
          h.queryOutstandingSince = null
        }
      }
    }
    return null
  }

  it('keeps a live socket that answers, and drops one that went silent within the deadline (plus a tick)', () => {
    expect(run(Number.POSITIVE_INFINITY, 120_000)).toBeNull()
    for (const diesAt of [10_000, 10_100, 11_000, 11_900]) {
      const droppedAt = run(diesAt, 60_000) as number
      expect(droppedAt - diesAt).toBeLessThanOrEqual(HEARTBEAT.deadlineMs + HEARTBEAT.tickMs)
      // Never before deadlineMs of silence: the last answer came at most queryMs before the loss.
      expect(droppedAt - diesAt).toBeGreaterThanOrEqual(HEARTBEAT.deadlineMs - HEARTBEAT.queryMs)
    }
  })

  it('does not take a background tab whose timers ran late as silent', () => {
    // The last query was answered, then Presence frames every 10 s; this tick is a minute late.
    const h = { live: true, open: true, lastFrameAt: 52_000, lastQueryAt: 0, queryOutstandingSince: null }
    expect(heartbeatStep({ now: 60_000, ...h })).toBe('query')
    // Its query unanswered a minute later, with nothing since: lost.
    expect(heartbeatStep({ ...h, now: 120_000, lastQueryAt: 60_000, queryOutstandingSince: 60_000 })).toBe('drop')
  })

  it('gives an opening or syncing socket longer, and never queries one that is not open', () => {
    const h = { live: false, open: false, lastFrameAt: 0, lastQueryAt: 0, queryOutstandingSince: null }
    expect(heartbeatStep({ ...h, now: HEARTBEAT.deadlineMs * 2 })).toBe('wait')
    expect(heartbeatStep({ ...h, now: HEARTBEAT.syncDeadlineMs + 1 })).toBe('drop')
    expect(heartbeatStep({ ...h, open: true, now: HEARTBEAT.queryMs })).toBe('query')
  })
})
