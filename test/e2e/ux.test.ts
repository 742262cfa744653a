/**
 * What people expect from the page (issue 12), in real Chromium against a real relay: deep links
 * and the remembered view, zooming in before a tap selects.
 */
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminCall } from '../helpers/admin.ts'
import { tileCenter } from '../helpers/browser.ts'
import { type PageRig, startPageRig } from '../helpers/page-rig.ts'
import type { TestRelay } from '../helpers/start-relay.ts'

let rig: PageRig
let relay: TestRelay

const ADMIN = 'test-admin-token-0123456789'

beforeAll(async () => {
  rig = await startPageRig({
    name: 'ux',
    relay: {
      // "main" keeps the default 1000 x 1000 (under 1 CSS px per tile when fitted); "small" is
      // large enough to aim at when fitted; "people" is only for counting who is online.
      boards: [
        { id: 'main' },
        { id: 'small', width: 32, height: 32, cooldownMs: 0 },
        { id: 'people', width: 16, height: 16, cooldownMs: 0 },
        { id: 'cool', width: 16, height: 16, cooldownMs: 1500 },
        { id: 'tabs', width: 16, height: 16, cooldownMs: 600_000 },
      ],
      env: { BOARD_COOLDOWN_MS: '0', ADMIN_TOKEN: ADMIN },
    },
  })
  relay = rig.relay
})

afterAll(() => rig?.stop())

type View = { cx: number; cy: number; scale: number }
type Hook = { viewport: () => View; selection: () => { x: number; y: number } | null }

const viewOf = (page: Page): Promise<View> => page.evaluate(() => (window as unknown as { __tessera: Hook }).__tessera.viewport())
const selectionOf = (page: Page) => page.evaluate(() => (window as unknown as { __tessera: Hook }).__tessera.selection())

/** The tile drawn under the centre of the stage, read from where the canvas is drawn. */
const tileAtStageCentre = (page: Page) =>
  page.evaluate(() => {
    const canvas = document.querySelector('canvas.board') as HTMLCanvasElement
    const stage = (document.getElementById('stage') as HTMLElement).getBoundingClientRect()
    const r = canvas.getBoundingClientRect()
    const perTile = r.width / canvas.width
    return {
      x: Math.floor((stage.left + stage.width / 2 - r.left) / perTile),
      y: Math.floor((stage.top + stage.height / 2 - r.top) / perTile),
      perTile,
    }
  })

/** A fresh profile (its own localStorage) with one page at `path`, live. */
const open = async (path: string, context?: BrowserContext): Promise<Page> => {
  const ctx = context ?? (await rig.newContext())
  const page = await ctx.newPage()
  page.on('pageerror', (err) => {
    throw err
  })
  await page.goto(`${relay.url}${path}`)
  await page.waitForSelector('body[data-connection="live"]')
  return page
}

describe('what people expect from the page', () => {
  it('opens a deep link on its tile at its zoom, follows the view in the address, and remembers it', async () => {
    const page = await open('/?board=main#x=100&y=200&zoom=10')
    expect(await viewOf(page)).toEqual({ cx: 100.5, cy: 200.5, scale: 10 })
    expect(await tileAtStageCentre(page)).toEqual({ x: 100, y: 200, perTile: 10 })

    // Drag 300 CSS px left (30 tiles at 10 px per tile): the address follows, board id kept.
    const stage = await page.locator('#stage').boundingBox()
    if (!stage) throw new Error('no stage')
    const mid = { x: stage.x + stage.width / 2, y: stage.y + stage.height / 2 }
    await page.mouse.move(mid.x, mid.y)
    await page.mouse.down()
    await page.mouse.move(mid.x - 300, mid.y, { steps: 6 })
    await page.mouse.up()
    await page.waitForFunction(() => location.hash === '#x=130&y=200&zoom=10')
    expect(new URL(page.url()).searchParams.get('board')).toBe('main')

    // The address shared: another person opens the same place.
    const shared = await open(`/?board=main${new URL(page.url()).hash}`)
    expect(await tileAtStageCentre(shared)).toEqual({ x: 130, y: 200, perTile: 10 })

    // Without a hash, the same profile gets the view it left.
    const again = await open('/?board=main', page.context())
    expect(await tileAtStageCentre(again)).toEqual({ x: 130, y: 200, perTile: 10 })
    // Another board has its own (none yet: fitted).
    const small = await open('/?board=small', page.context())
    expect(await viewOf(small)).toMatchObject({ cx: 16, cy: 16 })

    // Editing the hash by hand moves the view.
    await again.evaluate(() => {
      location.hash = '#x=7&y=9&zoom=20'
    })
    await again.waitForFunction(() => {
      const v = (window as unknown as { __tessera: Hook }).__tessera.viewport()
      return v.cx === 7.5 && v.cy === 9.5 && v.scale === 20
    })
  })

  it('zooms in towards a tap on a board too small to aim at, and selects on the next tap', async () => {
    const page = await open('/?board=main')
    const fitted = await viewOf(page)
    expect(fitted.scale).toBeLessThan(4)
    const aim = await tileCenter(page, 300, 600)
    await page.mouse.click(aim.x, aim.y)
    await page.waitForFunction(() => (window as unknown as { __tessera: Hook }).__tessera.viewport().scale >= 4)
    expect(await selectionOf(page)).toBeNull()
    expect(await page.isHidden('#inspector')).toBe(true)
    const at = await tileCenter(page, 300, 600)
    await page.mouse.click(at.x, at.y)
    await expect.poll(() => selectionOf(page)).toEqual({ x: 300, y: 600 })

    // A keyboard selection on a fitted board zooms to it too.
    await page.keyboard.press('f')
    await page.keyboard.press('Escape')
    await page.waitForFunction(() => (window as unknown as { __tessera: Hook }).__tessera.viewport().scale < 4)
    await page.keyboard.press('ArrowRight')
    await page.waitForFunction(() => (window as unknown as { __tessera: Hook }).__tessera.viewport().scale >= 4)
    expect(await selectionOf(page)).not.toBeNull()

    // A board that fits at a usable zoom selects on the first click.
    const small = await open('/?board=small')
    expect((await viewOf(small)).scale).toBeGreaterThanOrEqual(4)
    const tile = await tileCenter(small, 5, 6)
    await small.mouse.click(tile.x, tile.y)
    await expect.poll(() => selectionOf(small)).toEqual({ x: 5, y: 6 })
  })
  it('shows the grid (button and G, remembered), the hovered tile, colour names and number keys, and describes the board', async () => {
    const page = await open('/?board=small')
    // Fitted, 32 tiles on an 800 px high stage are well above the grid's minimum zoom.
    expect((await viewOf(page)).scale).toBeGreaterThanOrEqual(8)
    expect(await page.getAttribute('#grid-toggle', 'aria-pressed')).toBe('false')
    expect(await page.isHidden('.grid')).toBe(true)
    await page.keyboard.press('g')
    await page.waitForSelector('.grid:not([hidden])')
    expect(await page.getAttribute('#grid-toggle', 'aria-pressed')).toBe('true')
    // The grid lies over the board canvas and is one tile per background cell.
    const [grid, canvas] = await Promise.all([page.locator('.grid').boundingBox(), page.locator('canvas.board').boundingBox()])
    expect(Math.abs((grid?.x ?? 0) - (canvas?.x ?? 1))).toBeLessThanOrEqual(1)
    expect(Math.abs((grid?.width ?? 0) - (canvas?.width ?? 1))).toBeLessThanOrEqual(1)
    // Remembered across a reload; the button turns it off.
    await page.reload()
    await page.waitForSelector('body[data-connection="live"]')
    await page.waitForSelector('.grid:not([hidden])')
    await page.click('#grid-toggle')
    await page.waitForSelector('.grid', { state: 'hidden' })
    expect(await page.getAttribute('#grid-toggle', 'aria-pressed')).toBe('false')

    // The tile under the pointer.
    const hover = await tileCenter(page, 5, 6)
    await page.mouse.move(hover.x, hover.y)
    await page.waitForSelector('#coords:not([hidden]) >> text="5, 6"')

    // Colours are named; number keys pick the first ten (1 is the first, 0 the tenth).
    expect(await page.getAttribute('#palette [data-color="5"]', 'aria-label')).toBe('red')
    expect(await page.getAttribute('#palette [data-color="0"]', 'aria-label')).toBe('white')
    await page.keyboard.press('6')
    await page.waitForSelector('#palette [data-color="5"][aria-checked="true"]')
    await page.keyboard.press('0')
    await page.waitForSelector('#palette [data-color="9"][aria-checked="true"]')

    // The canvas is named and described; the description follows the selection.
    expect(await page.getAttribute('canvas.board', 'aria-label')).toBe('Board small, 32 by 32 tiles')
    const describedBy = await page.getAttribute('canvas.board', 'aria-describedby')
    expect(describedBy).toBeTruthy()
    await page.mouse.click(hover.x, hover.y)
    await page.waitForSelector(`#${describedBy} >> text="Selected tile 5, 6: white"`)
    expect(await page.getAttribute('#inspector', 'aria-live')).toBe('polite')
  })
  it('counts people, not tabs, in "N online", and does not show the count while disconnected', async () => {
    const first = await open('/?board=people')
    await first.waitForSelector('#online:not(.stale) >> text="1 online"')
    // A second tab of the same profile (the same identity) is the same person.
    const secondTab = await open('/?board=people', first.context())
    await secondTab.waitForSelector('#online >> text="1 online"')
    const other = await open('/?board=people')
    for (const p of [first, secondTab, other]) await p.waitForSelector('#online >> text="2 online"')
    // Offline, the other page no longer shows a count as if it were current; the others see it leave.
    await other.context().setOffline(true)
    await other.waitForSelector('body[data-connection="offline"]')
    expect(await other.isHidden('#online')).toBe(true)
    await first.waitForSelector('#online >> text="1 online"')
    await other.context().setOffline(false)
    await other.waitForSelector('body[data-connection="live"]')
    await other.waitForSelector('#online:not(.stale) >> text="2 online"')
  })
  it("says on the Place button what the relay will answer: another tab's cooldown, a ban and its end", async () => {
    const first = await open('/?board=tabs')
    await first.waitForSelector('#place:not([data-state="identity"])')
    const second = await open('/?board=tabs', first.context())
    const select = async (page: Page, x: number, y: number) => {
      const at = await tileCenter(page, x, y)
      await page.mouse.click(at.x, at.y)
    }
    await select(second, 5, 5)
    await second.waitForSelector('#place[data-state="ready"]')
    // The first tab places: the second tab's button counts down at once, without a refusal.
    await select(first, 2, 2)
    await first.click('#place')
    await first.waitForSelector('#feedback[data-kind="placed"]')
    await second.waitForSelector('#place[data-state="cooldown"]')
    // An admin bans the identity: both tabs say so; the ban ends: back to the countdown.
    const tile = (await (await fetch(`${relay.url}/api/boards/tabs/tiles/2/2`)).json()) as { user: string }
    expect((await adminCall(relay.url, ADMIN, 'POST', '/bans', { user: tile.user, reason: 'test' })).status).toBe(200)
    for (const p of [first, second]) await p.waitForSelector('#place[data-state="banned"] >> text=Banned')
    expect(await second.getAttribute('#place', 'title')).toBe('Banned: test')
    expect((await adminCall(relay.url, ADMIN, 'DELETE', `/bans/user/${tile.user}`)).status).toBe(200)
    await second.waitForSelector('#place[data-state="cooldown"]')
  })
  it('alerts when the cooldown ends, once the person turned the alert on (notification and tone)', async () => {
    const context = await rig.newContext()
    // Records notifications and tones instead of showing and playing them; permission granted
    // when asked (the prompt itself is the browser's).
    await context.addInitScript(() => {
      const w = window as unknown as { __alerts: string[]; Notification: unknown; AudioContext: unknown }
      w.__alerts = []
      let permission = 'default'
      w.Notification = class {
        static get permission() {
          return permission
        }
        static requestPermission() {
          w.__alerts.push('asked')
          permission = 'granted'
          return Promise.resolve(permission)
        }
        constructor(title: string) {
          w.__alerts.push(`notification: ${title}`)
        }
      }
      const Real = w.AudioContext as typeof AudioContext
      w.AudioContext = class extends Real {
        override createOscillator() {
          const osc = super.createOscillator()
          const start = osc.start.bind(osc)
          osc.start = (when?: number) => {
            w.__alerts.push('tone')
            start(when)
          }
          return osc
        }
      }
    })
    const page = await open('/?board=cool', context)
    const alerts = () => page.evaluate(() => (window as unknown as { __alerts: string[] }).__alerts)
    expect(await page.getAttribute('#alert-toggle', 'aria-pressed')).toBe('false')
    // Nothing is asked before the click.
    expect(await alerts()).toEqual([])
    await page.click('#alert-toggle')
    expect(await page.getAttribute('#alert-toggle', 'aria-pressed')).toBe('true')
    expect(await alerts()).toEqual(['asked'])
    const at = await tileCenter(page, 3, 3)
    await page.mouse.click(at.x, at.y)
    await page.click('#place')
    // Placed (the cooldown state itself lasts only 1.5 s: a wait for it could start after it ended).
    await page.waitForSelector('#feedback[data-kind="placed"]')
    // The board's cooldown is 1.5 s: the alert comes when it ends, and the button is ready again.
    await page.waitForFunction(() => (window as unknown as { __alerts: string[] }).__alerts.length >= 3)
    expect(await alerts()).toEqual(['asked', 'tone', 'notification: You can place again'])
    await page.waitForSelector('#place[data-state="ready"]')
  })
  it('shows a minimap when zoomed in, with the view outlined; a click on it moves the view there', async () => {
    const page = await open('/?board=main')
    // Fitted: the whole board is in view, no minimap.
    expect(await page.isHidden('#minimap')).toBe(true)
    await page.evaluate(() => {
      location.hash = '#x=800&y=800&zoom=10'
    })
    await page.waitForSelector('#minimap:not([hidden])')
    const box = await page.locator('#minimap canvas').boundingBox()
    if (!box) throw new Error('no minimap')
    // The outline sits where the view is: around 80% of the way across and down.
    const outline = await page.locator('#minimap .minimap-view').boundingBox()
    if (!outline) throw new Error('no outline')
    expect((outline.x + outline.width / 2 - box.x) / box.width).toBeCloseTo(0.8, 1)
    expect((outline.y + outline.height / 2 - box.y) / box.height).toBeCloseTo(0.8, 1)
    // A click a quarter of the way across and down centres the view there, at the same zoom.
    await page.mouse.click(box.x + box.width / 4, box.y + box.height / 4)
    await page.waitForFunction(() => {
      const v = (window as unknown as { __tessera: Hook }).__tessera.viewport()
      return Math.abs(v.cx - 250) < 8 && Math.abs(v.cy - 250) < 8 && v.scale === 10
    })
    // The click selected nothing on the board beneath.
    expect(await selectionOf(page)).toBeNull()
    await page.keyboard.press('g')
    await page.waitForSelector('.grid:not([hidden])')
    await page.screenshot({ path: '/tmp/tessera-ux-minimap.png' })
  })
})
