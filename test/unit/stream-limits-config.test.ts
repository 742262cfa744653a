/** relay/config.ts: the bounds of each board's NATS stream (NATS_STREAM_MAX_AGE_MS, NATS_STREAM_MAX_BYTES). */
import { describe, expect, it } from 'vitest'
import { parseRelayConfig } from '../../relay/config.ts'

const nats = { NATS_URL: 'nats://127.0.0.1:4222' }

describe('stream limits', () => {
  it('default to 3 days and 1 GiB', () => {
    expect(parseRelayConfig(nats).nats).toMatchObject({ streamMaxAgeMs: 259_200_000, streamMaxBytes: 1_073_741_824 })
  })

  it('take 0 as no limit, and refuse a byte limit too small for a few States', () => {
    expect(parseRelayConfig({ ...nats, NATS_STREAM_MAX_AGE_MS: '0', NATS_STREAM_MAX_BYTES: '0' }).nats).toMatchObject({
      streamMaxAgeMs: 0,
      streamMaxBytes: 0,
    })
    expect(parseRelayConfig({ ...nats, NATS_STREAM_MAX_BYTES: String(16 * 1024 * 1024) }).nats?.streamMaxBytes).toBe(16_777_216)
    expect(() => parseRelayConfig({ ...nats, NATS_STREAM_MAX_BYTES: '1000000' })).toThrow(/NATS_STREAM_MAX_BYTES/)
    expect(() => parseRelayConfig({ ...nats, NATS_STREAM_MAX_AGE_MS: '-1' })).toThrow(/NATS_STREAM_MAX_AGE_MS/)
  })
})
