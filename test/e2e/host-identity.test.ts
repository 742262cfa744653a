/**
 * Host identities in real Chromium, across sites: a host page served from `localhost` while the
 * relay is `127.0.0.1` (two sites) exchanges a host token with fetch (a CORS preflight the
 * browser itself judges), opens a WebSocket that presents the relay token as a subprotocol, and
 * places. A page of an origin not in EMBED_PLACE_ORIGINS cannot take an identity.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as decoding from 'lib0/decoding'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodePlace, readPlaceResult } from '../../shared/frames.ts'
import { MessageType, WS_PROTOCOL, WS_TOKEN_PROTOCOL_PREFIX } from '../../shared/protocol.ts'
import { launchChromium } from '../helpers/browser.ts'
import { jwtTime, signHostToken, testSecret } from '../helpers/host-token.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'

const SECRET = testSecret('forum')

/** A host site: one empty page on `localhost`. */
const startHostSite = async (): Promise<{ server: Server; origin: string }> => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><title>host</title><p>host page</p>')
  })
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve))
  return { server, origin: `http://localhost:${(server.address() as AddressInfo).port}` }
}

/** In the page: POST /api/session {hostToken} to the relay; the answer's status and body, or the fetch error. */
const exchangeInPage = (page: Page, relayUrl: string, hostToken: string) =>
  page.evaluate(
    async ([url, token]) => {
      try {
        const res = await fetch(`${url}/api/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ hostToken: token }),
        })
        return { status: res.status, body: (await res.json()) as Record<string, unknown> }
      } catch (err) {
        return { error: String(err) }
      }
    },
    [relayUrl, hostToken] as const,
  )

describe('host identities in Chromium, across sites', () => {
  let relay: TestRelay
  let allowed: { server: Server; origin: string }
  let other: { server: Server; origin: string }
  let browser: Browser

  beforeAll(async () => {
    allowed = await startHostSite()
    other = await startHostSite()
    relay = await startTestRelay({ env: { EMBED_SECRET: SECRET, EMBED_PLACE_ORIGINS: allowed.origin } })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await relay?.stop()
    allowed?.server.close()
    other?.server.close()
  })

  it('exchanges a host token from an allowed site and places over a subprotocol token, with no cookie', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(allowed.origin)
    const hostToken = signHostToken(SECRET, { iss: 'forum', sub: 'ada', name: 'Ada', exp: jwtTime(Date.now(), 600) })
    const ex = await exchangeInPage(page, relay.url, hostToken)
    expect(ex).toMatchObject({ status: 200, body: { ok: true, name: 'Ada', issuer: 'forum' } })
    const { token, user } = ex.body as { token: string; user: string }

    const place = Array.from(encodePlace({ requestId: 1, x: 7, y: 8, color: 3 }))
    const answer = await page.evaluate(
      ([url, protocols, frame]) =>
        new Promise<{ protocol: string; frames: number[][] }>((resolve, reject) => {
          const ws = new WebSocket(url, [...protocols])
          ws.binaryType = 'arraybuffer'
          const frames: number[][] = []
          ws.onopen = () => ws.send(new Uint8Array(frame))
          ws.onerror = () => reject(new Error('socket error'))
          ws.onmessage = (e) => {
            frames.push(Array.from(new Uint8Array(e.data as ArrayBuffer)))
            // 101: PlaceResult (one varuint byte).
            if (frames[frames.length - 1]?.[0] === 101) {
              resolve({ protocol: ws.protocol, frames })
              ws.close()
            }
          }
        }),
      [`${relay.wsBase}/main?tessera=1`, [WS_PROTOCOL, `${WS_TOKEN_PROTOCOL_PREFIX}${token}`], place] as const,
    )
    expect(answer.protocol).toBe(WS_PROTOCOL)
    const resultFrame = answer.frames.find((f) => f[0] === MessageType.PlaceResult) as number[]
    const dec = decoding.createDecoder(new Uint8Array(resultFrame))
    decoding.readVarUint(dec)
    expect(readPlaceResult(dec).result.ok).toBe(true)
    const tile = (await (await fetch(`${relay.url}/api/boards/main/tiles/7/8`)).json()) as Record<string, unknown>
    expect(tile).toMatchObject({ color: 3, user, name: 'Ada', issuer: 'forum' })
    expect(await context.cookies(relay.url)).toEqual([])
    await context.close()
  })

  it('keeps a page of another site from taking an identity, and lets it read why', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(other.origin)
    const hostToken = signHostToken(SECRET, { iss: 'forum', sub: 'ada', exp: jwtTime(Date.now(), 600) })
    const ex = await exchangeInPage(page, relay.url, hostToken)
    expect(ex).toMatchObject({ status: 403, body: { ok: false, error: 'origin-not-allowed' } })
    // Reading the board stays open to it.
    const read = await page.evaluate(async (url) => (await fetch(`${url}/api/boards/main`)).status, relay.url)
    expect(read).toBe(200)
    await context.close()
  })
})
