/**
 * Issue 16, first test: one writer relay and two edge relays over a real nats-server with
 * JetStream. A y-websocket provider on each relay, a live=tiles socket and a Tessera page
 * (Chromium) on one edge, an HTTP bot placing through the other edge and a WebSocket placer on
 * the first: every view converges to the writer's board exactly (same document, same bitmap, same
 * seqs), tile reads on an edge answer as the writer does, and a placement the page makes through
 * its edge is on the page's board when the page says it is placed (as with one relay). The
 * moderation page served by an edge logs in and fills through it (its calls reach the writer).
 */

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as decoding from 'lib0/decoding'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { readSession } from '../../shared/frames.ts'
import { MessageType } from '../../shared/protocol.ts'
import { adminCall } from '../helpers/admin.ts'
import { buildClient, launchChromium, tileCenter } from '../helpers/browser.ts'
import { sameBytes } from '../helpers/bytes.ts'
import { connectProvider, newSession, openRaw, placeHttp } from '../helpers/clients.ts'
import { type EdgeRig, startEdgeRig } from '../helpers/edge-rig.ts'
import { randomInts } from '../helpers/prng.ts'
import { openTilesClient } from '../helpers/tiles-client.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const W = 32
const H = 32
const client = makeTmpDir('tessera-client-')
let rig: EdgeRig
let browser: Browser
beforeAll(async () => {
  const [, launched] = await Promise.all([buildClient(client.dir), launchChromium()])
  browser = launched
  rig = await startEdgeRig({
    edges: 2,
    boards: [
      { id: 'main', width: W, height: H, shardSize: 16, cooldownMs: 0 },
      { id: 'slow', width: 16, height: 16, shardSize: 16, cooldownMs: 600_000 },
    ],
    env: { STATIC_DIR: client.dir },
  })
}, 180_000)
afterAll(async () => {
  await browser?.close()
  await rig?.tearDown()
  client.remove()
})

/** The page's bitmap (colour indices), as the client holds it. */
const pageBitmap = async (page: Page) =>
  new Uint8Array(
    await page.evaluate(() => Array.from((window as unknown as { __tessera: { bitmap: () => Uint8Array } }).__tessera.bitmap())),
  )

describe('one writer, two edges', () => {
  it('keep each board on its own stream, and every edge knows the writer cooldowns', async () => {
    const [a, b] = rig.edges.map((e) => e.proc) as [EdgeRig['edges'][number]['proc'], EdgeRig['edges'][number]['proc']]
    const { token, user } = await newSession(a.url)
    const sessions = (sock: Awaited<ReturnType<typeof openRaw>>) =>
      sock.frames.flatMap((f) => {
        const dec = decoding.createDecoder(f)
        return decoding.readVarUint(dec) === MessageType.Session ? [readSession(dec)] : []
      })
    // A tab of the same identity on edge B, open before the placement.
    const tab = await openRaw(`${b.wsBase}/slow?tessera=1&token=${token}`)
    await waitFor(() => sessions(tab).length > 0, { what: 'the tab Session frame' })
    expect(sessions(tab)[0]?.nextPlaceAt).toBe(0)
    const placed = await placeHttp(a.url, token, { x: 1, y: 2, color: 4 }, 'slow')
    expect(placed.status, JSON.stringify(placed.body)).toBe(200)
    const nextPlaceAt = placed.body.nextPlaceAt as number
    expect(nextPlaceAt).toBe((placed.body.placedAt as number) + 600_000)
    // The writer refuses a second placement within the cooldown, through the other edge too.
    const again = await placeHttp(b.url, token, { x: 3, y: 3, color: 4 }, 'slow')
    expect(again.status).toBe(429)
    expect(again.body.error).toBe('cooldown')
    // Edge B learnt the cooldown from the stream: its Session frame says when this identity may place.
    await waitFor(async () => ((await (await fetch(`${b.url}/api/boards/slow/tiles/1/2`)).json()) as { user?: string }).user === user, {
      what: 'the slow board on edge B',
    })
    const sock = await openRaw(`${b.wsBase}/slow?tessera=1&token=${token}`)
    const session = await waitFor(() => sessions(sock)[0], { what: 'a Session frame from edge B' })
    expect(session).toMatchObject({ user, nextPlaceAt })
    // And the tab open meanwhile was told that its identity's cooldown started, as the writer tells tabs.
    await waitFor(() => sessions(tab).some((f) => f.nextPlaceAt === nextPlaceAt), { what: 'the tab told of the cooldown' })
    sock.close()
    tab.close()
  })

  it('converge to the writer board exactly', async () => {
    const [a, b] = rig.edges.map((e) => e.proc) as [NonNullable<EdgeRig['edges'][0]>['proc'], NonNullable<EdgeRig['edges'][0]>['proc']]
    const w = rig.writer.proc
    const ref = await connectProvider(w.wsBase)
    const onA = await connectProvider(a.wsBase)
    const onB = await connectProvider(b.wsBase)
    const tiles = await openTilesClient(a.wsBase)
    const refTiles = await openTilesClient(w.wsBase)
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${a.url}/?board=main`)
    await page.waitForSelector('body[data-connection="live"]')
    // The page has made its identity (on edge A, with the writer's secret) and can place.
    await page.waitForSelector('#place:not([data-state="identity"])')

    // A bot places over HTTP through edge B; a socket with its own identity places through edge A.
    const bot = await newSession(b.url)
    const person = await newSession(a.url)
    const placer = await openRaw(`${a.wsBase}/main?token=${person.token}`)
    const rand = randomInts(16)
    const acked: { x: number; y: number; color: number }[] = []
    const http = (async () => {
      for (let i = 0; i < 150; i++) {
        const t = { x: rand(W), y: rand(H), color: 1 + rand(15) }
        const res = await placeHttp(b.url, bot.token, t)
        expect(res.status, JSON.stringify(res.body)).toBe(200)
        acked.push(t)
      }
    })()
    const ws = (async () => {
      for (let i = 0; i < 150; i++) {
        const t = { x: rand(W), y: rand(H), color: 1 + rand(15) }
        const res = await placer.place(t.x, t.y, t.color, `edge-ws-${i}`)
        expect(res.ok, JSON.stringify(res)).toBe(true)
        acked.push(t)
      }
    })()
    await Promise.all([http, ws])
    expect(acked.length).toBe(300)

    // The page places through edge A: once it says placed, its own board shows the tile.
    await page.click('#palette [data-color="3"]')
    const at = await tileCenter(page, 5, 6)
    await page.mouse.click(at.x, at.y)
    await page.waitForSelector('#place[data-state="ready"]')
    await page.click('#place')
    await page.waitForSelector('#feedback[data-kind="placed"]')
    expect((await pageBitmap(page))[6 * W + 5]).toBe(3)

    // The writer's own view holds every acknowledged placement: 301 seqs.
    await waitFor(
      () => {
        refTiles.pump()
        return refTiles.cursor() === 301
      },
      { what: 'writer at seq 301' },
    )
    const board = () => readBoardBitmap(ref.doc, W, H)
    await waitFor(() => sameBytes(board(), refTiles.board()?.bitmap ?? new Uint8Array()), { what: 'writer provider' })
    await waitFor(
      () => {
        tiles.pump()
        return tiles.cursor() === 301 && sameBytes(tiles.board()?.bitmap ?? new Uint8Array(), board())
      },
      { what: 'live=tiles view on edge A' },
    )
    expect(tiles.gaps).toEqual([])
    for (const p of [onA, onB]) {
      await waitFor(() => sameBytes(readBoardBitmap(p.doc, W, H), board()), { what: 'provider on an edge' })
      // The same document, not only the same picture: a client may move between relays.
      expect(sameBytes(Y.encodeStateVector(p.doc), Y.encodeStateVector(ref.doc))).toBe(true)
    }
    // The last placement on each tile as the edges read it from their own history.
    for (const { x, y } of acked.slice(-10)) {
      const read = async (url: string) => (await fetch(`${url}/api/boards/main/tiles/${x}/${y}`)).json()
      const fromWriter = await read(w.url)
      expect(await read(a.url)).toEqual(fromWriter)
      expect(await read(b.url)).toEqual(fromWriter)
    }
    await waitFor(async () => sameBytes(await pageBitmap(page), board()), { what: 'the page on edge A to show the writer board' })
    // Admin calls go to the writer through an edge: a wrong token gets the writer's refusal.
    const refused = await adminCall(a.url, 'any-token-0123456789', 'GET', '/audit')
    expect(refused.status).toBe(403)
    expect(refused.body).toMatchObject({ ok: false, error: 'forbidden' })
    await context.close()
    for (const c of [ref, onA, onB]) c.close()
    tiles.close()
    refTiles.close()
    placer.close()
  })

  it('serve the moderation page, whose admin calls reach the writer', async () => {
    const [a, b] = rig.edges.map((e) => e.proc) as [NonNullable<EdgeRig['edges'][0]>['proc'], NonNullable<EdgeRig['edges'][0]>['proc']]
    const token = readFileSync(join(rig.writer.dataDir, 'admin-token'), 'utf8').trim()
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const page = await context.newPage()
    await page.goto(`${a.url}/admin`)
    await page.getByLabel('Admin token').fill('not-the-token')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForSelector('#message[data-kind="error"]')
    expect(await page.textContent('#message')).toContain('not the admin token')
    await page.getByLabel('Admin token').fill(token)
    await page.getByLabel('Your name').fill('mod-edge')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForSelector('body[data-state="ready"][data-connection="live"]')
    // Fill a rectangle dragged on the edge's page: the writer makes it, both edges show it.
    await page.getByRole('button', { name: 'Select area' }).click()
    const from = await tileCenter(page, 24, 24)
    const to = await tileCenter(page, 27, 27)
    await page.mouse.move(from.x, from.y)
    await page.mouse.down()
    await page.mouse.move(to.x, to.y, { steps: 5 })
    await page.mouse.up()
    await page.getByLabel('Colour').selectOption('4')
    await page.getByRole('button', { name: 'Fill' }).click()
    await waitFor(async () => (await page.textContent('#message'))?.includes('Filled 4×4 at 24,24 with colour 4'), {
      what: 'the page told of the fill',
    })
    for (const base of [rig.writer.proc.url, a.url, b.url]) {
      await waitFor(
        async () => ((await (await fetch(`${base}/api/boards/main/tiles/27/27`)).json()) as { color: number; user: string }).color === 4,
        { what: `the fill on ${base}` },
      )
    }
    // The writer's audit log names the moderator as the page on the edge gave it.
    await page.waitForSelector('#audit li[data-action="fill"]')
    const entries = (await adminCall(rig.writer.proc.url, token, 'GET', '/audit')).body.entries as { action: string; actor: string }[]
    expect(entries.find((e) => e.action === 'fill')?.actor).toBe('admin:mod-edge')
    await context.close()
  })
})
