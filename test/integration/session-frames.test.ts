/**
 * The Session frame follows what the relay will answer a Place: an identity's other tabs hear
 * that its cooldown started when one tab places, and every open socket of a banned identity (or
 * address) hears the ban, and its end, at once.
 */
import * as decoding from 'lib0/decoding'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeSession, readSession } from '../../shared/frames.ts'
import { MessageType } from '../../shared/protocol.ts'
import { adminCall } from '../helpers/admin.ts'
import { newSession, openRaw, type RawSocket } from '../helpers/clients.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'test-admin-token-0123456789'

const sessions = (sock: RawSocket) =>
  sock.frames.flatMap((f) => {
    const dec = decoding.createDecoder(f)
    return decoding.readVarUint(dec) === MessageType.Session ? [readSession(dec)] : []
  })

let relay: TestRelay
beforeAll(async () => {
  relay = await startTestRelay({
    boards: [{ id: 'main', width: 50, height: 50, cooldownMs: 60_000 }],
    env: { ADMIN_TOKEN: ADMIN },
  })
})
afterAll(() => relay.stop())

describe('Session frames', () => {
  it('reads a frame of the first layout (no ban field) as not banned', () => {
    const first = new Uint8Array([MessageType.Session, 1, 0x61, 5])
    const dec = decoding.createDecoder(first)
    decoding.readVarUint(dec)
    expect(readSession(dec)).toEqual({ user: 'a', nextPlaceAt: 5, banned: null })
    const withBan = decoding.createDecoder(encodeSession('a', 5, 'spam'))
    decoding.readVarUint(withBan)
    expect(readSession(withBan)).toEqual({ user: 'a', nextPlaceAt: 5, banned: 'spam' })
  })

  it("tells an identity's other tabs that its cooldown started, and nobody else", async () => {
    const me = await newSession(relay.url)
    const other = await newSession(relay.url)
    const tabA = await openRaw(`${relay.wsBase}/main?tessera=1&live=tiles&token=${me.token}`)
    const tabB = await openRaw(`${relay.wsBase}/main?tessera=1&live=tiles&token=${me.token}`)
    const stranger = await openRaw(`${relay.wsBase}/main?tessera=1&live=tiles&token=${other.token}`)
    try {
      for (const s of [tabA, tabB, stranger]) await waitFor(() => sessions(s).length === 1, { what: 'the first Session frame' })
      expect(sessions(tabB)[0]).toEqual({ user: me.user, nextPlaceAt: 0, banned: null })
      const placed = await tabA.place(3, 3, 2)
      if (!placed.ok) throw new Error(placed.error)
      const heard = await waitFor(() => sessions(tabB)[1], { what: 'the second tab hearing of the placement' })
      expect(heard).toEqual({ user: me.user, nextPlaceAt: placed.nextPlaceAt, banned: null })
      // Its Place would be refused with cooldown: exactly what the frame said.
      const refused = await tabB.place(4, 4, 2)
      expect(refused).toMatchObject({ ok: false, error: 'cooldown' })
      expect(sessions(stranger)).toHaveLength(1)
    } finally {
      for (const s of [tabA, tabB, stranger]) s.close()
    }
  })

  it('tells the open sockets of a banned identity at once, and again when the ban ends', async () => {
    const me = await newSession(relay.url)
    const tab = await openRaw(`${relay.wsBase}/main?tessera=1&live=tiles&token=${me.token}`)
    try {
      await waitFor(() => sessions(tab).length === 1, { what: 'the first Session frame' })
      expect((await adminCall(relay.url, ADMIN, 'POST', '/bans', { user: me.user, reason: 'spam' })).status).toBe(200)
      expect(await waitFor(() => sessions(tab)[1], { what: 'the ban' })).toMatchObject({ user: me.user, banned: 'spam' })
      expect(await tab.place(5, 5, 1)).toMatchObject({ ok: false, error: 'banned' })
      // A socket opened while banned hears it in its first frame.
      const late = await openRaw(`${relay.wsBase}/main?tessera=1&live=tiles&token=${me.token}`)
      expect(await waitFor(() => sessions(late)[0], { what: 'the first Session frame' })).toMatchObject({ banned: 'spam' })
      late.close()
      expect((await adminCall(relay.url, ADMIN, 'DELETE', `/bans/user/${me.user}`)).status).toBe(200)
      expect(await waitFor(() => sessions(tab)[2], { what: 'the unban' })).toMatchObject({ user: me.user, banned: null })
    } finally {
      tab.close()
    }
  })
})
