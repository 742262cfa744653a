/**
 * The browser client end to end: the real client built by vite, served by a real relay, driven
 * in real Chromium. Placements go through the page's UI (palette, tile, Place button) and over
 * HTTP from outside; the test waits on the relay's bitmap and on the page's canvas pixels, and
 * reads the frames the page's socket received (live=tiles: Tiles and Config frames after one
 * sync answer).
 */
import * as decoding from 'lib0/decoding'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readConfig, readSession, readTiles } from '../../shared/frames.ts'
import { colorToRgb } from '../../shared/palette.ts'
import { MessageType, SessionLimits } from '../../shared/protocol.ts'
import { encodeTileValue } from '../../shared/tile-codec.ts'
import { adminCall } from '../helpers/admin.ts'
import { isMissingSnapshotReport, tileCenter } from '../helpers/browser.ts'
import { newSession, placeHttp } from '../helpers/clients.ts'
import { type PageRig, startPageRig } from '../helpers/page-rig.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

let rig: PageRig
let relay: TestRelay
const ADMIN = 'test-admin-token-0123456789'

beforeAll(async () => {
  rig = await startPageRig({
    name: 'client',
    relay: {
      // The main board keeps the relay's defaults (1000x1000, 16 colours) but no cooldown; "slow"
      // is small with a one-minute cooldown, to see the countdown and an honest rejection; "live"
      // is small and changed by the admin under an open page.
      boards: [
        { id: 'main' },
        { id: 'slow', width: 64, height: 64, cooldownMs: 60_000 },
        { id: 'live', width: 32, height: 32, cooldownMs: 0 },
      ],
      env: { BOARD_COOLDOWN_MS: '0', ADMIN_TOKEN: ADMIN },
    },
  })
  relay = rig.relay
})

afterAll(() => rig?.stop())

/** A WebSocket a page opened, with every binary frame it received, in order. */
type Socket = { url: string; received: Uint8Array[] }
const socketsOf = new Map<Page, Socket[]>()

/** A fresh browser profile (its own cookie, so its own identity) with one page on a board. */
const openBoard = async (board: string, viewport = { width: 1280, height: 800 }, mobile = false): Promise<Page> => {
  const context = await rig.newContext({ viewport, deviceScaleFactor: mobile ? 3 : 1, isMobile: mobile, hasTouch: mobile })
  const page = await context.newPage()
  page.on('pageerror', (err) => {
    throw err
  })
  const sockets: Socket[] = []
  socketsOf.set(page, sockets)
  page.on('websocket', (ws) => {
    const socket: Socket = { url: ws.url(), received: [] }
    sockets.push(socket)
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string') socket.received.push(new Uint8Array(payload))
    })
  })
  await page.goto(`${relay.url}/?board=${board}`)
  await page.waitForSelector('body[data-connection="live"]')
  // A first visit's identity is made once the board is live (its proof of work waits for that).
  await page.waitForSelector('#place:not([data-state="identity"])')
  return page
}

/** RGB of one tile as drawn on the page's board canvas. */
const canvasRgb = (page: Page, x: number, y: number): Promise<number[]> =>
  page.evaluate(
    ([px, py]) => {
      const canvas = document.querySelector<HTMLCanvasElement>('canvas.board')
      const data = canvas?.getContext('2d')?.getImageData(px as number, py as number, 1, 1).data
      return data ? [data[0] as number, data[1] as number, data[2] as number] : []
    },
    [x, y],
  )

/** Waits until the canvas shows tile (x, y) in `hex`. */
const waitForCanvasColor = (page: Page, x: number, y: number, hex: string) =>
  page.waitForFunction(
    ([px, py, rgb]) => {
      const canvas = document.querySelector<HTMLCanvasElement>('canvas.board')
      const d = canvas?.getContext('2d')?.getImageData(px as number, py as number, 1, 1).data
      const [r, g, b] = rgb as number[]
      return !!d && d[0] === r && d[1] === g && d[2] === b
    },
    [x, y, colorToRgb(hex)] as const,
  )

/** A received frame, decoded as far as the test needs. */
type Frame =
  | { type: typeof MessageType.Sync; sync: number }
  | { type: typeof MessageType.Tiles; firstSeq: number; values: number[] }
  | { type: typeof MessageType.Config; config: Record<string, unknown> }
  | { type: number }

const decodeFrame = (bytes: Uint8Array): Frame => {
  const dec = decoding.createDecoder(bytes)
  const type = decoding.readVarUint(dec)
  if (type === MessageType.Sync) return { type, sync: decoding.readVarUint(dec) }
  if (type === MessageType.Tiles) {
    const { firstSeq, values } = readTiles(dec)
    return { type, firstSeq, values: [...values] }
  }
  if (type === MessageType.Config) return { type, config: readConfig(dec) as Record<string, unknown> }
  return { type }
}

/** The frames of one type a socket received, decoded. */
const framesOf = <T extends number>(socket: Socket, type: T): Extract<Frame, { type: T }>[] =>
  socket.received.map(decodeFrame).filter((f): f is Extract<Frame, { type: T }> => f.type === type)

/** What window.__tessera tells about the board and the live stream. */
const pageState = (page: Page) =>
  page.evaluate(() => {
    const t = (
      window as unknown as {
        __tessera: {
          config: () => { width: number; height: number; palette: string[]; cooldownMs: number; locked: boolean }
          cursor: () => number | null
        }
      }
    ).__tessera
    return { ...t.config(), cursor: t.cursor() }
  })

/** CSS px per tile as drawn now. */
const drawnScale = (page: Page) =>
  page.evaluate(() => {
    const canvas = document.querySelector('canvas.board') as HTMLCanvasElement
    return canvas.getBoundingClientRect().width / canvas.width
  })

describe('browser client', () => {
  it('places a tile through the UI and shows placements made elsewhere', async () => {
    const room = relay.rooms.get('main')
    if (!room) throw new Error('no main room')
    const { width, palette } = room.config()

    // Some art to look at first, placed through the room like any identity's placements.
    const art: Promise<unknown>[] = []
    for (let y = 0; y < 40; y++) {
      for (let x = 0; x < 40; x++) {
        const ring = Math.floor(Math.hypot(x - 19.5, y - 19.5) / 4)
        if (ring < 5)
          art.push(
            room.place(
              { x: 480 + x, y: 480 + y, color: [5, 6, 8, 10, 12][ring] },
              { user: 'AAAAAAAAAAAAAAAA', ip: '127.0.0.1', isAdmin: true },
            ),
          )
      }
    }
    await Promise.all(art)

    const page = await openBoard('main')
    await waitForCanvasColor(page, 500, 500, palette[5] as string)

    // Zoom in with the wheel over the middle of the stage until tiles are large enough to aim at.
    const stage = await page.locator('#stage').boundingBox()
    if (!stage) throw new Error('no stage')
    await page.mouse.move(stage.x + stage.width / 2, stage.y + stage.height / 2)
    await page.mouse.wheel(0, -1800)
    await page.waitForFunction(() => {
      const canvas = document.querySelector('canvas.board') as HTMLCanvasElement
      return canvas.getBoundingClientRect().width / canvas.width >= 8
    })
    expect(await drawnScale(page)).toBeGreaterThanOrEqual(8)

    // Drag to pan: the board follows the pointer, and a drag selects nothing.
    const before = await tileCenter(page, 0, 0)
    await page.mouse.down()
    await page.mouse.move(stage.x + stage.width / 2 + 100, stage.y + stage.height / 2 + 50, { steps: 5 })
    await page.mouse.up()
    const after = await tileCenter(page, 0, 0)
    // Within a pixel: the canvas translation is rounded to device pixels.
    expect(Math.abs(after.x - before.x - 100)).toBeLessThanOrEqual(1)
    expect(Math.abs(after.y - before.y - 50)).toBeLessThanOrEqual(1)
    expect(await page.isHidden('#inspector')).toBe(true)

    // Select a colour, click a tile, press Place.
    const target = { x: 470, y: 475 }
    await page.click('#palette [data-color="13"]')
    const at = await tileCenter(page, target.x, target.y)
    await page.mouse.click(at.x, at.y)
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { __tessera: { selection: () => unknown } }).__tessera.selection()))
      .toEqual(target)
    await page.waitForSelector('#inspector:not([hidden]) >> text=(470, 475)')
    await page.waitForSelector('#inspector >> text=never placed')
    await page.click('#place')

    await waitFor(() => room.bitmap()[target.y * width + target.x] === 13, { what: 'the placement on the relay' })
    await waitForCanvasColor(page, target.x, target.y, palette[13] as string)
    await page.waitForSelector('#feedback[data-kind="placed"]')
    // The inspector refreshes: the tile is now ours.
    await page.waitForSelector('#inspector >> text=placed by you')

    // A second browser (another identity) sees the first one's tile, the art, and a placement
    // made over HTTP while it watches.
    const other = await openBoard('main')
    expect(await canvasRgb(other, target.x, target.y)).toEqual(colorToRgb(palette[13] as string))
    await other.waitForSelector('#online >> text=2 online')
    const { token } = await newSession(relay.url)
    const placed = await placeHttp(relay.url, token, { x: 3, y: 4, color: 7 })
    expect(placed.status).toBe(200)
    await waitForCanvasColor(other, 3, 4, palette[7] as string)
    await waitForCanvasColor(page, 3, 4, palette[7] as string)
    expect(
      await other.evaluate(() => (window as unknown as { __tessera: { bitmap: () => Uint8Array } }).__tessera.bitmap()[4 * 1000 + 3]),
    ).toBe(7)

    await page.screenshot({ path: '/tmp/tessera-client.png' })
    const phone = await openBoard('main', { width: 390, height: 844 }, true)
    await waitForCanvasColor(phone, 500, 500, palette[5] as string)
    // A tap selects a tile on a touch screen too; on the fitted board (under a CSS px per tile)
    // the first tap zooms in towards the tile, and the next one selects it.
    const aim = await tileCenter(phone, 500, 500)
    await phone.touchscreen.tap(aim.x, aim.y)
    await phone.waitForFunction(() => {
      const canvas = document.querySelector('canvas.board') as HTMLCanvasElement
      return canvas.getBoundingClientRect().width / canvas.width >= 4
    })
    expect(await phone.isHidden('#inspector')).toBe(true)
    const tap = await tileCenter(phone, 500, 500)
    await phone.touchscreen.tap(tap.x, tap.y)
    await phone.waitForSelector('#inspector:not([hidden]) >> text=(500, 500)')
    await phone.screenshot({ path: '/tmp/tessera-client-phone.png' })
  })

  it('counts the cooldown down and refuses, before sending, a placement that would meet it', async () => {
    const page = await openBoard('slow')
    await page.click('#palette [data-color="3"]')
    const first = await tileCenter(page, 10, 10)
    await page.mouse.click(first.x, first.y)
    await page.click('#place')
    await page.waitForSelector('#feedback[data-kind="placed"]')
    await page.waitForSelector('#place[data-state="cooldown"] >> text=/Ready in [01]:[0-9]{2}/')
    expect(await page.isDisabled('#place')).toBe(true)

    // Enter places from the keyboard; the shared rules refuse it locally with the typed error.
    const second = await tileCenter(page, 20, 20)
    await page.mouse.click(second.x, second.y)
    // Arrow keys move the selection one tile.
    await page.keyboard.press('ArrowRight')
    await page.waitForSelector('#inspector >> text=(21, 20)')
    await page.keyboard.press('ArrowLeft')
    await page.waitForSelector('#inspector >> text=(20, 20)')
    await page.keyboard.press('Enter')
    await page.waitForSelector('#feedback[data-kind="rejected"][data-error="cooldown"]')
    await page.screenshot({ path: '/tmp/tessera-client-cooldown.png' })
    const slow = relay.rooms.get('slow')
    expect(slow?.bitmap()[10 * 64 + 10]).toBe(3)
    expect(slow?.bitmap()[20 * 64 + 20]).toBe(0)

    // After a reload, the relay's Session frame restores the countdown.
    await page.reload()
    await page.waitForSelector('body[data-connection="live"]')
    await page.waitForSelector('#place[data-state="cooldown"]')
  })

  it('follows the board through Tiles and Config frames on a live=tiles socket, without a reload', async () => {
    const room = relay.rooms.get('live')
    if (!room) throw new Error('no live room')
    const { palette } = room.config()
    const page = await openBoard('live')
    await page.evaluate(() => {
      ;(window as unknown as { __marker: string }).__marker = 'first load'
    })
    // A first visit: an anonymous socket brings the board up to date at once; once the page has
    // its identity (after a proof of work), a second socket presenting it resumes from the cursor.
    await waitFor(() => (socketsOf.get(page)?.length ?? 0) >= 2, { what: 'the identified socket' })
    const [anonymous, socket, ...more] = socketsOf.get(page) ?? []
    expect(more).toEqual([])
    if (!anonymous || !socket) throw new Error('no socket')
    // The page asks for Tiles frames (live=tiles implies tessera=1; both are in the URL).
    const wsUrl = `${relay.url.replace(/^http/, 'ws')}/ws/live?tessera=1&live=tiles`
    expect(anonymous.url).toBe(wsUrl)
    // On connect: the board's config, then the sync answer and its cursor (a Tiles frame with
    // no values), and the page holds what that cursor says.
    expect(framesOf(anonymous, MessageType.Config)[0]?.config).toMatchObject({ id: 'live', width: 32, cooldownMs: 0 })
    expect(framesOf(anonymous, MessageType.Sync).map((f) => f.sync)).toEqual([1])
    const cursorFrame = framesOf(anonymous, MessageType.Tiles)[0]
    expect(cursorFrame?.values).toEqual([])
    const start = (cursorFrame?.firstSeq as number) - 1
    // The second socket resumes from there: a Tiles catch-up (empty: a cursor frame), no sync.
    expect(socket.url).toBe(`${wsUrl}&since=${start}`)
    await waitFor(() => framesOf(socket, MessageType.Tiles).length > 0, { what: 'the catch-up' })
    expect(framesOf(socket, MessageType.Tiles)[0]).toMatchObject({ firstSeq: start + 1, values: [] })
    expect((await pageState(page)).cursor).toBe(start)

    // Select a tile, so that the Place button shows what the board's settings allow.
    const at = await tileCenter(page, 5, 5)
    await page.mouse.click(at.x, at.y)
    await page.waitForSelector('#place[data-state="ready"]')

    // Another identity's placements arrive as Tiles frames (4 bytes each), never as Yjs updates.
    const { token } = await newSession(relay.url)
    const placed = [
      { x: 1, y: 1, color: 3 },
      { x: 2, y: 1, color: 4 },
      { x: 3, y: 1, color: 5 },
    ]
    for (const p of placed) expect((await placeHttp(relay.url, token, p, 'live')).status).toBe(200)
    for (const p of placed) await waitForCanvasColor(page, p.x, p.y, palette[p.color] as string)
    const values = framesOf(socket, MessageType.Tiles).flatMap((f) => f.values)
    expect(values).toEqual(placed.map((p) => encodeTileValue(p.x, p.y, p.color)))
    expect((await pageState(page)).cursor).toBe(start + placed.length)
    // No sync answer on this socket: the doc never hears of these placements.
    expect(framesOf(socket, MessageType.Sync)).toEqual([])

    // The admin locks the board: the open page's Place button says so at once.
    expect((await adminCall(relay.url, ADMIN, 'PATCH', '/boards/live', { locked: true })).status).toBe(200)
    await page.waitForSelector('#place[data-state="locked"]')
    // Unlocks it, with a one-minute cooldown, a colour appended and the board grown.
    const grown = await adminCall(relay.url, ADMIN, 'PATCH', '/boards/live', {
      locked: false,
      cooldownMs: 60_000,
      width: 40,
      height: 36,
      palette: [...palette, '#123456'],
    })
    expect(grown.status).toBe(200)
    await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>('canvas.board')?.width === 40)
    expect(await pageState(page)).toMatchObject({ width: 40, height: 36, cooldownMs: 60_000, locked: false })
    expect((await pageState(page)).palette).toHaveLength(palette.length + 1)
    await page.waitForSelector(`#palette [data-color="${palette.length}"]`)
    const configs = framesOf(socket, MessageType.Config).map((f) => f.config)
    expect(configs.at(-1)).toMatchObject({ width: 40, height: 36, cooldownMs: 60_000, locked: false })
    expect(configs.at(-1)?.version).toBe((configs[0]?.version as number) + 2)
    // The grown board kept every tile (the bitmap is the truth: the doc has none of them).
    for (const p of placed) expect(await canvasRgb(page, p.x, p.y)).toEqual(colorToRgb(palette[p.color] as string))

    // The new colour can be placed from the page, and the new cooldown follows.
    await page.click(`#palette [data-color="${palette.length}"]`)
    await page.waitForSelector('#place[data-state="ready"]')
    await page.click('#place')
    await page.waitForSelector('#feedback[data-kind="placed"]')
    await waitForCanvasColor(page, 5, 5, '#123456')
    expect(room.bitmap()[5 * 40 + 5]).toBe(palette.length)
    await page.waitForSelector('#place[data-state="cooldown"] >> text=/Ready in 0:[0-5][0-9]|Ready in 1:00/')
    // A placement in the grown area by someone else.
    const other = await newSession(relay.url)
    expect((await placeHttp(relay.url, other.token, { x: 39, y: 35, color: palette.length }, 'live')).status).toBe(200)
    await waitForCanvasColor(page, 39, 35, '#123456')
    expect((await pageState(page)).cursor).toBe(start + placed.length + 2)
    expect(
      await page.evaluate(() => Array.from((window as unknown as { __tessera: { bitmap: () => Uint8Array } }).__tessera.bitmap())),
    ).toEqual(Array.from(room.bitmap()))

    // All on the identified socket and the first load.
    expect(socketsOf.get(page)).toHaveLength(2)
    expect(framesOf(socket, MessageType.Sync)).toEqual([])
    expect(await page.evaluate(() => (window as unknown as { __marker?: string }).__marker)).toBe('first load')
  })

  it('earns an identity with a proof of work at the default difficulty, and keeps it across a reload without another', async () => {
    const powRelay = await startTestRelay({
      boards: [{ id: 'main', width: 32, height: 32, cooldownMs: 0 }],
      env: { STATIC_DIR: rig.staticDir, SESSION_POW_BITS: String(SessionLimits.powBits) },
    })
    try {
      const context = await rig.newContext()
      const page = await context.newPage()
      const errors: string[] = []
      page.on('console', (m) => {
        if (m.type() === 'error' && !isMissingSnapshotReport(m.text(), m.location().url)) errors.push(m.text())
      })
      page.on('pageerror', (err) => errors.push(err.message))
      const challenges: number[] = []
      const solutions: number[] = []
      page.on('requestfinished', (req) => {
        if (req.url().endsWith('/api/session/challenge')) challenges.push(Date.now())
        else if (req.url().endsWith('/api/session') && req.postData()) solutions.push(Date.now())
      })
      const users: string[] = []
      page.on('websocket', (ws) =>
        ws.on('framereceived', ({ payload }) => {
          if (typeof payload === 'string') return
          const dec = decoding.createDecoder(new Uint8Array(payload))
          if (decoding.readVarUint(dec) === MessageType.Session) users.push(readSession(dec).user)
        }),
      )
      await page.goto(`${powRelay.url}/?board=main`)
      await page.waitForSelector('body[data-connection="live"]')
      // The first socket is anonymous; the one after the proof of work presents the identity.
      await waitFor(() => users.length > 0, { what: 'a Session frame' })
      expect(users[0]).toBe('')
      const first = await waitFor(() => users[1], { what: 'a Session frame with the identity', timeoutMs: 60_000 })
      expect(first).toMatch(/^[A-Za-z0-9_-]{16}$/)
      expect(challenges).toHaveLength(1)
      expect(solutions).toHaveLength(1)
      // For the record (not asserted): the page's time from challenge to solution.
      console.log(`proof of work in Chromium at ${SessionLimits.powBits} bits: ${(solutions[0] as number) - (challenges[0] as number)} ms`)

      await page.reload()
      await page.waitForSelector('body[data-connection="live"]')
      expect(await waitFor(() => users[2], { what: 'a Session frame after the reload' })).toBe(first)
      expect(challenges).toHaveLength(1)
      expect(solutions).toHaveLength(1)
      expect(errors).toEqual([])
    } finally {
      await powRelay.stop()
    }
  })

  it('says so when the board does not exist', async () => {
    const context = await rig.newContext()
    const page = await context.newPage()
    await page.goto(`${relay.url}/?board=nope`)
    await page.waitForSelector('#fatal:not([hidden]) >> text=No board named')
    // Only the message: no palette, Place button, tools or connection status for a board that is not there.
    for (const part of ['footer.dock', '#grid-toggle', '#alert-toggle', '#connection']) expect(await page.isHidden(part)).toBe(true)
  })
})
