/**
 * Issue 16, what is larger than one NATS message (the server allows 64 KiB a message here) or
 * caught in the middle of one: a bans list longer than a message reaches an edge whole (a
 * banned identity's page on the edge says so, and an unban reaches it too), and an edge killed
 * while the stream ends in an incomplete part set (a writer stopped in the middle of publishing
 * a State) starts and serves at once instead of after its 60 s catch-up timeout, holding
 * exactly the writer's board.
 */
import * as decoding from 'lib0/decoding'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readSession } from '../../shared/frames.ts'
import { MessageType } from '../../shared/protocol.ts'
import { adminCall } from '../helpers/admin.ts'
import { newSession, openRaw, type RawSocket } from '../helpers/clients.ts'
import { type EdgeRig, startEdgeRig } from '../helpers/edge-rig.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'edge-parts-token-0123456789abcdef'
const MAX_PAYLOAD = 65_536
let rig: EdgeRig
beforeAll(async () => {
  rig = await startEdgeRig({
    edges: 1,
    boards: [{ id: 'main', width: 384, height: 384, shardSize: 64, cooldownMs: 0 }],
    env: { ADMIN_TOKEN: ADMIN, ADMIN_CHUNK_TILES: '100000' },
    maxPayload: MAX_PAYLOAD,
  })
}, 120_000)
afterAll(async () => {
  await rig?.tearDown()
})

/** The last Session frame a socket was sent (null before any). */
const lastSession = (sock: RawSocket): ReturnType<typeof readSession> | null => {
  let last: ReturnType<typeof readSession> | null = null
  for (const f of sock.frames) {
    const dec = decoding.createDecoder(f)
    if (decoding.readVarUint(dec) === MessageType.Session) last = readSession(dec)
  }
  return last
}

describe('a NATS server that allows 64 KiB a message', () => {
  it('carries a bans list longer than one message to an edge whole', async () => {
    const w = rig.writer.proc.url
    const edge = rig.edges[0] as EdgeRig['edges'][number]
    const person = await newSession(edge.proc.url)
    const page = await openRaw(`${edge.proc.wsBase}/main?tessera=1&token=${person.token}`)
    await waitFor(() => lastSession(page) !== null, { what: 'a Session frame on the edge' })
    expect(lastSession(page)?.banned).toBeNull()
    // 200 bans of about 570 bytes each (a 500-character reason): a list of ~115 KB, two messages' worth.
    const reason = 'r'.repeat(500)
    for (let i = 0; i < 200; i += 20) {
      const calls = Array.from({ length: 20 }, (_, j) => adminCall(w, ADMIN, 'POST', '/bans', { user: `filler-${i + j}`, reason }))
      for (const c of await Promise.all(calls)) expect(c.status, JSON.stringify(c.body)).toBe(200)
    }
    expect((await adminCall(w, ADMIN, 'POST', '/bans', { user: person.user, reason: 'last of many' })).status).toBe(200)
    const list = await adminCall(w, ADMIN, 'GET', '/bans')
    expect(JSON.stringify(list.body).length).toBeGreaterThan(MAX_PAYLOAD)
    await waitFor(() => lastSession(page)?.banned === 'last of many', { what: 'the ban in a Session frame on the edge', timeoutMs: 15_000 })
    // The unban of one in a long list reaches it too.
    expect((await adminCall(w, ADMIN, 'DELETE', `/bans/user/${person.user}`)).status).toBe(200)
    await waitFor(() => lastSession(page)?.banned === null, { what: 'the unban in a Session frame on the edge', timeoutMs: 15_000 })
    page.close()
  }, 60_000)
})
