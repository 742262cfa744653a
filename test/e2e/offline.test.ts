/**
 * The client as an offline-capable app, in real Chromium against a real relay (in process, on a
 * fixed port and DATA_DIR so that it can be stopped and started again under the open pages):
 *
 * - a first visit paints the latest snapshot PNG, then reaches the relay's exact board from the
 *   snapshot's state vector, across placements, shard compactions and a new epoch since;
 * - a return visit paints the board it had from IndexedDB before any network answer, then
 *   catches up (since=) after thousands of placements and a grown board with a new colour;
 * - offline (network off, relay stopped), a reload shows the last board with its age and an
 *   offline state; with everything back the page goes live by itself; a page that could not
 *   reach the relay at load keeps trying and goes live when it returns;
 * - a lost connection is noticed within the heartbeat deadline (the relay frozen with SIGSTOP:
 *   no close, no error, only silence), and the browser's offline event at once.
 *
 * Screenshots go to test/e2e/artifacts/ (git-ignored).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { BrowserContext, Page, Route } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Room } from '../../relay/room.ts'
import { RootKey, rootOf } from '../../shared/doc-schema.ts'
import { stateVectorSum } from '../../shared/update-reader.ts'
import { adminCall } from '../helpers/admin.ts'
import { startChildRelay } from '../helpers/child-relay.ts'
import { startOnDemandSnapshotter } from '../helpers/on-demand-snapshotter.ts'
import { prng } from '../helpers/prng.ts'
import { createRestartableRelay } from '../helpers/restartable-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'offline-test-admin-token'
const SHARD = 16
const ENV = {
  BOARD_COOLDOWN_MS: '0',
  BOARD_WIDTH: '96',
  BOARD_HEIGHT: '64',
  BOARD_SHARD_SIZE: String(SHARD),
  // Compact a shard every 16 writes (the least allowed): 6,000 placements then force a new epoch
  // too (more than 256 shard replacements, relay/compaction.ts).
  COMPACT_SHARD_WRITES: '16',
  COMPACT_TOTAL_WRITES: '1024',
  ADMIN_TOKEN: ADMIN,
}
const ARTIFACTS = join(import.meta.dirname, 'artifacts')

const rig = createRestartableRelay({ name: 'offline', env: ENV })
const { live, stop: stopRelay, start: startRelay } = rig
const room = (): Room => live().rooms.get('main') as Room

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  await rig.setUp()
})
afterAll(rig.tearDown)

/** Places `n` random tiles through the room (batches share commits, as a busy board's do). */
const placeRandom = async (rand: () => number, n: number) => {
  const { width, height, palette } = room().config()
  const batch: Promise<unknown>[] = []
  for (let i = 0; i < n; i++) {
    const intent = { x: Math.floor(rand() * width), y: Math.floor(rand() * height), color: Math.floor(rand() * palette.length) }
    batch.push(
      room()
        .place(intent, { user: `u${i % 50}`, ip: '127.0.0.1', isAdmin: false })
        .then((r) => {
          if (!r.ok) throw new Error(`placement refused: ${r.error}`)
        }),
    )
    if (batch.length >= 400) await Promise.all(batch.splice(0))
  }
  await Promise.all(batch)
}

const epochOf = (doc: Y.Doc) => {
  const id = (rootOf(doc).get(RootKey.Epoch) as Y.Map<unknown>)._item?.id
  return id ? `${id.client}:${id.clock}` : null
}

/** The "as of" pill: the time, with the date when the board was kept another day (client/ui/format.ts). */
const AS_OF = /^as of (\d{1,2} [A-Z][a-z]{2}( \d{4})? )?\d\d:\d\d$/
/** Calls a method of the page's window.__tessera (undefined before the app has started). */
const hook = (page: Page, method: 'source' | 'status' | 'asOf' | 'config') =>
  page.evaluate((m) => {
    const t = (window as unknown as { __tessera?: Record<string, () => unknown> }).__tessera
    return t ? t[m]?.() : undefined
  }, method)
const pageBitmap = (page: Page): Promise<number[] | undefined> =>
  page.evaluate(() => {
    const t = (window as unknown as { __tessera?: { bitmap: () => Uint8Array } }).__tessera
    return t ? Array.from(t.bitmap()) : undefined
  })
const widthAndColors = async (page: Page) => {
  const c = (await hook(page, 'config')) as { width: number; palette: string[] }
  return { width: c.width, colors: c.palette.length }
}

/** Waits until the page's bitmap is exactly the relay's board. */
const waitForExact = async (page: Page, what: string) => {
  await waitFor(
    async () => {
      const mine = await pageBitmap(page)
      const theirs = Array.from(room().bitmap())
      return mine !== undefined && mine.length === theirs.length && mine.every((c, i) => c === theirs[i])
    },
    { timeoutMs: 20_000, intervalMs: 100, what },
  )
}

/** The board this page's origin keeps in IndexedDB (cursor and bitmap), or null. */
const storedBoard = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<{ cursor: number; bitmap: number[]; savedAt: number } | null>((resolve) => {
        const open = indexedDB.open('tessera')
        open.onerror = () => resolve(null)
        open.onsuccess = () => {
          const db = open.result
          if (!db.objectStoreNames.contains('boards')) return resolve(null)
          const get = db.transaction('boards').objectStore('boards').get('main')
          get.onsuccess = () => {
            const r = get.result
            db.close()
            resolve(r ? { cursor: r.cursor, bitmap: Array.from(r.bitmap as Uint8Array), savedAt: r.savedAt } : null)
          }
          get.onerror = () => resolve(null)
        }
      }),
  )

/** Waits until IndexedDB holds the relay's board as it is now. */
const waitForStored = async (page: Page) => {
  const theirs = Array.from(room().bitmap())
  await waitFor(
    async () => {
      const s = await storedBoard(page)
      return s !== null && s.bitmap.length === theirs.length && s.bitmap.every((c, i) => c === theirs[i])
    },
    { timeoutMs: 15_000, intervalMs: 200, what: 'the board saved to IndexedDB' },
  )
}

type Opened = { page: Page; context: BrowserContext; requests: string[]; errors: string[]; sockets: string[] }
const newContext = async (): Promise<BrowserContext> => {
  const context = await rig.browser.newContext({ viewport: { width: 900, height: 700 } })
  rig.cleanups.push(() => context.close())
  return context
}
const openPage = async (context: BrowserContext): Promise<Opened> => {
  const page = await context.newPage()
  const requests: string[] = []
  const errors: string[] = []
  const sockets: string[] = []
  page.on('request', (r) => requests.push(new URL(r.url()).pathname))
  page.on('websocket', (ws) => sockets.push(ws.url()))
  page.on('pageerror', (err) => errors.push(err.message))
  return { page, context, requests, errors, sockets }
}
const statusText = (page: Page) => page.locator('#connection').textContent()

describe('offline-capable client', () => {
  it('cold start: paints the snapshot PNG, then reaches the exact board past compactions and a new epoch; a return visit paints IndexedDB first and catches up past thousands of placements and growth', async () => {
    const rand = prng(7)
    await placeRandom(rand, 800)
    // A snapshot of exactly this state, written by the real snapshotter (in process).
    const takeSnapshot = async () => {
      const snapshotter = await startOnDemandSnapshotter({ dataDir: rig.dataDir, wsBase: live().wsBase })
      const version = () => stateVectorSum(Y.decodeStateVector(Y.encodeStateVector(room().doc)))
      await waitFor(() => snapshotter.synced() && snapshotter.version() === version(), { what: 'the snapshotter caught up' })
      // Its catch-up snapshot at start may already be this state (then there is nothing new to write).
      const taken = (await snapshotter.snapshotNow()) ?? snapshotter.latest()
      expect(taken?.version).toBe(version())
      await snapshotter.stop()
      expect(taken).toBeTruthy()
      return taken
    }
    const snap = await takeSnapshot()
    const snapSeq = room().lastSeq()
    const epochAtSnapshot = epochOf(room().doc)
    // Since the snapshot: placements, compactions and a new epoch.
    await placeRandom(rand, 6000)
    expect(epochOf(room().doc)).not.toBe(epochAtSnapshot)

    const context = await newContext()
    const first = await openPage(context)
    await first.page.goto(`http://127.0.0.1:${rig.port}/?board=main`)
    await first.page.waitForSelector('body[data-connection="live"]', { timeout: 15_000 })
    await waitForExact(first.page, 'the exact board after a cold start')
    expect(await hook(first.page, 'source')).toBe('snapshot')
    // The board's info named the snapshot and its seq: the PNG, then a since= catch-up of 4-byte
    // Tiles values from the snapshot's seq (no metadata request, no Yjs diff).
    expect(first.requests).toContain('/api/boards/main')
    expect(first.requests).not.toContain('/api/boards/main/snapshot')
    expect(first.requests).toContain(`/snapshots/main/${snap?.version}.png`)
    expect(first.sockets[0]).toMatch(new RegExp(`[?&]since=${snapSeq}(&|$)`))
    // It stays exact as the board moves on.
    await placeRandom(rand, 300)
    await waitForExact(first.page, 'the exact board, live')
    await first.page.screenshot({ path: join(ARTIFACTS, 'cold-start.png') })
    await first.page.evaluate(() => navigator.serviceWorker.ready.then(() => true))
    await waitForStored(first.page)
    const stored = await storedBoard(first.page)
    await first.page.close()

    // The relay moves on without the page: thousands of placements, a grown board, a new colour.
    await placeRandom(rand, 3000)
    const grown = await adminCall(live().url, ADMIN, 'PATCH', '/boards/main', {
      width: 128,
      height: 80,
      palette: [...room().config().palette, '#123456'],
    })
    expect(grown.status).toBe(200)
    await placeRandom(rand, 1500)
    expect(room().config().width).toBe(128)

    // Return: the stored board is painted before any network answer (the identity and the
    // board's info, which the socket waits for, are held back here), then the page catches up
    // from its cursor.
    let release = () => {}
    const held = new Promise<void>((r) => {
      release = r
    })
    const holdBack = async (route: Route) => {
      await held
      await route.continue()
    }
    await context.route('**/api/session', holdBack)
    await context.route('**/api/boards/main', holdBack)
    const second = await openPage(context)
    await second.page.goto(`http://127.0.0.1:${rig.port}/?board=main`)
    await waitFor(async () => (await hook(second.page, 'source')) === 'stored', { what: 'the stored board painted' })
    expect(await pageBitmap(second.page)).toEqual(stored?.bitmap)
    expect(await second.page.locator('#as-of').textContent()).toMatch(AS_OF)
    await second.page.screenshot({ path: join(ARTIFACTS, 'return-before-network.png') })
    release()
    await second.page.waitForSelector('body[data-connection="live"]', { timeout: 15_000 })
    await waitForExact(second.page, 'the exact board after the catch-up')
    expect(await widthAndColors(second.page)).toEqual({ width: 128, colors: 17 })
    // The stored board is the start: no snapshot PNG is fetched (its metadata is asked for in
    // parallel with IndexedDB, before the page knows it has a board).
    expect(second.requests.filter((p) => p.startsWith('/snapshots/'))).toEqual([])
    expect(await second.page.locator('#as-of').isHidden()).toBe(true)
    await context.unroute('**/api/session')
    await context.unroute('**/api/boards/main')
    await waitForStored(second.page)
    const storedAgain = await storedBoard(second.page)
    await second.page.close()

    // Far enough behind that the latest snapshot costs fewer bytes than the catch-up (a 128x80
    // PNG of a few KB against 4 bytes a write): the page paints its stored board, then starts
    // again from the snapshot and catches up from the snapshot's seq.
    await placeRandom(rand, 4000)
    const newer = await takeSnapshot()
    const newerSeq = room().lastSeq()
    await placeRandom(rand, 50)
    const third = await openPage(context)
    await third.page.goto(`http://127.0.0.1:${rig.port}/?board=main`)
    await waitFor(async () => (await hook(third.page, 'source')) != null, { what: 'a board painted' })
    await third.page.waitForSelector('body[data-connection="live"]', { timeout: 15_000 })
    await waitForExact(third.page, 'the exact board from the newer snapshot')
    expect(await hook(third.page, 'source')).toBe('snapshot')
    expect(third.requests).toContain(`/snapshots/main/${newer?.version}.png`)
    expect(third.sockets[0]).toMatch(new RegExp(`[?&]since=${newerSeq}(&|$)`))
    expect(storedAgain?.cursor).toBeLessThanOrEqual(newerSeq - 4000)
    expect([...first.errors, ...second.errors, ...third.errors]).toEqual([])
  })

  it('offline: a reload shows the last board with its age; everything back, it goes live by itself; a page that could not reach the relay at load keeps trying', async () => {
    const context = await newContext()
    const { page, errors, requests } = await openPage(context)
    await page.goto(`http://127.0.0.1:${rig.port}/?board=main`)
    await page.waitForSelector('body[data-connection="live"]', { timeout: 15_000 })
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true))
    await waitForStored(page)
    const before = Array.from(room().bitmap())

    // The browser loses its network: said at once (the offline event), on the pill and the button.
    await context.setOffline(true)
    // 4 s: under the heartbeat's 5 s deadline, so only the offline event can have said it.
    await page.waitForSelector('body[data-connection="offline"]', { timeout: 4000 })
    expect(await statusText(page)).toBe('Offline')
    expect(await page.locator('#place').textContent()).toBe('Offline')
    expect(await page.locator('#as-of').textContent()).toMatch(AS_OF)

    // The relay goes away too, and the page is reloaded: the shell from the service worker, the
    // board from IndexedDB, its age, and the offline state.
    await stopRelay()
    await page.reload()
    await waitFor(async () => (await hook(page, 'source')) === 'stored', { what: 'the stored board after an offline reload' })
    expect(await pageBitmap(page)).toEqual(before)
    await page.waitForSelector('body[data-connection="offline"]')
    expect(await statusText(page)).toBe('Offline')
    expect(await page.locator('#place').textContent()).toBe('Offline')
    expect(await page.locator('#as-of').textContent()).toMatch(AS_OF)
    expect(await page.locator('#fatal').isHidden()).toBe(true)
    await page.screenshot({ path: join(ARTIFACTS, 'offline-reload.png') })

    // Everything comes back (the relay on the same port and data, with placements made while
    // the page was away): the page goes live by itself and catches up.
    await context.setOffline(false)
    await startRelay()
    await placeRandom(prng(99), 200)
    await page.waitForSelector('body[data-connection="live"]', { timeout: 15_000 })
    await waitForExact(page, 'the exact board after coming back online')
    expect(await page.locator('#as-of').isHidden()).toBe(true)

    // No stored board and no relay at load (the shell from the service worker): the page says
    // it cannot reach the board, keeps trying, and goes live by itself when the relay returns.
    await page.evaluate(
      () =>
        new Promise((resolve) => {
          const req = indexedDB.deleteDatabase('tessera')
          req.onsuccess = req.onerror = req.onblocked = () => resolve(true)
        }),
    )
    await stopRelay()
    await page.reload()
    await page.waitForSelector('#fatal:not([hidden])')
    expect(await page.locator('#fatal-title').textContent()).toBe('Cannot reach the board')
    const asked = requests.length
    await startRelay()
    await page.waitForSelector('body[data-connection="live"]', { timeout: 15_000 })
    expect(await page.locator('#fatal').isHidden()).toBe(true)
    // The snapshot, which could not be asked for at load, is fetched once the relay's board info
    // names it.
    expect(requests.slice(asked).some((p) => /^\/snapshots\/main\/\d+\.png$/.test(p))).toBe(true)
    await waitForExact(page, 'the exact board after the relay returned')
    expect(errors).toEqual([])
  })

  it('notices a silent connection within the heartbeat deadline, and recovers when the relay answers again', async () => {
    const childData = makeTmpDir('tessera-offline-child-')
    rig.cleanups.push(() => childData.remove())
    const child = await startChildRelay(childData.dir, { ...ENV, STATIC_DIR: rig.outDir })
    rig.cleanups.push(() => {
      child.child.kill('SIGCONT')
      child.child.kill('SIGKILL')
    })
    const context = await newContext()
    // The first visit's identity is held back, so that the freeze comes while it is being made
    // (the Place button must then say what the connection does, not "Getting ready…").
    let release = () => {}
    const held = new Promise<void>((r) => {
      release = r
    })
    await context.route('**/api/session', async (route) => {
      await held
      await route.continue()
    })
    const { page, errors } = await openPage(context)
    await page.goto(`${child.url}/?board=main`)
    await page.waitForSelector('body[data-connection="live"]', { timeout: 15_000 })
    await page.waitForSelector('#place[data-state="identity"]')
    // Frozen: the socket stays open, nothing arrives. The deadline is 5 s of silence; the bound
    // here leaves room for the check's own tick and a busy machine.
    child.child.kill('SIGSTOP')
    await page.waitForSelector('body[data-connection="reconnecting"]', { timeout: 8000 })
    expect(await statusText(page)).toBe('Reconnecting…')
    expect(await page.locator('#place').textContent()).toBe('Connecting…')
    child.child.kill('SIGCONT')
    release()
    await page.waitForSelector('body[data-connection="live"]', { timeout: 30_000 })
    // The identity arrives and the page hands over to a socket presenting it, staying live.
    await page.waitForSelector('#place:not([data-state="identity"])')
    expect(await page.evaluate(() => document.body.dataset.connection)).toBe('live')
    await context.unroute('**/api/session')
    expect(errors).toEqual([])
  })
})
