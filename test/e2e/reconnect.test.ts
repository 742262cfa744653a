/**
 * The browser client across relay restarts, under the relay's security headers. The real client
 * (built by vite) is served by a real relay on a fixed port and DATA_DIR; the relay is closed
 * and started again under the open page, which must notice, say so, reconnect by itself and
 * converge to the relay's board without a reload. Every page records Content-Security-Policy
 * violations and console errors from its first script on; none may occur.
 */
import * as decoding from 'lib0/decoding'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BACKOFF, backoffDelay } from '../../client/sync/backoff.ts'
import type { Room } from '../../relay/room.ts'
import { readPlace, readSession, readTiles } from '../../shared/frames.ts'
import { colorToRgb } from '../../shared/palette.ts'
import { RecordKind } from '../../shared/placement-record.ts'
import { MessageType, TOKEN_COOKIE } from '../../shared/protocol.ts'
import { encodeTileValue } from '../../shared/tile-codec.ts'
import { isMissingSnapshotReport, tileCenter } from '../helpers/browser.ts'
import { newSession, placeHttp } from '../helpers/clients.ts'
import { createRestartableRelay } from '../helpers/restartable-relay.ts'
import { startTestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

// Small boards, so that comparing every pixel is cheap: "main" without cooldown for placements
// over HTTP, "slow" with a one-minute cooldown.
const W = 64
const H = 48
const BOARDS = [
  { id: 'main', width: W, height: H, cooldownMs: 0 },
  { id: 'slow', width: W, height: H, cooldownMs: 60_000 },
]

/** The relay on one DATA_DIR and, after its first start, one port: the open pages know only that one. */
const rig = createRestartableRelay({ name: 'reconnect', boards: BOARDS })
const { live, stop: stopRelay, start: startRelay } = rig

const roomOf = (id: string): Room => {
  const room = live().rooms.get(id)
  if (!room) throw new Error(`no room ${id}`)
  return room
}

beforeAll(rig.setUp)
afterAll(rig.tearDown)

/** A page on a board with everything it reports recorded. */
type Watched = {
  page: Page
  context: BrowserContext
  /** Console messages of type error, and uncaught exceptions. */
  errors: string[]
  /**
   * Chromium's own console report of each refused reconnection attempt while the relay was down
   * ("WebSocket connection to 'ws://…' failed: … ERR_CONNECTION_REFUSED"): logged by the
   * browser's network stack for every failed socket, not by the client, and not something a
   * page can silence. Counted apart; any other console error fails the test.
   */
  refusedSockets: string[]
  /** Main-frame navigations seen (1 = only the first load). */
  navigations: () => number
  /** Every WebSocket the page opened, with the binary frames it received and sent, in order. */
  sockets: { url: string; received: Uint8Array[]; sent: Uint8Array[]; closed: boolean }[]
}
const watched: Watched[] = []

type CspViolation = { directive: string; blocked: string; source: string; sample: string }

/** Recorded in the page before any of its scripts run (addInitScript), kept on window. */
const recordCspViolations = () => {
  const w = window as unknown as { __cspViolations: unknown[] }
  w.__cspViolations = []
  window.addEventListener(
    'securitypolicyviolation',
    (e) => {
      w.__cspViolations.push({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, sample: e.sample })
    },
    true,
  )
}

/**
 * When the page itself created each WebSocket (Date.now(), ms), recorded before its scripts run:
 * the backoff's spacing as the page kept it. The test hears of a socket later than the page made
 * it, by more under load, which shortened the next spacing as measured here.
 */
const recordSocketStarts = () => {
  const w = window as unknown as { __socketStarts: number[]; WebSocket: typeof WebSocket }
  w.__socketStarts = []
  w.WebSocket = new Proxy(w.WebSocket, {
    construct: (target, args) => {
      w.__socketStarts.push(Date.now())
      return Reflect.construct(target, args)
    },
  })
}

const cspViolations = (page: Page): Promise<CspViolation[]> =>
  page.evaluate(() => (window as unknown as { __cspViolations: CspViolation[] }).__cspViolations)

const openBoard = async (board: string): Promise<Watched> => {
  const context = await rig.browser.newContext({ viewport: { width: 1024, height: 720 } })
  rig.cleanups.push(() => context.close())
  await context.addInitScript(recordCspViolations)
  await context.addInitScript(recordSocketStarts)
  const page = await context.newPage()
  const errors: string[] = []
  const refusedSockets: string[] = []
  const refused = new RegExp(
    `^WebSocket connection to 'ws://127\\.0\\.0\\.1:${rig.port}/ws/${board}\\?tessera=1&live=tiles(&since=\\d+)?' failed: Error in connection establishment: net::ERR_CONNECTION_REFUSED$`,
  )
  let navigations = 0
  const sockets: Watched['sockets'] = []
  page.on('console', (m) => {
    if (m.type() !== 'error') return
    if (refused.test(m.text())) refusedSockets.push(m.text())
    else if (isMissingSnapshotReport(m.text(), m.location().url)) return
    else errors.push(`console: ${m.text()} (${m.location().url})`)
  })
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations += 1
  })
  page.on('websocket', (ws) => {
    const record = { url: ws.url(), received: [] as Uint8Array[], sent: [] as Uint8Array[], closed: false }
    sockets.push(record)
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string') record.received.push(new Uint8Array(payload))
    })
    ws.on('framesent', ({ payload }) => {
      if (typeof payload !== 'string') record.sent.push(new Uint8Array(payload))
    })
    ws.on('close', () => {
      record.closed = true
    })
  })
  const response = await page.goto(`http://127.0.0.1:${rig.port}/?board=${board}`)
  // The page runs under the relay's policy (so "no violation" below means something).
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self'")
  await page.waitForSelector('body[data-connection="live"]')
  // The service worker is registered and active before the relay goes away, so that its install
  // (which fetches the precache) is not what a restart interrupts.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true))
  // A first visit's socket is anonymous; once the page has made its identity (a proof of work)
  // it hands over to a socket presenting it, which resumes with since=<cursor>. The tests below
  // watch the page from then on.
  await page.waitForSelector('#place:not([data-state="identity"])')
  await waitFor(() => sockets.length >= 2 && sessionFrames(sockets[1] as Watched['sockets'][number]).length > 0, {
    what: 'the identified socket',
  })
  const [anonymous] = sockets.splice(0, 1)
  expect(sessionFrames(anonymous as Watched['sockets'][number])[0]?.user).toBe('')
  expect(sockets[0]?.url).toMatch(/&since=\d+$/)
  const w: Watched = { page, context, errors, refusedSockets, navigations: () => navigations, sockets }
  watched.push(w)
  return w
}

/** No CSP violation and no console error on any page of the test, ever. */
afterEach(async () => {
  // A test that failed with the relay down leaves it down: the next one needs it.
  if (!rig.relay) await startRelay()
  for (const w of watched.splice(0)) {
    try {
      expect(await cspViolations(w.page), 'CSP violations').toEqual([])
      expect(w.errors, 'console errors').toEqual([])
    } finally {
      // Closed, failed or not: a page left open would keep reconnecting through the next test's restarts.
      await w.context.close()
    }
  }
})

/** The relay's board as RGB triples through its palette, row-major. */
const relayRgb = (room: Room): number[] => {
  const { palette } = room.config()
  const out: number[] = []
  for (const c of room.bitmap()) out.push(...colorToRgb(palette[c] as string))
  return out
}

/** Waits until every pixel of the page's board canvas is the relay's board, through the palette. */
const waitForCanvasToMatch = async (page: Page, room: Room) => {
  const expected = relayRgb(room)
  const { width, height } = room.config()
  await page.waitForFunction(
    ([rgb, w, h]) => {
      const canvas = document.querySelector<HTMLCanvasElement>('canvas.board')
      if (!canvas || canvas.width !== w || canvas.height !== h) return false
      const d = canvas.getContext('2d')?.getImageData(0, 0, w as number, h as number).data
      if (!d) return false
      const want = rgb as number[]
      for (let i = 0; i < (w as number) * (h as number); i++) {
        if (d[4 * i] !== want[3 * i] || d[4 * i + 1] !== want[3 * i + 1] || d[4 * i + 2] !== want[3 * i + 2]) return false
      }
      return true
    },
    [expected, width, height] as const,
    { timeout: 10_000 },
  )
  // And the page's bitmap (colour indices) is exactly the relay's.
  const bitmap = await page.evaluate(() =>
    Array.from((window as unknown as { __tessera: { bitmap: () => Uint8Array } }).__tessera.bitmap()),
  )
  expect(bitmap).toEqual(Array.from(room.bitmap()))
}

/** The connection pill's visible words. */
const statusPill = (page: Page) => page.locator('#connection')

/** Waits until the page has noticed that the relay is gone and says it is reconnecting. */
const waitForReconnecting = async (page: Page) => {
  await page.waitForFunction(() => document.body.dataset.connection === 'reconnecting')
  await expect.poll(() => statusPill(page).textContent()).toBe('Reconnecting…')
  expect(await statusPill(page).isVisible()).toBe(true)
}

/** The Session frames received on one socket (user, nextPlaceAt). */
const sessionFrames = (socket: Watched['sockets'][number]) =>
  socket.received.flatMap((f) => {
    const dec = decoding.createDecoder(f)
    return decoding.readVarUint(dec) === MessageType.Session ? [readSession(dec)] : []
  })

/** The sync message types (y-protocols: 1 answer, 2 update) one socket received. */
const syncMessages = (socket: Watched['sockets'][number]) =>
  socket.received.flatMap((f) => {
    const dec = decoding.createDecoder(f)
    return decoding.readVarUint(dec) === MessageType.Sync ? [decoding.readVarUint(dec)] : []
  })

/** The tile values of the Tiles frames one socket received, in order. */
const tileValues = (socket: Watched['sockets'][number]) =>
  socket.received.flatMap((f) => {
    const dec = decoding.createDecoder(f)
    return decoding.readVarUint(dec) === MessageType.Tiles ? [...readTiles(dec).values] : []
  })

/** Deterministic scattered placements: n tiles of `seed`'s pattern. */
const pattern = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => ({ x: (i * 7 + seed * 13) % W, y: (i * 5 + seed * 3) % H, color: ((i + seed) % 15) + 1 }))

describe('a relay restart under an open page', () => {
  it('shows the outage, reconnects by itself and converges to the relay board without a reload', async () => {
    const w = await openBoard('main')
    const { page } = w
    await page.evaluate(() => {
      ;(window as unknown as { __marker: string }).__marker = 'before the restart'
    })
    const { token } = await newSession(live().url)
    // The palette is drawn under the policy too: each swatch shows its colour (an inline style
    // attribute would be refused, leaving the swatches blank).
    const swatches = await page.$$eval('#palette .swatch', (els) => els.map((el) => getComputedStyle(el).backgroundColor))
    expect(swatches).toEqual(
      roomOf('main')
        .config()
        .palette.map((hex) => `rgb(${colorToRgb(hex).join(', ')})`),
    )

    // Placements while the page is connected arrive live.
    for (const p of pattern(40, 1)) expect((await placeHttp(live().url, token, p)).status).toBe(200)
    await waitForCanvasToMatch(page, roomOf('main'))

    // The relay goes away: the page says so and cannot place.
    const downAt = Date.now()
    await stopRelay()
    await waitForReconnecting(page)
    expect(await page.locator('#place').isDisabled()).toBe(true)
    // It keeps trying, backing off: the relay stays down for three refused attempts, whose
    // spacing grows (200, 400, 800 ms after the close; never a tight loop).
    await waitFor(() => w.refusedSockets.length >= 3, { what: 'three refused reconnection attempts' })

    // Meanwhile another relay instance on the same data (another port, which the page does not
    // know) takes placements the page misses entirely, overwriting some tiles it shows.
    const other = await startRelay(0)
    expect(other.port).not.toBe(rig.port)
    for (const p of [...pattern(30, 2), ...pattern(10, 1).map((t) => ({ ...t, color: 0 }))]) {
      expect((await placeHttp(other.url, token, p)).status).toBe(200)
    }
    const missed = other.rooms.get('main')?.bitmap().slice() as Uint8Array
    await other.close()
    expect(await page.evaluate(() => document.body.dataset.connection)).toBe('reconnecting')

    // The relay comes back on the same port and DATA_DIR: the page reconnects by itself (with
    // backoff: at most 4 s between attempts) and catches up through the sync handshake.
    await startRelay()
    const upAt = Date.now()
    expect(Buffer.compare(roomOf('main').bitmap(), missed)).toBe(0)
    await page.waitForSelector('body[data-connection="live"]', { timeout: 10_000 })
    await expect.poll(() => statusPill(page).textContent()).toBe('Live')
    await waitForCanvasToMatch(page, roomOf('main'))

    // And placements made after the reconnect arrive live again.
    for (const p of pattern(25, 3)) expect((await placeHttp(live().url, token, p)).status).toBe(200)
    await waitForCanvasToMatch(page, roomOf('main'))

    // live=tiles: the first (identified) socket resumed from the anonymous one's cursor and never
    // got a Yjs update; the socket after the restart resumed from the page's cursor (since=):
    // what the page missed came as one Tiles catch-up, no sync answer, then the live placements
    // as Tiles frames.
    const opened = w.sockets.filter((s) => s.received.length > 0)
    expect(opened).toHaveLength(2)
    const [first, second] = opened as [Watched['sockets'][number], Watched['sockets'][number]]
    expect(syncMessages(first)).toEqual([])
    expect(syncMessages(second)).toEqual([])
    const values = (ps: { x: number; y: number; color: number }[]) => ps.map((p) => encodeTileValue(p.x, p.y, p.color))
    expect(tileValues(first)).toEqual(values(pattern(40, 1)))
    expect(tileValues(second)).toEqual(values([...pattern(30, 2), ...pattern(10, 1).map((t) => ({ ...t, color: 0 })), ...pattern(25, 3)]))
    expect(second.url).toMatch(/&since=\d+$/)

    // All of it without a reload: the same document, the same navigation.
    expect(await page.evaluate(() => (window as unknown as { __marker?: string }).__marker)).toBe('before the restart')
    expect(
      await page.evaluate(() => performance.getEntriesByType('navigation').map((e) => (e as PerformanceNavigationTiming).type)),
    ).toEqual(['navigate'])
    expect(w.navigations()).toBe(1)
    // One socket before the outage (closed by the relay), then failed attempts, then one open.
    expect(w.sockets.length).toBeGreaterThanOrEqual(2)
    expect(w.sockets.filter((s) => !s.closed)).toHaveLength(1)
    // With backoff, not in a loop: waits of 200, 400, 800, 1600 ms, then a cap of 2 to 4 s. Each
    // attempt starts at least its wait after the one before (the page's own times: a timer never
    // fires early; a refused attempt's time to fail only adds).
    const starts = await page.evaluate(() => (window as unknown as { __socketStarts: number[] }).__socketStarts)
    const attempts = starts.filter((t) => t >= downAt && t <= upAt)
    expect(attempts.length).toBeGreaterThanOrEqual(3)
    expect(attempts.length).toBeLessThanOrEqual(5 + (upAt - downAt) / 2000)
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] as number))
    for (const [i, gap] of gaps.entries()) expect(gap).toBeGreaterThanOrEqual(backoffDelay(i + 1, BACKOFF.minCapMs))
    // (The last one may have met the relay just started.)
    expect(w.refusedSockets.length).toBeGreaterThanOrEqual(attempts.length - 1)
    expect(w.refusedSockets.length).toBeLessThanOrEqual(attempts.length)
    expect(w.sockets[0]?.url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${rig.port}/ws/main\\?tessera=1&live=tiles&since=\\d+$`))
    expect(w.sockets.every((s) => s.url.startsWith(`ws://127.0.0.1:${rig.port}/ws/main?tessera=1&live=tiles`))).toBe(true)
  })

  it('after a restart, the Session frame restores the cooldown; a placement in flight is reported lost, kept, and re-sent once with the same id', async () => {
    const w = await openBoard('slow')
    const { page } = w
    const room = () => roomOf('slow')
    const first = await waitFor(() => sessionFrames(w.sockets[0] as Watched['sockets'][number])[0], { what: 'a Session frame' })
    expect(first?.user).toMatch(/^[A-Za-z0-9_-]{16}$/)
    const user = first?.user as string

    await page.click('#palette [data-color="3"]')
    const at = await tileCenter(page, 10, 10)
    await page.mouse.click(at.x, at.y)
    await page.waitForSelector('#place[data-state="ready"]')
    // The inspector's tile request answered before the relay stops: on a loaded machine it was
    // still in flight and Chromium logged its ERR_EMPTY_RESPONSE as a console error.
    await page.waitForSelector('#inspector >> text=never placed')

    // A placement in flight when the relay goes down: the relay holds its commits (as an admin
    // rollback does), accepts the Place, and closes before committing it.
    let release = () => {}
    const held = new Promise<void>((r) => {
      release = r
    })
    const holding = room().exclusive(async () => {
      await held
      return { result: null, writes: [], user: '', kind: RecordKind.Placement }
    })
    await page.click('#place')
    await page.waitForSelector('#feedback[data-kind="pending"]')
    await waitFor(() => room().nextPlaceAt(user) > Date.now(), { what: 'the relay to accept the Place' })
    await stopRelay()
    release()
    await holding
    await page.waitForSelector('#feedback[data-kind="lost"]')
    await waitForReconnecting(page)
    // Kept (localStorage), marked sent: it will be retried with its placement id.
    const kept = JSON.parse((await page.evaluate(() => localStorage.getItem('tessera.queue.slow'))) ?? 'null')
    expect(kept).toMatchObject({ x: 10, y: 10, color: 3, sent: true })

    // It did not land: after the restart the board does not have it and the Session frame says
    // "place now"; the page re-sends it with the same id, and it lands, once.
    await startRelay()
    expect(room().bitmap()[10 * W + 10]).toBe(0)
    const afterLost = await waitFor(() => w.sockets.find((s, i) => i > 0 && sessionFrames(s).length > 0), { what: 'a Session frame' })
    expect(sessionFrames(afterLost)).toEqual([{ user, nextPlaceAt: 0, banned: null }])
    await page.waitForSelector('#feedback[data-kind="placed"]', { timeout: 10_000 })
    const placeFrames = w.sockets.flatMap((s) => s.sent.filter((f) => f[0] === MessageType.Place))
    expect(placeFrames).toHaveLength(2)
    const ids = placeFrames.map((f) => readPlace(decoding.createDecoder(f.subarray(1))).id)
    expect(ids).toEqual([kept.id, kept.id])
    expect(await page.evaluate(() => localStorage.getItem('tessera.queue.slow'))).toBeNull()
    await waitForCanvasToMatch(page, room())
    expect(room().bitmap()[10 * W + 10]).toBe(3)

    // The placement that landed started the one-minute cooldown...
    await page.waitForSelector('#place[data-state="cooldown"] >> text=/Ready in 0:[0-5][0-9]|Ready in 1:00/')
    const { placedAt } = await room().tileInfo(10, 10)
    expect(typeof placedAt).toBe('number')

    // ... which survives the relay's restart: the relay rebuilds it from history and the
    // Session frame on the new socket carries it to the page, which counts down again.
    await stopRelay()
    await waitForReconnecting(page)
    await startRelay()
    await page.waitForSelector('body[data-connection="live"]', { timeout: 10_000 })
    const afterRestart = w.sockets.at(-1) as Watched['sockets'][number]
    expect(afterRestart).not.toBe(afterLost)
    await waitFor(() => sessionFrames(afterRestart).length > 0, { what: 'a Session frame' })
    expect(sessionFrames(afterRestart)).toEqual([{ user, nextPlaceAt: (placedAt as number) + 60_000, banned: null }])
    await page.waitForSelector('#place[data-state="cooldown"] >> text=/Ready in 0:[0-5][0-9]|Ready in 1:00/')
    expect(await page.isDisabled('#place')).toBe(true)
    // The countdown is the relay's: what is left of the minute, give or take the test's own time.
    // The label and the time read together (no round trip between them).
    const { label, readAt } = await page.evaluate(() => ({
      label: document.querySelector('#place')?.textContent ?? '',
      readAt: Date.now(),
    }))
    const [, m, s] = /Ready in (\d):(\d\d)/.exec(label) ?? []
    const shownMs = (Number(m) * 60 + Number(s)) * 1000
    const leftMs = (placedAt as number) + 60_000 - readAt
    expect(Math.abs(shownMs - leftMs)).toBeLessThanOrEqual(2000)

    // Another identity's page that never placed: its cooldown comes only from the Session frame.
    // Its placement is made over HTTP with its own cookie while it is connected (the page gets no
    // PlaceResult), then the relay restarts and the page shows the countdown.
    const b = await openBoard('slow')
    const cookie = (await b.context.cookies()).find((c) => c.name === TOKEN_COOKIE)
    expect(cookie).toBeDefined()
    const viaHttp = await placeHttp(live().url, cookie?.value as string, { x: 20, y: 20, color: 5 }, 'slow')
    expect(viaHttp.status).toBe(200)
    // The page learned nothing of it (the relay tells a socket its cooldown only in the Session
    // frame at connect, and in PlaceResults): whatever it shows after the restart comes from there.
    expect(await b.page.locator('#place').getAttribute('data-state')).toBe('no-selection')
    await stopRelay()
    await waitForReconnecting(b.page)
    await startRelay()
    await b.page.waitForSelector('body[data-connection="live"]', { timeout: 10_000 })
    const bSocket = b.sockets.at(-1) as Watched['sockets'][number]
    await waitFor(() => sessionFrames(bSocket).length > 0, { what: 'a Session frame' })
    expect(sessionFrames(bSocket)[0]?.nextPlaceAt).toBe((viaHttp.body.placedAt as number) + 60_000)
    await b.page.waitForSelector('#place[data-state="cooldown"] >> text=/Ready in 0:[0-5][0-9]|Ready in 1:00/')
    await waitForCanvasToMatch(b.page, room())
    // The first page reconnected too and still counts down.
    await page.waitForSelector('body[data-connection="live"]')
    await page.waitForSelector('#place[data-state="cooldown"]')
  })

  it('records CSP violations: a control that the collector and the policy work', async () => {
    const w = await openBoard('main')
    // An inline script is what script-src 'self' refuses: exactly one violation, then cleared.
    await w.page.evaluate(() => {
      const s = document.createElement('script')
      s.textContent = 'window.__inlineRan = true'
      document.head.append(s)
    })
    await w.page.waitForFunction(() => (window as unknown as { __cspViolations: unknown[] }).__cspViolations.length > 0)
    const [violation, ...more] = await cspViolations(w.page)
    expect(more).toEqual([])
    expect(violation?.directive).toMatch(/^script-src/)
    expect(await w.page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan)).toBeUndefined()
    // Chromium reports it on the console too: the console collector sees it.
    await waitFor(() => w.errors.some((e) => e.includes('Content Security Policy')), { what: 'the console report' })
    // This page's violation and console error were deliberate.
    watched.splice(watched.indexOf(w), 1)
  })
})

describe('framing headers on the HTML page', () => {
  const pageHeaders = async (url: string) => {
    const res = await fetch(`${url}/?board=main`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    await res.arrayBuffer()
    return res.headers
  }

  it('allows only the same origin to frame the client by default', async () => {
    const headers = await pageHeaders(live().url)
    expect(headers.get('content-security-policy')).toContain("frame-ancestors 'self'")
    expect(headers.get('content-security-policy')).not.toMatch(/frame-ancestors 'self' \S/)
    expect(headers.get('x-frame-options')).toBe('SAMEORIGIN')
  })

  it('adds EMBED_ORIGINS to frame-ancestors and drops X-Frame-Options', async () => {
    const embedding = await startTestRelay({
      boards: [{ id: 'main', width: 8, height: 8 }],
      env: { STATIC_DIR: rig.outDir, EMBED_ORIGINS: 'https://example.org' },
    })
    rig.cleanups.push(() => embedding.stop())
    const headers = await pageHeaders(embedding.url)
    const csp = headers.get('content-security-policy') ?? ''
    expect(csp.split(';').map((d) => d.trim())).toContain("frame-ancestors 'self' https://example.org")
    expect(headers.get('x-frame-options')).toBeNull()
  })
})
