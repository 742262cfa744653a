/**
 * The offline placement queue (issue 12) in real Chromium against a real relay (in process, on a
 * fixed port and DATA_DIR so that it can be stopped and started again under the open page):
 *
 * - offline (network off, relay stopped), Place reads "Queue"; a placement is queued, drawn as a
 *   ghost, said on the feedback line, and survives a reload; everything back, it lands exactly
 *   once (one history record for the tile) and a second browser sees it;
 * - a tile someone else changed while the placement was queued: the page asks (Keep / Drop)
 *   before sending anything; Drop sends nothing, Keep sends it;
 * - one placement per cooldown: a queued placement waits out the cooldown its identity started
 *   elsewhere meanwhile (learned from the Session frame) before it is sent.
 *
 * Screenshots go to test/e2e/artifacts/ (git-ignored).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TOKEN_COOKIE } from '../../shared/protocol.ts'
import { adminCall } from '../helpers/admin.ts'
import { tileCenter } from '../helpers/browser.ts'
import { newSession, placeHttp } from '../helpers/clients.ts'
import { createRestartableRelay } from '../helpers/restartable-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'queue-test-admin-token'
const ENV = { BOARD_COOLDOWN_MS: '0', BOARD_WIDTH: '48', BOARD_HEIGHT: '32', BOARD_SHARD_SIZE: '16', ADMIN_TOKEN: ADMIN }

const ARTIFACTS = join(import.meta.dirname, 'artifacts')

const rig = createRestartableRelay({ name: 'queue', env: ENV })
const { live, stop: stopRelay, start: startRelay } = rig

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  await rig.setUp()
})
afterAll(rig.tearDown)

const newContext = async (): Promise<BrowserContext> => {
  const context = await rig.browser.newContext({ viewport: { width: 900, height: 700 } })
  rig.cleanups.push(() => context.close())
  return context
}
const openLive = async (context: BrowserContext): Promise<{ page: Page; errors: string[] }> => {
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(`http://127.0.0.1:${rig.port}/?board=main`)
  await page.waitForSelector('body[data-connection="live"]', { timeout: 15_000 })
  return { page, errors }
}
const colorOnPage = (page: Page, x: number, y: number) =>
  page.evaluate(
    ([tx, ty]) => {
      const t = (window as unknown as { __tessera: { bitmap: () => Uint8Array; config: () => { width: number } } }).__tessera
      return t.bitmap()[(ty as number) * t.config().width + (tx as number)]
    },
    [x, y],
  )
const source = (page: Page) => page.evaluate(() => (window as unknown as { __tessera?: { source: () => string } }).__tessera?.source())
/** The queued placement as the page keeps it (localStorage), or null. */
const storedQueue = (page: Page) => page.evaluate(() => localStorage.getItem('tessera.queue.main'))
/** Whether IndexedDB holds a board for 'main' (an offline reload paints it). */
const boardStored = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<boolean>((resolve) => {
        const open = indexedDB.open('tessera')
        open.onerror = () => resolve(false)
        open.onsuccess = () => {
          const db = open.result
          if (!db.objectStoreNames.contains('boards')) return resolve(false)
          const get = db.transaction('boards').objectStore('boards').get('main')
          get.onsuccess = () => {
            db.close()
            resolve(get.result !== undefined)
          }
          get.onerror = () => resolve(false)
        }
      }),
  )
/** The tile's history records, newest first. */
const history = async (x: number, y: number) => {
  const res = await fetch(`${live().url}/api/boards/main/tiles/${x}/${y}/history`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { placements: { user: string; color: number; placedAt: number }[] }).placements
}
const selectTile = async (page: Page, x: number, y: number, color: number) => {
  await page.click(`#palette [data-color="${color}"]`)
  const at = await tileCenter(page, x, y)
  await page.mouse.click(at.x, at.y)
}

describe('offline placement queue', () => {
  it('queues a placement offline, keeps it across a reload, and places it exactly once when the relay is back', async () => {
    const context = await newContext()
    const { page, errors } = await openLive(context)
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true))
    await waitFor(() => boardStored(page), { timeoutMs: 15_000, intervalMs: 200, what: 'the board saved to IndexedDB' })

    await selectTile(page, 10, 10, 3)
    await page.waitForSelector('#place[data-state="ready"]')
    await context.setOffline(true)
    await stopRelay()
    await page.waitForSelector('body[data-connection="offline"]')
    await page.waitForSelector('#place[data-state="queue"]')
    expect(await page.locator('#place').textContent()).toBe('Queue')
    await page.click('#place')
    await page.waitForSelector('#feedback[data-kind="queue-queued"]')
    expect(await page.locator('#feedback').textContent()).toBe('Queued (10, 10): it will be sent when the board is live again')
    await page.waitForSelector('.ghost[data-state="queued"]:not([hidden])')
    expect(JSON.parse((await storedQueue(page)) ?? 'null')).toMatchObject({ x: 10, y: 10, color: 3, sent: false, tileColorWhenQueued: 0 })

    // A reload while offline: the queued placement is still there, drawn and said.
    await page.reload()
    await waitFor(async () => (await source(page)) === 'stored', { what: 'the stored board after an offline reload' })
    await page.waitForSelector('.ghost[data-state="queued"]:not([hidden])')
    await page.waitForSelector('#feedback[data-kind="queue-queued"]')
    expect(await colorOnPage(page, 10, 10)).toBe(0)
    await page.screenshot({ path: join(ARTIFACTS, 'queue-offline-reload.png') })

    // Everything back (same port and DATA_DIR): it is sent once the page is live, and lands once.
    await startRelay()
    await context.setOffline(false)
    await page.waitForSelector('#feedback[data-kind="placed"]', { timeout: 15_000 })
    expect(await page.locator('#feedback').textContent()).toBe('Placed at (10, 10)')
    expect(await storedQueue(page)).toBeNull()
    expect(await page.locator('.ghost').isHidden()).toBe(true)
    const records = await history(10, 10)
    expect(records).toHaveLength(1)
    expect(records[0]?.color).toBe(3)
    await waitFor(async () => (await colorOnPage(page, 10, 10)) === 3, { what: 'the tile on the page' })

    // Another browser sees it.
    const other = await openLive(await newContext())
    expect(await colorOnPage(other.page, 10, 10)).toBe(3)
    expect([...errors, ...other.errors]).toEqual([])
  })

  it('asks before sending a queued placement whose tile someone changed meanwhile; Drop sends nothing, Keep sends it', async () => {
    const context = await newContext()
    const { page, errors } = await openLive(context)
    await selectTile(page, 20, 20, 4)
    await page.waitForSelector('#place[data-state="ready"]')
    await context.setOffline(true)
    await page.waitForSelector('#place[data-state="queue"]')
    await page.click('#place')
    await page.waitForSelector('#feedback[data-kind="queue-queued"]')

    // Someone else places on that tile while the page is offline.
    const { token } = await newSession(live().url)
    expect((await placeHttp(live().url, token, { x: 20, y: 20, color: 7 })).status).toBe(200)

    await context.setOffline(false)
    await page.waitForSelector('#queue-prompt:not([hidden])', { timeout: 15_000 })
    expect(await page.locator('#feedback').getAttribute('data-kind')).toBe('queue-conflict')
    await page.screenshot({ path: join(ARTIFACTS, 'queue-conflict.png') })
    expect(await page.locator('#feedback').textContent()).toBe(
      'Someone changed (20, 20) while your placement was queued: keep it or drop it?',
    )
    expect(await colorOnPage(page, 20, 20)).toBe(7)
    await page.click('#queue-prompt [data-action="drop"]')
    await page.waitForSelector('#feedback[data-kind="queue-dropped"]')
    await page.waitForSelector('#queue-prompt', { state: 'hidden' })
    expect(await storedQueue(page)).toBeNull()
    expect(await page.locator('.ghost').isHidden()).toBe(true)
    // Nothing was sent: the tile's only record is the other identity's.
    const records = await history(20, 20)
    expect(records.map((r) => r.color)).toEqual([7])

    // Again on another tile, and Keep: it is sent over the other identity's tile.
    await selectTile(page, 21, 20, 5)
    await context.setOffline(true)
    await page.waitForSelector('#place[data-state="queue"]')
    await page.click('#place')
    await page.waitForSelector('#feedback[data-kind="queue-queued"]')
    expect((await placeHttp(live().url, token, { x: 21, y: 20, color: 8 })).status).toBe(200)
    await context.setOffline(false)
    await page.waitForSelector('#queue-prompt:not([hidden])', { timeout: 15_000 })
    await page.click('#queue-prompt [data-action="keep"]')
    await page.waitForSelector('#feedback[data-kind="placed"]')
    await page.waitForSelector('#queue-prompt', { state: 'hidden' })
    expect((await history(21, 20)).map((r) => r.color)).toEqual([5, 8])
    await waitFor(async () => (await colorOnPage(page, 21, 20)) === 5, { what: 'the kept placement on the page' })
    expect(await storedQueue(page)).toBeNull()
    expect(errors).toEqual([])
  })

  it('never places faster than one per cooldown: a queued placement waits out a cooldown its identity started meanwhile', async () => {
    const cooldownMs = 4000
    expect((await adminCall(live().url, ADMIN, 'PATCH', '/boards/main', { cooldownMs })).status).toBe(200)
    const context = await newContext()
    const { page, errors } = await openLive(context)
    await selectTile(page, 30, 5, 2)
    await page.waitForSelector('#place[data-state="ready"]')
    await context.setOffline(true)
    await page.waitForSelector('#place[data-state="queue"]')
    await page.click('#place')
    await page.waitForSelector('#feedback[data-kind="queue-queued"]')

    // The same identity places elsewhere meanwhile (its cookie, over HTTP): its cooldown runs.
    const cookie = (await context.cookies()).find((c) => c.name === TOKEN_COOKIE)
    const elsewhere = await placeHttp(live().url, cookie?.value as string, { x: 31, y: 5, color: 6 })
    expect(elsewhere.status).toBe(200)
    const placedAt = elsewhere.body.placedAt as number

    // Back online: live, the Session frame says when it may place next; the queue waits for it.
    await context.setOffline(false)
    await page.waitForSelector('body[data-connection="live"]', { timeout: 15_000 })
    await page.waitForSelector('#place[data-state="cooldown"]')
    // Observed first, judged only if both were read before the cooldown ended (the page may then
    // send, rightly); a page that sends early is still caught.
    const early = await history(30, 5)
    const kind = await page.locator('#feedback').getAttribute('data-kind')
    if (Date.now() < placedAt + cooldownMs - 100) {
      expect(early).toEqual([])
      expect(kind).toBe('queue-queued')
    }
    await page.waitForSelector('#feedback[data-kind="placed"]', { timeout: 15_000 })
    const records = await history(30, 5)
    expect(records).toHaveLength(1)
    expect(records[0]?.placedAt).toBeGreaterThanOrEqual(placedAt + cooldownMs)
    expect(errors).toEqual([])
  })
})
