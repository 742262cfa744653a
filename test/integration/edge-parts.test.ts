/**
 * Issue 16, what is larger than one NATS message (the server allows 64 KiB a message here) or
 * caught in the middle of one: a bans list longer than a message reaches an edge whole (a
 * banned identity's page on the edge says so, and an unban reaches it too), and an edge killed
 * while the stream ends in an incomplete part set (a writer stopped in the middle of publishing
 * a State) starts and serves at once instead of after its 60 s catch-up timeout, holding
 * exactly the writer's board.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { readBoardBitmap } from '../../shared/doc-schema.ts'
import { CLOCK_HEADER, CommitKind, encodeCommitMessage, SEQ_HEADER } from '../../shared/stream-messages.ts'
import { PART_HEADROOM_BYTES, splitMessage } from '../../shared/stream-parts.ts'
import { adminCall } from '../helpers/admin.ts'
import { sameBytes } from '../helpers/bytes.ts'
import { connectProvider, lastSession, newSession, openRaw, placeHttp } from '../helpers/clients.ts'
import { type EdgeRig, SMALL_PAYLOAD, SMALL_SIDE, startSmallMessageRig } from '../helpers/edge-rig.ts'
import { lookAtStream } from '../helpers/stream-reader.ts'
import { waitFor } from '../helpers/wait-for.ts'

const ADMIN = 'edge-parts-token-0123456789abcdef'
const W = SMALL_SIDE
const H = SMALL_SIDE
const MAX_PAYLOAD = SMALL_PAYLOAD
let rig: EdgeRig
beforeAll(async () => {
  rig = await startSmallMessageRig(1, ADMIN)
}, 120_000)
afterAll(async () => {
  await rig?.tearDown()
})

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

  it('restarts an edge killed while the stream ends in an incomplete State part set, at once, holding the writer board', async () => {
    const w = rig.writer.proc
    const edge = rig.edges[0] as EdgeRig['edges'][number]
    // A board full of tiles: a document of well over 64 KiB, whose State goes in several parts.
    expect((await adminCall(w.url, ADMIN, 'POST', '/boards/main/fill', { x: 0, y: 0, w: W, h: H, color: 5 })).status).toBe(200)
    const ref = await connectProvider(w.wsBase)
    const look = await lookAtStream(rig.nats.url, 'main')
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === String(W * H), { what: 'the fill in the stream' })

    await edge.kill()
    // Placed while the edge is down: it has these to catch up on when it starts again.
    const { token } = await newSession(w.url)
    for (let i = 0; i < 20; i++) expect((await placeHttp(w.url, token, { x: i, y: 7, color: 1 + (i % 4) })).status).toBe(200)
    const lastSeq = String(W * H + 20)
    await waitFor(async () => (await look.lastHeader(SEQ_HEADER)) === lastSeq, { what: 'the placements in the stream' })
    // The first half of a State's parts, as a writer killed in the middle of publishing it leaves
    // them: each part's headers say what the stream held whole before the set.
    await waitFor(() => readBoardBitmap(ref.doc, W, H)[7 * W + 19] === 4, { what: 'the last placement in the writer document' })
    const clock = (await look.lastHeader(CLOCK_HEADER)) as string
    const state = encodeCommitMessage({ kind: CommitKind.State, docSeq: W * H + 20, records: [], update: Y.encodeStateAsUpdate(ref.doc) })
    const parts = splitMessage(state, MAX_PAYLOAD - PART_HEADROOM_BYTES, 'stopped:1') as Uint8Array[]
    expect(parts.length).toBeGreaterThanOrEqual(3)
    for (const p of parts.slice(0, Math.ceil(parts.length / 2))) await look.append(p, { [SEQ_HEADER]: lastSeq, [CLOCK_HEADER]: clock })

    // Before: the edge waited its 60 s catch-up for the rest of the set before serving (and
    // startChildRelay gives up after 30 s). Now it serves once what precedes the set is applied.
    const restarted = await edge.restart()
    const onEdge = await connectProvider(restarted.wsBase)
    await waitFor(() => sameBytes(Y.encodeStateVector(onEdge.doc), Y.encodeStateVector(ref.doc)), {
      what: 'the restarted edge document',
      timeoutMs: 20_000,
    })
    expect(sameBytes(readBoardBitmap(onEdge.doc, W, H), readBoardBitmap(ref.doc, W, H))).toBe(true)
    // The next commit interrupts the incomplete set (dropped, never applied in part) and is applied.
    expect((await placeHttp(w.url, token, { x: 100, y: 100, color: 9 })).status).toBe(200)
    await waitFor(() => sameBytes(Y.encodeStateVector(onEdge.doc), Y.encodeStateVector(ref.doc)), {
      what: 'the next placement on the edge',
      timeoutMs: 20_000,
    })
    expect(sameBytes(readBoardBitmap(onEdge.doc, W, H), readBoardBitmap(ref.doc, W, H))).toBe(true)
    // Parts whose set's first part is not in the stream (orphans: no writer leaves those, but a
    // damaged stream could): the edge cannot tell what they hold and asks for a State at once.
    const orphans = (splitMessage(state, MAX_PAYLOAD - PART_HEADROOM_BYTES, 'orphan:1') as Uint8Array[]).slice(1, 3)
    const seqHeaders = { [SEQ_HEADER]: String(W * H + 21), [CLOCK_HEADER]: (await look.lastHeader(CLOCK_HEADER)) as string }
    let orphanSeq = 0
    for (const p of orphans) orphanSeq = await look.append(p, seqHeaders)
    await waitFor(async () => (await look.bounds()).last > orphanSeq, { what: 'a State the edge asked for', timeoutMs: 20_000 })
    expect((await placeHttp(w.url, token, { x: 101, y: 100, color: 10 })).status).toBe(200)
    await waitFor(() => sameBytes(Y.encodeStateVector(onEdge.doc), Y.encodeStateVector(ref.doc)), {
      what: 'the edge after the orphan parts',
      timeoutMs: 20_000,
    })
    for (const c of [ref, onEdge]) c.close()
    await look.close()
  }, 90_000)
})
