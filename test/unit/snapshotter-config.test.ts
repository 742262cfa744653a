/** snapshotter/config.ts: the stream option (SNAPSHOT_NATS_URL, --nats) and its default (follow the relay's socket). */
import { describe, expect, it } from 'vitest'
import { parseSnapshotterConfig, snapshotterFlagsToEnv } from '../../snapshotter/config.ts'

describe('snapshotter config', () => {
  it('follows the relay socket unless SNAPSHOT_NATS_URL is set (NATS_URL alone does not switch it)', () => {
    expect(parseSnapshotterConfig({}, '/tmp').natsUrl).toBeNull()
    expect(parseSnapshotterConfig({ NATS_URL: 'nats://127.0.0.1:4222' }, '/tmp').natsUrl).toBeNull()
    expect(parseSnapshotterConfig({ SNAPSHOT_NATS_URL: 'nats://10.0.0.2:4222' }, '/tmp').natsUrl).toBe('nats://10.0.0.2:4222')
  })

  it('takes --nats as SNAPSHOT_NATS_URL', () => {
    const env = snapshotterFlagsToEnv(['--nats', 'nats://127.0.0.1:4333', '--board', 'main'])
    expect(env.SNAPSHOT_NATS_URL).toBe('nats://127.0.0.1:4333')
    expect(parseSnapshotterConfig(env, '/tmp').natsUrl).toBe('nats://127.0.0.1:4333')
  })
})
