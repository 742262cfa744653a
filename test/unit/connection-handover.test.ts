/**
 * The connection's hand-over (client/sync/connection.ts handOver): a live page that just got an
 * identity opens a socket presenting it while the page keeps hearing 'live'; if that socket is
 * not live within the heartbeat deadline, the page hears that the connection is lost. A fake
 * WebSocket and fake timers; the board sync is the real one.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createBoardState } from '../../client/sync/board-state.ts'
import { createBoardSync } from '../../client/sync/board-sync.ts'
import { type ConnectionStatus, createConnection } from '../../client/sync/connection.ts'
import { HEARTBEAT } from '../../client/sync/heartbeat.ts'
import { encodeTiles } from '../../shared/frames.ts'

type Fake = {
  url: string
  readyState: number
  binaryType: string
  sent: Uint8Array[]
  onopen: (() => void) | null
  onmessage: ((ev: { data: ArrayBuffer }) => void) | null
  onclose: ((ev: { code: number; reason: string }) => void) | null
  onerror: (() => void) | null
  send: (b: Uint8Array) => void
  close: () => void
}
let made: Fake[] = []
function FakeWebSocket(this: Fake, url: string) {
  this.url = url
  this.readyState = 0
  this.binaryType = ''
  this.sent = []
  this.onopen = this.onmessage = this.onclose = this.onerror = null
  this.send = (b) => this.sent.push(b)
  this.close = () => {
    this.readyState = 3
  }
  made.push(this)
}
const open = (s: Fake) => {
  s.readyState = 1
  s.onopen?.()
}
const receive = (s: Fake, frame: Uint8Array) => s.onmessage?.({ data: frame.slice().buffer })

const board = { id: 'b', width: 4, height: 4, palette: ['#ffffff', '#000000'], shardSize: 4, cooldownMs: 0, locked: false }

const connect = () => {
  const statuses: ConnectionStatus[] = []
  const sync = createBoardSync(createBoardState({ board, version: 1 }), { kind: 'since', cursor: 0 })
  const conn = createConnection(
    'ws://relay.test/ws',
    'b',
    sync,
    { onStatus: (s) => statuses.push(s) },
    {
      WebSocket: FakeWebSocket as unknown as typeof WebSocket,
      now: () => Date.now(),
      online: () => true,
      onNetwork: () => () => {},
    },
  )
  return { conn, statuses }
}

describe('hand-over to a socket with an identity', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    made = []
  })
  afterEach(() => vi.useRealTimers())

  it('stays live for the page while the new socket resumes, and closes the old one', () => {
    const { conn, statuses } = connect()
    open(made[0] as Fake)
    receive(made[0] as Fake, encodeTiles(1, []))
    expect(conn.status()).toBe('live')
    conn.handOver()
    expect(made).toHaveLength(2)
    expect(made[0]?.readyState).toBe(3)
    expect(made[1]?.url).toContain('since=0')
    open(made[1] as Fake)
    receive(made[1] as Fake, encodeTiles(1, []))
    // Past the hand-over's deadline, the new socket answering (a frame every 500 ms).
    for (let t = 0; t < HEARTBEAT.deadlineMs * 2; t += 500) {
      vi.advanceTimersByTime(500)
      receive(made[1] as Fake, encodeTiles(1, []))
    }
    expect(statuses.filter((s) => s !== 'connecting' && s !== 'syncing')).toEqual(['live'])
    expect(conn.status()).toBe('live')
    conn.destroy()
  })

  it('tells the page the connection is lost when the new socket does not become live in time', () => {
    const { conn, statuses } = connect()
    open(made[0] as Fake)
    receive(made[0] as Fake, encodeTiles(1, []))
    conn.handOver()
    vi.advanceTimersByTime(HEARTBEAT.deadlineMs - 1000)
    expect(conn.status()).toBe('live')
    vi.advanceTimersByTime(2000)
    expect(conn.status()).toBe('reconnecting')
    expect(statuses.at(-1)).toBe('reconnecting')
    conn.destroy()
  })

  it('tells the page at once when the new socket is closed by the relay', () => {
    const { conn, statuses } = connect()
    open(made[0] as Fake)
    receive(made[0] as Fake, encodeTiles(1, []))
    conn.handOver()
    const next = made[1] as Fake
    next.readyState = 3
    next.onclose?.({ code: 1006, reason: '' })
    expect(conn.status()).toBe('reconnecting')
    expect(statuses.at(-1)).toBe('reconnecting')
    conn.destroy()
  })
})
