/**
 * The page's identity (client/sync/identity-keeper.ts) against a real relay's session API: a
 * first visit's identity is made only once live and handed to the connection; a refused token
 * gets one fresh identity and a reconnect, never a second; Session frames set the read-only and
 * ban state; a returning page renews at once. The connection is a recorder of the two calls the
 * keeper makes (reconnect, handOver): the keeper opens no socket itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Connection } from '../../client/sync/connection.ts'
import { createIdentityKeeper, SESSION_KEY } from '../../client/sync/identity-keeper.ts'
import { memoryStorage } from '../helpers/memory-storage.ts'
import { startTestRelay, type TestRelay } from '../helpers/start-relay.ts'
import { waitFor } from '../helpers/wait-for.ts'

let relay: TestRelay
beforeAll(async () => {
  relay = await startTestRelay()
})
afterAll(async () => {
  await relay?.stop()
})

const keeperOn = (storage: Storage) => {
  const calls: string[] = []
  const connection = { reconnect: () => calls.push('reconnect'), handOver: () => calls.push('handOver') } as unknown as Connection
  let changed = 0
  const keeper = createIdentityKeeper({ origin: relay.url, storage, connection: () => connection, changed: () => changed++ })
  return { keeper, calls, changed: () => changed }
}

describe('identity keeper', () => {
  it('makes a first visit identity once live, hands it over, and takes Session frames', async () => {
    const storage = memoryStorage()
    const { keeper, calls, changed } = keeperOn(storage)
    expect(keeper.pending()).toBe(true)
    expect(keeper.me()).toBe('')
    // Anonymous while the identity is being made: not read-only.
    keeper.sessionFrame({ user: '', banned: null })
    expect(keeper.readOnly()).toBe(false)
    keeper.live()
    await waitFor(() => !keeper.pending(), { what: 'the identity made' })
    expect(keeper.me()).not.toBe('')
    expect(calls).toEqual(['handOver'])
    expect(changed()).toBe(1)
    expect(Number(storage.getItem(SESSION_KEY))).toBeGreaterThan(Date.now())
    // Live again (a reconnect): no second identity.
    keeper.live()
    expect(calls).toEqual(['handOver'])

    keeper.sessionFrame({ user: keeper.me(), banned: 'spam' })
    expect(keeper.banned()).toBe('spam')
    keeper.sessionFrame({ user: keeper.me(), banned: null })
    expect(keeper.banned()).toBeNull()
    // A socket that presents no identity once one was made: read-only.
    keeper.sessionFrame({ user: '', banned: null })
    expect(keeper.readOnly()).toBe(true)
  })

  it('asks for one fresh identity when the token is refused, then reconnects; a second refusal asks nothing', async () => {
    const storage = memoryStorage()
    const { keeper, calls } = keeperOn(storage)
    keeper.live()
    await waitFor(() => !keeper.pending(), { what: 'the identity made' })
    const first = keeper.me()
    keeper.refused()
    expect(storage.getItem(SESSION_KEY)).toBeNull()
    await waitFor(() => calls.includes('reconnect'), { what: 'the reconnect with a fresh identity' })
    expect(keeper.me()).not.toBe(first)
    keeper.refused()
    // The second refusal forgets nothing: the fresh identity's expiry stays.
    expect(Number(storage.getItem(SESSION_KEY))).toBeGreaterThan(Date.now())
  })

  it('renews a returning identity at once, without waiting to be live', async () => {
    const storage = memoryStorage()
    storage.setItem(SESSION_KEY, String(Date.now() + 3_600_000))
    const { keeper, calls } = keeperOn(storage)
    expect(keeper.pending()).toBe(false)
    // (No cookie in this process: the relay answers with a challenge, which the keeper solves.)
    await waitFor(() => keeper.me() !== '', { what: 'the renewed identity' })
    expect(calls).toEqual([])
  })
})
