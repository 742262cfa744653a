/**
 * Retried placements (a client-chosen placement id): answered with their first outcome over
 * WebSocket and HTTP, never placed twice, refused if the id is reused for another tile, and
 * still recognised after kill -9 of the relay between the commit and the acknowledgement.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as decoding from 'lib0/decoding'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodePlace, readPlaceResult } from '../../shared/frames.ts'
import { IDEMPOTENCY_HEADER, MessageType, newPlacementId, PLACEMENT_ID_REUSED, type PlaceResult } from '../../shared/protocol.ts'
import { startChildRelay } from '../helpers/child-relay.ts'
import { newSession, openRaw, placeHttp } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { waitFor } from '../helpers/wait-for.ts'

const freshId = () => newPlacementId((b) => crypto.getRandomValues(b))

/** Every placement record of a tile (GET .../tiles/x/y/history). */
const tileHistory = async (url: string, board: string, x: number, y: number) => {
  const res = await fetch(`${url}/api/boards/${board}/tiles/${x}/${y}/history`)
  return ((await res.json()) as { placements: { user: string; placedAt: number }[] }).placements
}

let relay: TestRelay
beforeAll(async () => {
  relay = await startTestRelay({
    boards: [
      { id: 'main', width: 100, height: 100, cooldownMs: 60_000 },
      { id: 'free', width: 100, height: 100, cooldownMs: 0 },
    ],
  })
})
afterAll(async () => {
  await relay.stop()
})

describe('a retried placement over WebSocket', () => {
  it('is answered with the first outcome and placed once, on the same socket and on another', async () => {
    const { token, user } = await newSession(relay.url)
    const sock = await openRaw(`${relay.wsBase}/main?token=${token}`)
    const id = freshId()
    const first = await sock.place(5, 6, 7, id)
    expect(first).toMatchObject({ ok: true })
    // Within the cooldown: a new placement would be refused `cooldown`, the retry is not.
    expect(await sock.place(5, 6, 7, id)).toEqual(first)
    sock.close()
    const again = await openRaw(`${relay.wsBase}/main?token=${token}`)
    expect(await again.place(5, 6, 7, id)).toEqual(first)
    // And over HTTP, by header and by body field.
    const byHeader = await placeHttp(relay.url, token, { x: 5, y: 6, color: 7 }, 'main', { [IDEMPOTENCY_HEADER]: id })
    expect(byHeader.status).toBe(200)
    expect(byHeader.body).toEqual(first)
    expect((await placeHttp(relay.url, token, { x: 5, y: 6, color: 7, id }, 'main')).body).toEqual(first)
    // A placement with a new id is a new placement: refused by the cooldown.
    expect(await again.place(5, 6, 7, freshId())).toMatchObject({ ok: false, error: 'cooldown' })
    again.close()
    const history = await tileHistory(relay.url, 'main', 5, 6)
    expect(history).toHaveLength(1)
    expect(history[0]).toMatchObject({ user, placedAt: (first as { placedAt: number }).placedAt })
  })

  it('waits for the first attempt when the retry arrives while it is pending', async () => {
    const { token } = await newSession(relay.url)
    const sock = await openRaw(`${relay.wsBase}/free?token=${token}`)
    const id = freshId()
    // Both frames in one go: the second arrives before the first is committed.
    sock.send(encodePlace({ requestId: 9001, x: 1, y: 2, color: 3, id }))
    sock.send(encodePlace({ requestId: 9002, x: 1, y: 2, color: 3, id }))
    const results = await waitFor(() => {
      const found = new Map<number, PlaceResult>()
      for (const f of sock.frames) {
        if (f[0] !== MessageType.PlaceResult) continue
        const r = readPlaceResult(decoding.createDecoder(f.subarray(1)))
        found.set(r.requestId, r.result)
      }
      return found.has(9001) && found.has(9002) ? found : null
    })
    expect(results.get(9001)).toMatchObject({ ok: true })
    expect(results.get(9002)).toEqual(results.get(9001))
    expect(await tileHistory(relay.url, 'free', 1, 2)).toHaveLength(1)
    sock.close()
  })

  it('refuses an id used for another tile or colour with bad-request, and a malformed id', async () => {
    const { token } = await newSession(relay.url)
    const sock = await openRaw(`${relay.wsBase}/free?token=${token}`)
    const id = freshId()
    expect(await sock.place(10, 10, 1, id)).toMatchObject({ ok: true })
    expect(await sock.place(11, 10, 1, id)).toEqual({ ok: false, error: 'bad-request', message: PLACEMENT_ID_REUSED })
    expect(await sock.place(10, 10, 2, id)).toEqual({ ok: false, error: 'bad-request', message: PLACEMENT_ID_REUSED })
    const http = await placeHttp(relay.url, token, { x: 10, y: 11, color: 1, id }, 'free')
    expect(http.status).toBe(400)
    expect(http.body).toMatchObject({ ok: false, error: 'bad-request', message: PLACEMENT_ID_REUSED })
    expect(await sock.place(12, 10, 1, 'not an id!')).toMatchObject({ ok: false, error: 'bad-request' })
    expect(await sock.place(12, 10, 1, 'x'.repeat(65))).toMatchObject({ ok: false, error: 'bad-request' })
    expect(await tileHistory(relay.url, 'free', 11, 10)).toHaveLength(0)
    expect(await tileHistory(relay.url, 'free', 12, 10)).toHaveLength(0)
    expect(sock.closed()).toBeNull()
    sock.close()
  })

  it('answers a retried refusal with the same refusal, and keeps ids apart per identity', async () => {
    const a = await newSession(relay.url)
    const b = await newSession(relay.url)
    const sock = await openRaw(`${relay.wsBase}/free?token=${a.token}`)
    const id = freshId()
    const refused = await sock.place(20, 20, 99, id)
    expect(refused).toMatchObject({ ok: false, error: 'bad-color' })
    expect(await sock.place(20, 20, 99, id)).toEqual(refused)
    // Another identity's same id is its own placement.
    const other = await openRaw(`${relay.wsBase}/free?token=${b.token}`)
    expect(await other.place(21, 20, 1, id)).toMatchObject({ ok: true })
    expect(await sock.place(21, 20, 1, freshId())).toMatchObject({ ok: true })
    expect(await tileHistory(relay.url, 'free', 21, 20)).toHaveLength(2)
    sock.close()
    other.close()
  })
})

describe('a retried placement over HTTP', () => {
  it('is answered with the first outcome, placed once; header and body must agree', async () => {
    const { token } = await newSession(relay.url)
    const id = freshId()
    const first = await placeHttp(relay.url, token, { x: 30, y: 30, color: 4 }, 'main', { [IDEMPOTENCY_HEADER]: id })
    expect(first.status).toBe(200)
    const retry = await placeHttp(relay.url, token, { x: 30, y: 30, color: 4 }, 'main', { [IDEMPOTENCY_HEADER]: id })
    expect(retry.status).toBe(200)
    expect(retry.body).toEqual(first.body)
    // The IETF draft's spelling, a quoted string, names the same id.
    const quoted = await placeHttp(relay.url, token, { x: 30, y: 30, color: 4 }, 'main', { [IDEMPOTENCY_HEADER]: `"${id}"` })
    expect(quoted.body).toEqual(first.body)
    const clash = await placeHttp(relay.url, token, { x: 30, y: 30, color: 4, id: freshId() }, 'main', { [IDEMPOTENCY_HEADER]: id })
    expect(clash.status).toBe(400)
    expect(clash.body).toMatchObject({ ok: false, error: 'bad-request' })
    expect(await tileHistory(relay.url, 'main', 30, 30)).toHaveLength(1)
    // Browsers may send the header cross-origin.
    const preflight = await fetch(`${relay.url}/api/boards/main/place`, { method: 'OPTIONS' })
    expect(preflight.headers.get('access-control-allow-headers')).toContain(IDEMPOTENCY_HEADER)
  })
})

describe('a retry after kill -9', () => {
  it('gets the first outcome from the restarted relay, and the tile holds one placement', async () => {
    const tmp = makeTmpDir('tessera-idem-')
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ boards: [{ id: 'main', width: 64, height: 64, cooldownMs: 300_000 }] }))
    let child = await startChildRelay(tmp.dir)
    try {
      const { token, user } = await newSession(child.url)
      const id = freshId()
      const sock = await openRaw(`${child.wsBase}/main?token=${token}`)
      const first = await sock.place(7, 8, 9, id)
      expect(first).toMatchObject({ ok: true })
      // The acknowledgement arrived; the client behaves as if it had not (its socket dropped).
      child.child.kill('SIGKILL')
      await child.exited
      child = await startChildRelay(tmp.dir)
      const retry = await openRaw(`${child.wsBase}/main?token=${token}`)
      expect(await retry.place(7, 8, 9, id)).toEqual(first)
      const byHttp = await placeHttp(child.url, token, { x: 7, y: 8, color: 9 }, 'main', { [IDEMPOTENCY_HEADER]: id })
      expect(byHttp.body).toEqual(first)
      // Another tile under the same id is still refused; a new id meets the cooldown.
      expect(await retry.place(7, 9, 9, id)).toMatchObject({ ok: false, error: 'bad-request', message: PLACEMENT_ID_REUSED })
      expect(await retry.place(7, 9, 9, freshId())).toMatchObject({ ok: false, error: 'cooldown' })
      retry.close()
      const history = await tileHistory(child.url, 'main', 7, 8)
      expect(history).toHaveLength(1)
      expect(history[0]).toMatchObject({ user, placedAt: (first as { placedAt: number }).placedAt })
    } finally {
      child.child.kill('SIGKILL')
      await child.exited
      tmp.remove()
    }
  })
})
