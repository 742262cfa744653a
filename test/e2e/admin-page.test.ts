/**
 * The moderation page (/admin, issue 13) in real Chromium against a real relay: log in with the
 * admin token; protect a rectangle dragged on the board, after which a placement inside it is
 * refused; roll back one user's placements in a time range with a preview first, and see the
 * board return; undo it; every action appears in the page's audit log and in the API's.
 * Screenshots go to test/e2e/artifacts (not committed).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminCall } from '../helpers/admin.ts'
import { tileCenter } from '../helpers/browser.ts'
import { newSession, placeHttp } from '../helpers/clients.ts'
import { type PageRig, startPageRig } from '../helpers/page-rig.ts'
import type { TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'test-admin-token-page-0123456789'
const ARTIFACTS = join(import.meta.dirname, 'artifacts')
let rig: PageRig
let relay: TestRelay
let page: Page
const errors: string[] = []

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  rig = await startPageRig({
    name: 'admin-page',
    relay: {
      boards: [
        { id: 'main', width: 32, height: 32, cooldownMs: 0 },
        { id: 'other', width: 16, height: 16, cooldownMs: 0 },
      ],
      // The app may be framed by this origin; the moderation page never is.
      env: { ADMIN_TOKEN: ADMIN, EMBED_ORIGINS: 'https://host.example' },
    },
  })
  relay = rig.relay
  const context = await rig.newContext()
  page = await context.newPage()
  page.on('pageerror', (err) => errors.push(String(err)))
})

afterAll(() => rig?.stop())

const bitmapAt = (x: number, y: number, board = 'main') => {
  const room = relay.rooms.get(board)
  return room?.bitmap()[y * room.config().width + x]
}
const auditActions = async () =>
  ((await adminCall(relay.url, ADMIN, 'GET', '/audit')).body.entries as { action: string }[]).map((e) => e.action)
/** The colour the page's own board canvas shows at a tile (#rrggbb), read from its pixels. */
const pageColorAt = (x: number, y: number) =>
  page.evaluate(
    ([tx, ty]) => {
      const canvas = document.querySelector('canvas.board') as HTMLCanvasElement
      const [r, g, b] = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(tx as number, ty as number, 1, 1).data
      return `#${[r, g, b].map((v) => (v as number).toString(16).padStart(2, '0')).join('')}`
    },
    [x, y],
  )
/** The colour the area overlay draws at a tile's centre (#rrggbb), or null where it draws nothing. */
const overlayColorAt = async (x: number, y: number) => {
  const at = await tileCenter(page, x, y)
  return page.evaluate(
    ([px, py]) => {
      const canvas = document.querySelector('canvas.area-overlay') as HTMLCanvasElement
      const r = canvas.getBoundingClientRect()
      const k = canvas.width / r.width
      const [red, g, b, a] = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(
        Math.floor(((px as number) - r.left) * k),
        Math.floor(((py as number) - r.top) * k),
        1,
        1,
      ).data
      return a === 0 ? null : `#${[red, g, b].map((v) => (v as number).toString(16).padStart(2, '0')).join('')}`
    },
    [at.x, at.y],
  )
}
const palette = () => relay.rooms.get('main')?.config().palette as string[]
/** A time as the page's datetime-local input takes it, in the browser's own time zone. */
const localInput = (ms: number) =>
  page.evaluate((t) => {
    const d = new Date(t)
    const p = (n: number) => String(n).padStart(2, '0')
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
  }, ms)
/** Waits (on the clock, not a fixed sleep) until the next whole second begins; returns it in ms. */
const nextSecond = async () => {
  const target = Math.floor(Date.now() / 1000) * 1000 + 1000
  await waitFor(() => Date.now() >= target, { what: 'the next second' })
  return target
}

describe('the moderation page', () => {
  it('is served at /admin with the security headers, never framable', async () => {
    const res = await fetch(`${relay.url}/admin`)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('Tessera moderation')
    const csp = res.headers.get('content-security-policy') as string
    expect(csp).toContain("frame-ancestors 'self'")
    expect(csp).not.toContain('host.example')
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    // The app itself keeps the configured embedding origin.
    expect((await fetch(`${relay.url}/`)).headers.get('content-security-policy')).toContain('https://host.example')
  })

  it('refuses a wrong token with a sentence, logs in with the right one and keeps it for the tab', async () => {
    await page.goto(`${relay.url}/admin`)
    await page.getByLabel('Admin token').fill('not-the-token')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForSelector('#message[data-kind="error"]')
    expect(await page.textContent('#message')).toContain('not the admin token')
    expect(await page.evaluate(() => sessionStorage.getItem('tessera.admin-token'))).toBeNull()

    await page.getByLabel('Admin token').fill(ADMIN)
    await page.getByLabel('Your name').fill('mod-ann')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForSelector('body[data-state="ready"][data-connection="live"]')
    expect(await page.evaluate(() => sessionStorage.getItem('tessera.admin-token'))).toBe(ADMIN)
    // A reload stays logged in (same tab).
    await page.reload()
    await page.waitForSelector('body[data-state="ready"][data-connection="live"]')
    expect(await page.inputValue('#board-select')).toBe('main')
  })

  it('protects a rectangle dragged on the board; a placement inside it is then refused', async () => {
    await page.getByRole('button', { name: 'Select area' }).click()
    const a = await tileCenter(page, 2, 3)
    const b = await tileCenter(page, 5, 6)
    await page.mouse.move(a.x, a.y)
    await page.mouse.down()
    await page.mouse.move(b.x, b.y, { steps: 5 })
    await page.mouse.up()
    expect([
      await page.inputValue('#area-x'),
      await page.inputValue('#area-y'),
      await page.inputValue('#area-w'),
      await page.inputValue('#area-h'),
    ]).toEqual(['2', '3', '4', '4'])
    await page.getByRole('button', { name: 'Protect' }).click()
    await page.waitForSelector('#protections li[data-protection]')
    expect(await page.textContent('#message')).toContain('Protected 4×4 at 2,3')

    const player = await newSession(relay.url)
    const inside = await placeHttp(relay.url, player.token, { x: 3, y: 4, color: 2 })
    expect(inside.status).toBe(403)
    expect(inside.body.error).toBe('protected')
    const outside = await placeHttp(relay.url, player.token, { x: 8, y: 4, color: 2 })
    expect(outside.status).toBe(200)

    await page.waitForSelector('#audit li[data-action="protect"]')
    expect(await auditActions()).toContain('protect')
    await page.screenshot({ path: join(ARTIFACTS, 'admin-protect.png') })

    // Fill the same area with a palette colour, then blank it (admins write through protections).
    expect(await page.inputValue('#fill-color')).toBe('0')
    await page.getByLabel('Colour').selectOption('4')
    await page.getByRole('button', { name: 'Fill' }).click()
    await waitFor(() => bitmapAt(2, 3) === 4 && bitmapAt(5, 6) === 4, { what: 'the fill' })
    await waitFor(async () => (await pageColorAt(5, 6)) === palette()[4], { what: "the fill on the page's board" })
    // The fill's answer comes after its tiles' broadcast (its audit entry is written in between).
    await expect
      .poll(() => page.textContent('#message'), { timeout: 10_000 })
      .toContain('Filled 4×4 at 2,3 with colour 4: 16 tiles changed')
    await page.getByRole('button', { name: 'Blank' }).click()
    await waitFor(() => bitmapAt(2, 3) === 0 && bitmapAt(5, 6) === 0, { what: 'the blank' })
    await page.waitForSelector('#audit li[data-action="blank"]')
    expect(await auditActions()).toEqual(expect.arrayContaining(['protect', 'fill', 'blank']))
    // Named by the moderator's name given at login (kept across the reload).
    const entries = (await adminCall(relay.url, ADMIN, 'GET', '/audit')).body.entries as { actor: string }[]
    expect(new Set(entries.map((e) => e.actor))).toEqual(new Set(['admin:mod-ann']))
    expect(await page.textContent('#audit li[data-action="protect"]')).toContain('by admin:mod-ann')

    // Removing the protection lets everyone place there again.
    await page.getByRole('button', { name: 'Remove protection #1' }).click()
    await waitFor(
      async () => ((await adminCall(relay.url, ADMIN, 'GET', '/boards/main/protections')).body.protections as unknown[]).length === 0,
      {
        what: 'the protection removed',
      },
    )
    expect((await placeHttp(relay.url, player.token, { x: 3, y: 4, color: 2 })).status).toBe(200)
    await page.waitForSelector('#audit li[data-action="unprotect"]')
    await page.getByRole('button', { name: 'Select area' }).click()
  })

  it('rolls back one user in a time range after a preview, and the board returns; then undoes it', async () => {
    const alice = await newSession(relay.url)
    const bob = await newSession(relay.url)
    const place = async (token: string, x: number, y: number, color: number) =>
      expect((await placeHttp(relay.url, token, { x, y, color })).status).toBe(200)
    await place(bob.token, 20, 20, 7) // before the range: kept
    const from = await nextSecond()
    await place(alice.token, 10, 10, 3)
    await place(alice.token, 11, 10, 3)
    await place(bob.token, 10, 10, 5) // over alice: rolls back to her 3
    await place(bob.token, 12, 10, 6) // on a blank tile: rolls back to 0
    const to = Date.now()
    await nextSecond()
    await place(bob.token, 13, 10, 8) // after the range: kept
    await waitFor(async () => (await pageColorAt(12, 10)) === palette()[6], { what: "bob's tile on the page's board" })

    // The counts follow (read every 5 s): these placements are in the last minute.
    await page.waitForFunction(() => /^[1-9]\d* placements\/min$/.test(document.getElementById('rate')?.textContent ?? ''))
    await page.getByLabel('User id to roll back').fill(bob.user)
    await page.getByLabel('Placed from').fill(await localInput(from))
    await page.getByLabel('Placed until').fill(await localInput(to))
    await page.getByLabel('Only inside the area').uncheck()
    await page.getByRole('button', { name: 'Preview rollback' }).click()
    await page.waitForSelector('#rb-apply:not([hidden])')
    expect(await page.textContent('#rb-summary')).toContain('undo 2 placements and change 2 tiles')
    // The preview is drawn over the board: each tile it changes in the colour it would get.
    expect(await overlayColorAt(12, 10)).toBe(palette()[0])
    expect(await overlayColorAt(10, 10)).toBe(palette()[3])
    expect(await overlayColorAt(13, 10)).toBe(null)
    await page.screenshot({ path: join(ARTIFACTS, 'admin-rollback-preview.png') })
    // A preview changes nothing.
    expect([bitmapAt(10, 10), bitmapAt(12, 10)]).toEqual([5, 6])
    expect(await auditActions()).not.toContain('rollback')

    await page.getByRole('button', { name: 'Apply rollback' }).click()
    await page.waitForSelector('#rb-undo:not([hidden])')
    expect(await page.textContent('#rb-summary')).toMatch(/Rollback #\d+ applied: 2 placements undone, 2 tiles changed/)
    // The relay's board and the page's live board return to the previous colours.
    expect([bitmapAt(10, 10), bitmapAt(11, 10), bitmapAt(12, 10), bitmapAt(20, 20), bitmapAt(13, 10)]).toEqual([3, 3, 0, 7, 8])
    const tile = await fetch(`${relay.url}/api/boards/main/tiles/12/10`).then((r) => r.json())
    expect(tile.color).toBe(0)
    await waitFor(async () => (await pageColorAt(12, 10)) === palette()[0] && (await pageColorAt(10, 10)) === palette()[3], {
      what: "the page's board after the rollback",
    })
    await page.waitForSelector('#audit li[data-action="rollback"]')
    expect(await auditActions()).toContain('rollback')
    await page.screenshot({ path: join(ARTIFACTS, 'admin-rollback-applied.png') })

    await page.getByRole('button', { name: /Undo rollback #\d+/ }).click()
    await page.waitForSelector('#rb-undo', { state: 'hidden' })
    expect([bitmapAt(10, 10), bitmapAt(12, 10)]).toEqual([5, 6])
    await page.waitForSelector('#audit li[data-action="undo-rollback"]')
    expect(await auditActions()).toContain('undo-rollback')
  })

  it("shows a tile's history on click and offers its placer for a rollback", async () => {
    const p = await tileCenter(page, 12, 10)
    await page.mouse.click(p.x, p.y)
    await page.waitForSelector('#tile-history li')
    expect(await page.textContent('#tile-title')).toBe('Tile history: 12, 10')
    const history = await fetch(`${relay.url}/api/boards/main/tiles/12/10/history`).then((r) => r.json())
    const users = await page.$$eval('#tile-history li', (lis) => lis.map((li) => li.getAttribute('data-user')))
    expect(users).toEqual(history.placements.map((p: { user: string }) => p.user))
    // Its placer, one click away from a rollback.
    await page.locator('#tile-history li').first().getByRole('button', { name: 'Roll back this user…' }).click()
    expect(await page.inputValue('#rb-user')).toBe(users[0])
  })

  it('bans and unbans, applies settings live, and reports a refused change in a sentence', async () => {
    await page.getByLabel('Target').fill('198.51.100.0/24')
    await page.getByLabel('Kind').selectOption('ip')
    await page.getByRole('button', { name: 'Ban', exact: true }).click()
    await page.waitForSelector('#bans li button')
    expect((await adminCall(relay.url, ADMIN, 'GET', '/bans')).body.bans).toHaveLength(1)
    await page.getByRole('button', { name: 'Remove the ban of 198.51.100.0/24' }).click()
    await waitFor(async () => ((await adminCall(relay.url, ADMIN, 'GET', '/bans')).body.bans as unknown[]).length === 0, {
      what: 'the unban',
    })
    await page.waitForSelector('#audit li[data-action="unban"]')
    await page.waitForSelector('#audit li[data-action="ban"]')

    await page.getByLabel('Cooldown (seconds)').fill('2.5')
    await page.getByLabel('Locked (only admins place)').check()
    await page.getByRole('button', { name: 'Apply settings' }).click()
    await waitFor(() => relay.rooms.get('main')?.config().locked === true, { what: 'the lock' })
    expect(relay.rooms.get('main')?.config().cooldownMs).toBe(2500)
    await page.waitForSelector('#audit li[data-action="update-board"]')

    // Shrinking loses tiles: refused, with the relay's reason in a sentence.
    await page.getByLabel('Width (grow only)').fill('16')
    await page.getByRole('button', { name: 'Apply settings' }).click()
    await page.waitForSelector('#message[data-kind="error"]')
    expect(await page.textContent('#message')).toMatch(/^The relay refused \(bad-request\): /)
    expect(relay.rooms.get('main')?.config().width).toBe(32)

    // Another board: the picker shows it live, and the address names it.
    await page.selectOption('#board-select', 'other')
    await page.waitForFunction(() => (document.querySelector('canvas.board') as HTMLCanvasElement | null)?.width === 16)
    await page.waitForSelector('body[data-connection="live"]')
    expect(new URL(page.url()).searchParams.get('board')).toBe('other')
    expect(await page.inputValue('#set-width')).toBe('16')
    expect(errors).toEqual([])
  })
})
