/**
 * The embeds end to end (docs/EMBEDDING.md), on the test site of test/helpers/embed-site.ts: the
 * <tessera-board> element (/embed.js) and the /embed iframe page, built by vite and served by a
 * real relay addressed as 127.0.0.1, embedded by host pages served from `localhost` (another site), in
 * Debian's Chromium with third-party cookies blocked (--test-third-party-cookie-phaseout; the
 * test checks that the frame has no storage access). Probed on Chromium 156 (Debian 12): a
 * third-party frame over http got no cookie with or without that flag (a SameSite=None cookie
 * stored first-party was not sent to it), so the flag states the intent and the checks below
 * (no storage access, no cookie stored for the relay) hold either way. Placements are made over HTTP by a test
 * client and from the embeds; the test waits on the element's exposed state (colorAt, status,
 * identity), on its canvas pixels, on DOM events and on the iframe's postMessages.
 */
import * as decoding from 'lib0/decoding'
import type { Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { Room } from '../../relay/room.ts'
import { readSession } from '../../shared/frames.ts'
import { colorToRgb } from '../../shared/palette.ts'
import { solve } from '../../shared/proof-of-work.ts'
import { MessageType, WS_PROTOCOL, WS_TOKEN_PROTOCOL_PREFIX } from '../../shared/protocol.ts'
import { newSession, placeHttp } from '../helpers/clients.ts'
import { type Board, createEmbedSite } from '../helpers/embed-site.ts'
import { startOnDemandSnapshotter } from '../helpers/on-demand-snapshotter.ts'
import { waitFor } from '../helpers/wait-for.ts'

const {
  site,
  setUp,
  tearDown,
  closePages,
  openHost,
  elementHtml,
  iframeHtml,
  colorAt,
  statusOf,
  embedFrame,
  canvasPixel,
  events,
  messages,
  consoleErrors,
} = createEmbedSite()
beforeAll(setUp)
afterAll(tearDown)
afterEach(closePages)

/** Waits until the element's board kept in IndexedDB (saved every 5 s while it changes) shows `color` at (x, y). */
const waitForKept = (page: Page, board: string, x: number, y: number, color: number) =>
  waitFor(
    () =>
      page.evaluate(
        ([k, tx, ty, c]) =>
          new Promise<boolean>((resolve) => {
            const open = indexedDB.open('tessera')
            open.onsuccess = () => {
              const get = open.result
                .transaction('boards')
                .objectStore('boards')
                .get(k as string)
              get.onsuccess = () => resolve(get.result?.bitmap?.[(ty as number) * get.result.width + (tx as number)] === c)
              get.onerror = () => resolve(false)
            }
            open.onerror = () => resolve(false)
          }),
        [`${site.relay.url}#${board}`, x, y, color] as const,
      ),
    { what: 'the board saved to IndexedDB', timeoutMs: 20_000, intervalMs: 200 },
  )

describe('the relay serves the embeds', () => {
  it('serves /embed.js with CORS, frames /embed as EMBED_PLACE_ORIGINS allow, and gives cookie-free identities only to them', async () => {
    const script = await fetch(`${site.relay.url}/embed.js`)
    expect(script.status).toBe(200)
    expect(script.headers.get('access-control-allow-origin')).toBe('*')
    expect(script.headers.get('content-type')).toMatch(/javascript/)
    expect(await script.text()).toContain('tessera-board')

    const readOnly = await fetch(`${site.relay.url}/embed?board=main&readonly=1`)
    expect(readOnly.headers.get('content-security-policy')).toMatch(/frame-ancestors \*/)
    expect(readOnly.headers.get('x-frame-options')).toBeNull()
    const interactive = await fetch(`${site.relay.url}/embed?board=main`)
    expect(interactive.headers.get('content-security-policy')).toContain(`frame-ancestors 'self' ${site.hostOrigin}`)
    expect(await interactive.text()).toContain('Tessera board')

    const policy = (await (await fetch(`${site.relay.url}/api/embed`)).json()) as { placeOrigins: string[] }
    expect(policy.placeOrigins).toEqual([site.hostOrigin])

    const foreign = await fetch(`${site.relay.url}/api/session`, { method: 'POST', headers: { origin: 'http://elsewhere.example' } })
    expect(foreign.status).toBe(403)
    expect(((await foreign.json()) as { error: string }).error).toBe('origin-not-allowed')

    // A cookie-free identity for an allowed host: in the body only, readable across origins.
    const { challenge, bits } = (await (await fetch(`${site.relay.url}/api/session/challenge`)).json()) as {
      challenge: string
      bits: number
    }
    const session = await fetch(`${site.relay.url}/api/session`, {
      method: 'POST',
      headers: { origin: site.hostOrigin, 'content-type': 'application/json' },
      body: JSON.stringify({ challenge, nonce: solve(challenge, bits), cookie: false }),
    })
    expect(session.status).toBe(200)
    expect(session.headers.get('set-cookie')).toBeNull()
    expect(session.headers.get('access-control-allow-origin')).toBe(site.hostOrigin)
    const { token, user } = (await session.json()) as { token: string; user: string }
    // Presented as a WebSocket subprotocol from the host's origin, it names the socket's user.
    const ws = new WebSocket(`${site.relay.wsBase}/main?tessera=1&live=tiles`, [WS_PROTOCOL, `${WS_TOKEN_PROTOCOL_PREFIX}${token}`], {
      origin: site.hostOrigin,
    })
    ws.binaryType = 'arraybuffer'
    const named = await new Promise<string>((resolve, reject) => {
      ws.on('message', (data: ArrayBuffer) => {
        const dec = decoding.createDecoder(new Uint8Array(data))
        if (decoding.readVarUint(dec) === MessageType.Session) resolve(readSession(dec).user)
      })
      ws.on('error', reject)
    })
    expect(ws.protocol).toBe(WS_PROTOCOL)
    expect(named).toBe(user)
    ws.close()
  })
})

describe('embedded on another site, third-party cookies blocked', () => {
  it('both forms show the live board and follow a placement made over HTTP; the events arrive', async () => {
    const page = await openHost('both', elementHtml('el', 'board="main" readonly') + iframeHtml('frame', 'board=main&readonly=1'))
    await waitFor(async () => (await statusOf(page, '#el')) === 'live', { what: 'the element live' })
    const frame = embedFrame(page)
    await waitFor(async () => (await statusOf(frame, 'tessera-board')) === 'live', { what: 'the iframe live' })
    // The frame is third-party and has no cookie access: whatever works here works without cookies.
    expect(await frame.evaluate(() => document.hasStorageAccess())).toBe(false)

    const { token, user } = await newSession(site.relay.url)
    const placed = await placeHttp(site.relay.url, token, { x: 5, y: 6, color: 3 })
    expect(placed.status).toBe(200)
    await waitFor(async () => (await colorAt(page, '#el', 5, 6)) === 3, { what: 'the element shows the placement' })
    await waitFor(async () => (await colorAt(frame, 'tessera-board', 5, 6)) === 3, { what: 'the iframe shows the placement' })
    const rgb = colorToRgb(site.relay.rooms.get('main')?.config().palette[3] as string)
    // The canvases are painted at the next animation frame.
    await waitFor(async () => JSON.stringify(await canvasPixel(page, '#el', 5, 6)) === JSON.stringify(rgb), { what: 'the element’s pixel' })
    await waitFor(async () => JSON.stringify(await canvasPixel(frame, 'tessera-board', 5, 6)) === JSON.stringify(rgb), {
      what: 'the iframe’s pixel',
    })

    const seen = await events(page)
    expect(seen.some((e) => e.type === 'tessera-ready' && e.target === 'el' && e.detail.board === 'main')).toBe(true)
    expect(seen.some((e) => e.type === 'tessera-status' && e.detail.status === 'live')).toBe(true)
    const posted = await messages(page)
    expect(posted.map((m) => m.type)).toContain('tessera-hello')
    expect(posted.some((m) => m.type === 'tessera-ready' && m.detail.width === 64)).toBe(true)
    expect(posted.some((m) => m.type === 'tessera-status' && m.detail.status === 'live')).toBe(true)

    // Read-only: place() refuses without asking the site.relay.
    const refused = await page.evaluate(() =>
      (document.getElementById('el') as unknown as Board).place({ x: 1, y: 1, color: 1 }).then(
        () => null,
        (e: Error & { code: string }) => e.code,
      ),
    )
    expect(refused).toBe('read-only')

    // Selecting a tile names who placed it.
    await page.evaluate(() => (document.getElementById('el') as unknown as Board).select(5, 6))
    const selected = await waitFor(async () => (await events(page)).find((e) => e.type === 'tessera-select'), { what: 'tessera-select' })
    expect(selected.detail).toMatchObject({ x: 5, y: 6, color: 3, placer: user })
    // Both forms under their CSPs (the host's: none; the /embed page's: the relay's), no error.
    expect(consoleErrors.get(page)).toEqual([])
    // EMBED_SCREENSHOT=/tmp/embed.png: pictures of the embeds, to look at.
    if (process.env.EMBED_SCREENSHOT) await page.screenshot({ path: process.env.EMBED_SCREENSHOT })
  })

  it('places anonymously from the element, the identity held in memory (no cookie), only inside its region', async () => {
    const page = await openHost('region', elementHtml('el', 'board="main" region="10,10,8,8"'))
    await waitFor(async () => (await page.evaluate(() => (document.getElementById('el') as unknown as Board).identity)) !== null, {
      what: 'an anonymous identity',
    })
    // Only the region is shown: an 8 x 8 board, nothing outside it. (The identity can come before
    // the board: the canvas is made once the board's info and snapshot are in.)
    const size = await waitFor(
      () =>
        page.evaluate(() => {
          const c = document.getElementById('el')?.shadowRoot?.querySelector('canvas.board') as HTMLCanvasElement | null
          return c ? [c.width, c.height] : null
        }),
      { what: 'the embed’s canvas' },
    )
    expect(size).toEqual([8, 8])
    expect(await colorAt(page, '#el', 9, 10)).toBeUndefined()

    const outside = await page.evaluate(() =>
      (document.getElementById('el') as unknown as Board).place({ x: 2, y: 2, color: 4 }).then(
        () => null,
        (e: Error & { code: string }) => e.code,
      ),
    )
    expect(outside).toBe('out-of-region')
    expect(site.relay.rooms.get('main')?.bitmap()[2 * 64 + 2]).not.toBe(4)

    const placed = (await page.evaluate(() =>
      (document.getElementById('el') as unknown as Board).place({ x: 12, y: 13, color: 5 }),
    )) as Record<string, number>
    expect(placed).toMatchObject({ x: 12, y: 13, color: 5 })
    expect(placed.placedAt).toBeGreaterThan(0)
    expect(site.relay.rooms.get('main')?.bitmap()[13 * 64 + 12]).toBe(5)
    const user = (await page.evaluate(() => (document.getElementById('el') as unknown as Board).identity))?.user
    const tile = (await (await fetch(`${site.relay.url}/api/boards/main/tiles/12/13`)).json()) as { user: string }
    expect(tile.user).toBe(user)

    const seen = await events(page)
    expect(seen.some((e) => e.type === 'tessera-placed' && e.detail.x === 12 && e.detail.nextPlaceAt !== undefined)).toBe(true)
    expect(seen.some((e) => e.type === 'tessera-rejected' && e.detail.code === 'out-of-region')).toBe(true)
    // No cookie was set for the relay: the identity lives in the element's memory only.
    expect(await page.context().cookies(site.relay.url)).toEqual([])

    // The same through the element's own palette, tile and Place button (inside its shadow root).
    await page.locator('#el .swatch').nth(6).click()
    const box = await page.locator('#el canvas.board').boundingBox()
    if (!box) throw new Error('no canvas box')
    // Region tile (4, 5) is board tile (14, 15).
    await page.mouse.click(box.x + (4.5 * box.width) / 8, box.y + (5.5 * box.height) / 8)
    await page.locator('#el button.place').click()
    await waitFor(() => site.relay.rooms.get('main')?.bitmap()[15 * 64 + 14] === 6, { what: 'the placement from the Place button' })
    // palette="hide": the board alone (placing goes through place()).
    expect(await page.locator('#el .embed-dock').isVisible()).toBe(true)
    await page.evaluate(() => document.getElementById('el')?.setAttribute('palette', 'hide'))
    await waitFor(async () => (await page.locator('#el .embed-dock').count()) === 1 && (await page.locator('#el .embed-dock').isHidden()), {
      what: 'the palette bar hidden',
    })
    if (process.env.EMBED_SCREENSHOT) await page.screenshot({ path: process.env.EMBED_SCREENSHOT.replace(/\.png$/, '-region.png') })
  })

  it('an embed on a site outside EMBED_PLACE_ORIGINS is read-only: its identity is refused and place() says why', async () => {
    const page = await openHost('not-allowed', elementHtml('el', 'board="main"'), site.otherOrigin)
    const refused = await waitFor(async () => (await events(page)).find((e) => e.type === 'tessera-rejected'), { what: 'the refusal' })
    expect(refused.detail.code).toBe('origin-not-allowed')
    const code = await page.evaluate(() =>
      (document.getElementById('el') as unknown as Board).place({ x: 1, y: 1, color: 1 }).then(
        () => null,
        (e: Error & { code: string }) => e.code,
      ),
    )
    expect(code).toBe('origin-not-allowed')
    // It still shows the live board.
    await waitFor(async () => (await statusOf(page, '#el')) === 'live', { what: 'the read-only element live' })
  })

  it('follows attribute changes: another board, another region', async () => {
    const page = await openHost('attributes', elementHtml('el', 'board="main" readonly'))
    await waitFor(async () => (await statusOf(page, '#el')) === 'live', { what: 'main live' })
    expect(await colorAt(page, '#el', 40, 40)).toBeDefined()
    await page.evaluate(() => document.getElementById('el')?.setAttribute('board', 'slow'))
    await waitFor(async () => (await events(page)).some((e) => e.type === 'tessera-ready' && e.detail.board === 'slow'), {
      what: 'the slow board ready',
    })
    await waitFor(async () => (await statusOf(page, '#el')) === 'live', { what: 'slow live' })
    // slow is 32 x 32: tile (40, 40) is no longer on the board shown.
    expect(await colorAt(page, '#el', 40, 40)).toBeUndefined()
    await page.evaluate(() => document.getElementById('el')?.setAttribute('region', '0,0,5,3'))
    await waitFor(
      async () =>
        (await page.evaluate(() => {
          const c = document.getElementById('el')?.shadowRoot?.querySelector('canvas.board') as HTMLCanvasElement | null
          return c ? `${c.width}x${c.height}` : null
        })) === '5x3',
      { what: 'the new region shown' },
    )
  })

  it('opens on x, y and zoom, and moves with the attributes and view()', async () => {
    const page = await openHost('view', elementHtml('el', 'board="main" readonly x="10" y="20" zoom="8"'))
    await waitFor(async () => (await statusOf(page, '#el')) === 'live', { what: 'live' })
    /** The tile under the element's centre and the CSS px per tile, from where the canvas is drawn. */
    const centre = () =>
      page.evaluate(() => {
        const el = document.getElementById('el') as HTMLElement
        const c = el.shadowRoot?.querySelector('canvas.board') as HTMLCanvasElement
        const box = el.getBoundingClientRect()
        const r = c.getBoundingClientRect()
        const perTile = r.width / c.width
        const stage = (el.shadowRoot?.querySelector('.stage') as HTMLElement | null)?.getBoundingClientRect() ?? box
        return {
          x: Math.floor((stage.left + stage.width / 2 - r.left) / perTile),
          y: Math.floor((stage.top + stage.height / 2 - r.top) / perTile),
          perTile: Math.round(perTile * 100) / 100,
        }
      })
    await waitFor(async () => (await centre()).perTile === 8, { what: 'the zoom attribute' })
    expect(await centre()).toEqual({ x: 10, y: 20, perTile: 8 })
    await page.evaluate(() =>
      (document.getElementById('el') as HTMLElement & { view: (v: object) => void }).view({ x: 30, y: 40, zoom: 4 }),
    )
    await waitFor(async () => (await centre()).perTile === 4, { what: 'view()' })
    expect(await centre()).toEqual({ x: 30, y: 40, perTile: 4 })
    await page.evaluate(() => document.getElementById('el')?.setAttribute('zoom', '16'))
    await waitFor(async () => (await centre()).perTile === 16, { what: 'the zoom attribute changed' })
    expect(await centre()).toMatchObject({ x: 30, y: 40 })
  })

  it('a return visit paints the board kept in IndexedDB at once, before any answer from the relay’s API', async () => {
    const page = await openHost('stored', elementHtml('el', 'board="main" readonly'))
    await waitFor(async () => (await statusOf(page, '#el')) === 'live', { what: 'live' })
    const { token } = await newSession(site.relay.url)
    expect((await placeHttp(site.relay.url, token, { x: 30, y: 31, color: 9 })).status).toBe(200)
    await waitFor(async () => (await colorAt(page, '#el', 30, 31)) === 9, { what: 'the placement shown' })
    await waitForKept(page, 'main', 30, 31, 9)
    // The relay's API unreachable from now on (the socket is not affected: it catches up).
    await page.route(`${site.relay.url}/api/**`, (route) => route.abort())
    await page.reload()
    const ready = await waitFor(async () => (await events(page)).find((e) => e.type === 'tessera-ready'), { what: 'ready' })
    expect(ready.detail.source).toBe('stored')
    expect(await colorAt(page, '#el', 30, 31)).toBe(9)
  })

  it('a return visit far behind paints its kept board, then starts again from the latest snapshot (as the app)', async () => {
    const page = await openHost('far-behind', elementHtml('el', 'board="main" readonly'))
    await waitFor(async () => (await statusOf(page, '#el')) === 'live', { what: 'live' })
    const { token } = await newSession(site.relay.url)
    expect((await placeHttp(site.relay.url, token, { x: 40, y: 41, color: 5 })).status).toBe(200)
    await waitForKept(page, 'main', 40, 41, 5)
    // The visitor leaves: a page left open would follow the placements below and keep them (every
    // 5 s while live), and then rightly catch up from its kept board instead.
    const hostUrl = page.url()
    await page.goto('about:blank')
    // Far enough behind that the snapshot (a 64x64 PNG of a few hundred bytes) costs fewer bytes
    // than the catch-up (4 bytes a write: client/sync/start-plan.ts), then a few placements after it.
    const room = site.relay.rooms.get('main') as Room
    const who = { user: 'far', ip: '127.0.0.1', isAdmin: false }
    for (let i = 0; i < 1500; i++) await room.place({ x: i % 64, y: Math.floor(i / 64) % 64, color: 1 + (i % 15) }, who)
    const snapshotter = await startOnDemandSnapshotter({ dataDir: site.relay.dataDir, wsBase: site.relay.wsBase })
    await waitFor(() => snapshotter.synced(), { what: 'the snapshotter synced' })
    const snapshot = (await snapshotter.snapshotNow()) ?? snapshotter.latest()
    await snapshotter.stop()
    const snapshotSeq = room.lastSeq()
    for (let i = 0; i < 5; i++) await room.place({ x: 50 + i, y: 60, color: 14 }, who)
    const requests: string[] = []
    const sockets: string[] = []
    page.on('request', (r) => requests.push(new URL(r.url()).pathname))
    page.on('websocket', (ws) => sockets.push(ws.url()))
    await page.goto(hostUrl)
    const ready = await waitFor(async () => (await events(page)).find((e) => e.type === 'tessera-ready'), { what: 'ready' })
    expect(ready.detail.source).toBe('stored')
    await waitFor(async () => (await statusOf(page, '#el')) === 'live', { what: 'live again' })
    expect(requests).toContain(`/snapshots/main/${snapshot?.version}.png`)
    expect(sockets[0]).toMatch(new RegExp(`[?&]since=${snapshotSeq}(&|$)`))
    // Exact: every tile as the relay has it.
    const expected = Array.from(room.bitmap())
    await waitFor(
      async () => {
        const shown = await page.evaluate(() => {
          const el = document.querySelector('#el') as unknown as { colorAt: (x: number, y: number) => number | undefined }
          return Array.from({ length: 64 * 64 }, (_, i) => el.colorAt(i % 64, Math.floor(i / 64)) ?? -1)
        })
        return shown.every((c, i) => c === expected[i])
      },
      { what: 'the exact board from the snapshot' },
    )
    expect(consoleErrors.get(page)).toEqual([])
  })

  it('the iframe takes commands by postMessage from the allowed parent and posts their outcome back', async () => {
    const page = await openHost('frame-region', iframeHtml('frame', 'board=main&region=20,20,4,4'))
    const frame = await waitFor(() => page.frames().find((f) => f.url().startsWith(`${site.relay.url}/embed`)), { what: 'the frame' })
    await waitFor(
      async () => (await frame.evaluate(() => (document.querySelector('tessera-board') as unknown as Board).identity)) !== null,
      {
        what: 'the frame’s identity',
      },
    )
    await waitFor(async () => (await statusOf(frame, 'tessera-board')) === 'live', { what: 'the frame live' })
    const post = (m: unknown) =>
      page.evaluate(([msg, to]) => (document.getElementById('frame') as HTMLIFrameElement).contentWindow?.postMessage(msg, to as string), [
        m,
        site.relay.url,
      ] as const)
    await post({ type: 'tessera-place', x: 21, y: 22, color: 7 })
    await waitFor(async () => (await messages(page)).some((m) => m.type === 'tessera-placed' && m.detail.x === 21), {
      what: 'tessera-placed posted',
    })
    expect(site.relay.rooms.get('main')?.bitmap()[22 * 64 + 21]).toBe(7)
    await post({ type: 'tessera-place', x: 1, y: 1, color: 7 })
    await waitFor(async () => (await messages(page)).some((m) => m.type === 'tessera-rejected' && m.detail.code === 'out-of-region'), {
      what: 'tessera-rejected posted',
    })
    await post({ type: 'tessera-select', x: 21, y: 22 })
    const selected = await waitFor(async () => (await messages(page)).find((m) => m.type === 'tessera-select'), {
      what: 'tessera-select posted',
    })
    expect(selected.detail).toMatchObject({ x: 21, y: 22, color: 7 })
    expect(selected.detail.placer).toEqual(expect.any(String))
  })
})
