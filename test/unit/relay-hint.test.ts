/**
 * The hints the app page leaves for the relay (client/sync/relay-hint.ts): a cookie on the relay's
 * own page, with the attributes the relay's next page load needs; nothing from a page of another
 * origin. document.cookie is a stand-in that records what is written.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { leaveRelayHint } from '../../client/sync/relay-hint.ts'
import { KEPT_COOKIE_PREFIX, KEPT_IMAGE_COOKIE_PREFIX } from '../../shared/protocol.ts'

const written: string[] = []
const g = globalThis as unknown as { document?: unknown }
const withDocument = () => {
  g.document = {
    set cookie(v: string) {
      written.push(v)
    },
  }
}

afterEach(() => {
  delete g.document
  written.length = 0
})

describe('leaveRelayHint', () => {
  it('sets a year-long, site-wide, lax cookie on the relay’s own page', () => {
    withDocument()
    leaveRelayHint('', `${KEPT_COOKIE_PREFIX}main`)
    leaveRelayHint('', `${KEPT_IMAGE_COOKIE_PREFIX}main`)
    expect(written).toEqual([
      'tessera_kept_main=1; Path=/; Max-Age=31536000; SameSite=Lax',
      'tessera_kept_image_main=1; Path=/; Max-Age=31536000; SameSite=Lax',
    ])
  })

  it('sets nothing from a page of another origin than the relay’s', () => {
    withDocument()
    leaveRelayHint('https://place.example', `${KEPT_COOKIE_PREFIX}main`)
    expect(written).toEqual([])
  })
})
