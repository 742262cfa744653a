/** What the Place button says (client/ui/place-button-model.ts): which fact wins over which. */
import { describe, expect, it } from 'vitest'
import { type PlaceButtonFacts, placeButtonModel } from '../../client/ui/place-button-model.ts'

const ready: PlaceButtonFacts = {
  pending: false,
  identityPending: false,
  readOnly: false,
  banned: null,
  locked: false,
  remainingMs: 0,
  cooldownMs: 300_000,
  status: 'live',
  selected: true,
  color: '#e50000',
}

describe('placeButtonModel', () => {
  it('offers a placement when live, identified, free and with a tile selected', () => {
    expect(placeButtonModel(ready)).toEqual({ kind: 'ready', color: '#e50000' })
    expect(placeButtonModel({ ...ready, selected: false })).toEqual({ kind: 'no-selection' })
  })

  it('puts a placement in flight first, then the identity, read-only, a ban, a lock and the cooldown, in that order', () => {
    const all = { ...ready, pending: true, identityPending: true, readOnly: true, banned: 'spam', locked: true, remainingMs: 5_000 }
    expect(placeButtonModel(all).kind).toBe('pending')
    expect(placeButtonModel({ ...all, pending: false }).kind).toBe('identity')
    expect(placeButtonModel({ ...all, pending: false, identityPending: false }).kind).toBe('read-only')
    expect(placeButtonModel({ ...all, pending: false, identityPending: false, readOnly: false })).toEqual({
      kind: 'banned',
      reason: 'spam',
    })
    expect(placeButtonModel({ ...ready, locked: true, remainingMs: 5_000 }).kind).toBe('locked')
    expect(placeButtonModel({ ...ready, remainingMs: 5_000 })).toEqual({ kind: 'cooldown', remainingMs: 5_000, totalMs: 300_000 })
  })

  it('queues a selected tile while not live, says offline without one, and never queues for a page refused for good', () => {
    expect(placeButtonModel({ ...ready, status: 'reconnecting' })).toEqual({ kind: 'queue', color: '#e50000' })
    expect(placeButtonModel({ ...ready, status: 'offline', selected: false })).toEqual({ kind: 'offline', noNetwork: true })
    expect(placeButtonModel({ ...ready, status: 'connecting', selected: false })).toEqual({ kind: 'offline', noNetwork: false })
    expect(placeButtonModel({ ...ready, status: 'closed' })).toEqual({ kind: 'offline', noNetwork: false })
    // The identity being made is not what a page that is not live is waiting for.
    expect(placeButtonModel({ ...ready, status: 'offline', identityPending: true }).kind).toBe('queue')
    // A running cooldown shows while reconnecting.
    expect(placeButtonModel({ ...ready, status: 'reconnecting', remainingMs: 1 }).kind).toBe('cooldown')
  })
})
