/**
 * The sync-answer amplification attack of issue 11, as a load generator: sockets that send sync
 * step 1 with an empty state vector (4 bytes, asking for the whole board) and never read, and
 * sockets that read as fast as they can while asking 50 times a second; meanwhile the relay's
 * RSS (from /proc) and its health check's latency are sampled.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { WebSocket } from 'ws'

/** Message sync (0), step 1 (0), a state vector of 1 byte: 0 clients. */
export const EMPTY_SYNC_STEP1 = new Uint8Array([0, 0, 1, 0])

/** A masked client frame (all-zero key: the payload stays as is). */
const clientFrame = (payload: Uint8Array): Buffer => {
  const head = Buffer.from([0x82, 0x80 | payload.length, 0, 0, 0, 0])
  return Buffer.concat([head, payload])
}

/** A WebSocket handshake on a raw TCP socket that then never reads: resolves once the 101 arrives. */
const openSilent = (port: number, path: string, localAddress?: string): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) })
    let seen = ''
    socket.on('error', reject)
    socket.on('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      )
    })
    const onData = (d: Buffer) => {
      seen += d.toString('latin1')
      if (!seen.includes('\r\n\r\n')) return
      socket.off('data', onData)
      if (!seen.startsWith('HTTP/1.1 101')) return reject(new Error(`upgrade refused: ${seen.split('\r\n')[0]}`))
      // From here on nothing is read: the kernel's receive buffer fills and the relay's send
      // buffers are left to grow.
      socket.pause()
      resolve(socket)
    }
    socket.on('data', onData)
  })

/**
 * Paints a 1000 x 1000 board in four colours with admin fills: every shard gets a base, so a full
 * sync answer is about 1 MB (the attack needs a large answer to mean anything).
 */
export const paintBoard = async (url: string, adminToken: string, board = 'main'): Promise<void> => {
  const quadrants = [
    [0, 0],
    [500, 0],
    [0, 500],
    [500, 500],
  ] as const
  for (const [i, [x, y]] of quadrants.entries()) {
    const res = await fetch(`${url}/api/admin/boards/${board}/fill`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ x, y, w: 500, h: 500, color: 2 + i }),
    })
    if (!res.ok) throw new Error(`fill: ${res.status} ${await res.text()}`)
  }
}

/** Resident set size of a process, bytes (Linux). */
export const rssOf = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS for ${pid}`)
  return Number(m[1]) * 1024
}

export type FloodOptions = {
  port: number
  pid: number
  board: string
  /** Sockets that never read, and the sync step 1 frames each sends. */
  silent: number
  framesPerSilent: number
  /**
   * If set, silent socket i opens as a resuming live=tiles socket with this `since` (a history
   * catch-up is its request) instead of sending sync step 1 frames.
   */
  resumeSince?: (i: number) => number
  /** Source address of the silent sockets (any 127.x.y.z on loopback): an attacker of its own. */
  localAddress?: string
  /** Sockets that read, each asking `readingRate` times a second. */
  reading: number
  readingRate: number
  durationMs: number
  /** Called every `sampleMs` during the attack (a placement, say); its resolution time is reported. */
  probe?: () => Promise<unknown>
  sampleMs?: number
}

export type FloodReport = {
  baselineRss: number
  peakRss: number
  /** Health check latencies during the attack, ms, in order. */
  health: number[]
  /** Probe latencies, ms. */
  probe: number[]
  /** Bytes the reading sockets received. */
  readBytes: number
  /** Health checks not answered within HEALTH_TIMEOUT_MS. */
  healthTimeouts: number
}

/** A health check not answered within this is counted as failed, ms. */
export const HEALTH_TIMEOUT_MS = 5000

export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN
}

/** Runs the attack and reports; every socket is closed when it resolves. */
export const syncFlood = async (o: FloodOptions): Promise<FloodReport> => {
  const sampleMs = o.sampleMs ?? 100
  const baselineRss = rssOf(o.pid)
  const silent: Socket[] = []
  const readers: WebSocket[] = []
  let readBytes = 0
  let peakRss = baselineRss
  const health: number[] = []
  const probe: number[] = []
  let healthTimeouts = 0
  try {
    for (let i = 0; i < o.silent; i++) {
      const path = o.resumeSince ? `/ws/${o.board}?live=tiles&since=${o.resumeSince(i)}` : `/ws/${o.board}`
      const s = await openSilent(o.port, path, o.localAddress)
      silent.push(s)
      if (o.framesPerSilent === 0) continue
      const frame = clientFrame(EMPTY_SYNC_STEP1)
      s.write(Buffer.concat(Array.from({ length: o.framesPerSilent }, () => frame)))
    }
    for (let i = 0; i < o.reading; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${o.port}/ws/${o.board}`)
      ws.binaryType = 'nodebuffer'
      ws.on('message', (d: Buffer) => {
        readBytes += d.length
      })
      ws.on('error', () => {})
      await new Promise((resolve, reject) => {
        ws.once('open', resolve)
        ws.once('error', reject)
      })
      readers.push(ws)
    }
    const asking = setInterval(() => {
      for (const ws of readers) if (ws.readyState === ws.OPEN) ws.send(EMPTY_SYNC_STEP1)
    }, 1000 / o.readingRate)
    const end = Date.now() + o.durationMs
    try {
      while (Date.now() < end) {
        const t0 = performance.now()
        try {
          const res = await fetch(`http://127.0.0.1:${o.port}/api/health`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) })
          await res.arrayBuffer()
          health.push(performance.now() - t0)
        } catch {
          // No answer within the timeout: counted, with the timeout as a lower bound of its latency.
          health.push(HEALTH_TIMEOUT_MS)
          healthTimeouts += 1
        }
        if (o.probe) {
          const t1 = performance.now()
          await o.probe()
          probe.push(performance.now() - t1)
        }
        peakRss = Math.max(peakRss, rssOf(o.pid))
        await new Promise((resolve) => setTimeout(resolve, sampleMs))
      }
    } finally {
      clearInterval(asking)
    }
    peakRss = Math.max(peakRss, rssOf(o.pid))
  } finally {
    for (const s of silent) s.destroy()
    for (const ws of readers) ws.terminate()
  }
  return { baselineRss, peakRss, health, probe, readBytes, healthTimeouts }
}

/** One line for a report: RSS growth and latency percentiles. */
export const describeFlood = (r: FloodReport): string =>
  `RSS +${((r.peakRss - r.baselineRss) / 2 ** 20).toFixed(0)} MB (baseline ${(r.baselineRss / 2 ** 20).toFixed(0)} MB); ` +
  `health p50 ${percentile(r.health, 50).toFixed(1)} ms, p99 ${percentile(r.health, 99).toFixed(1)} ms, max ${Math.max(...r.health).toFixed(1)} ms` +
  (r.probe.length ? `; placement p50 ${percentile(r.probe, 50).toFixed(1)} ms, max ${Math.max(...r.probe).toFixed(1)} ms` : '') +
  `; reading sockets received ${(r.readBytes / 2 ** 20).toFixed(0)} MB` +
  (r.healthTimeouts ? `; ${r.healthTimeouts} health checks unanswered within ${HEALTH_TIMEOUT_MS} ms` : '')
