/**
 * The browser client end to end: the real client built by vite, served by a real relay, driven
 * in real Chromium. Placements go through the page's UI (palette, tile, Place button) and over
 * HTTP from outside; the test waits on the relay's bitmap and on the page's canvas pixels.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { colorToRgb } from '../../shared/palette.ts'
import { buildClient, launchChromium, tileCenter } from '../helpers/browser.ts'
import { newSession, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

let relay: TestRelay
let browser: Browser
let outDir: { dir: string; remove: () => void }
const contexts: BrowserContext[] = []

beforeAll(async () => {
  outDir = makeTmpDir('tessera-client-')
  const [, started, launched] = await Promise.all([
    buildClient(outDir.dir),
    startTestRelay({
      // The main board keeps the relay's defaults (1000x1000, 16 colours) but no cooldown; "slow"
      // is small with a one-minute cooldown, to see the countdown and an honest rejection.
      boards: [{ id: 'main' }, { id: 'slow', width: 64, height: 64, cooldownMs: 60_000 }],
      env: { STATIC_DIR: outDir.dir, BOARD_COOLDOWN_MS: '0' },
    }),
    launchChromium(),
  ])
  relay = started
  browser = launched
})

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {})
  await browser?.close()
  await relay?.stop()
  outDir?.remove()
})

/** A fresh browser profile (its own cookie, so its own identity) with one page on a board. */
const openBoard = async (board: string, viewport = { width: 1280, height: 800 }, mobile = false): Promise<Page> => {
  const context = await browser.newContext({ viewport, deviceScaleFactor: mobile ? 3 : 1, isMobile: mobile, hasTouch: mobile })
  contexts.push(context)
  const page = await context.newPage()
  page.on('pageerror', (err) => {
    throw err
  })
  await page.goto(`${relay.url}/?board=${board}`)
  await page.waitForSelector('body[data-connection="live"]')
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
    // A tap selects a tile on a touch screen too.
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

  it('says so when the board does not exist', async () => {
    const context = await browser.newContext()
    contexts.push(context)
    const page = await context.newPage()
    await page.goto(`${relay.url}/?board=nope`)
    await page.waitForSelector('#fatal:not([hidden]) >> text=No board named')
  })
})
