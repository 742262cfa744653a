/** Starts a real relay in this process on port 0 with a temporary (or given) DATA_DIR. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseRelayConfig } from '../../relay/config.ts'
import { type Relay, type RelayOptions, startRelay } from '../../relay/relay.ts'
import { makeTmpDir } from './tmp-dir.ts'

/**
 * Every test client connects from 127.0.0.1, so the per-address placement limits (20/s, and 20
 * per board cooldown, by default) would throttle tests that place fast, and the default proof of
 * work (18 bits, ~0.5 s an identity) would slow tests that make many identities, and tests that
 * poll a tile (waitFor, every 10 ms) would meet the tile-read limit, and suites of many admin calls
 * the admin-call limit:
 * test/integration/limits.test.ts, address-budget.test.ts, session.test.ts and
 * request-limit.test.ts test those at their defaults or below. The helpers still solve the
 * (4-bit) proof of work.
 */
export const TEST_LIMITS = {
  IP_PLACEMENTS_PER_SECOND: '1000000',
  IP_PLACEMENT_BURST: '1000000',
  TILE_READS_PER_IP_PER_SECOND: '1000000',
  ADMIN_CALLS_PER_IP_PER_SECOND: '1000000',
  IP_PLACEMENTS_PER_COOLDOWN: '0',
  SESSION_POW_BITS: '4',
}

export type TestRelay = Relay & {
  dataDir: string
  /** ws://127.0.0.1:port/ws: the serverUrl for y-websocket's provider. */
  wsBase: string
  /** Closes the relay and removes the data directory (unless it was given). */
  stop: () => Promise<void>
}

export const startTestRelay = async (
  opts: {
    env?: Record<string, string>
    boards?: Record<string, unknown>[]
    /** More fields of config.json beside `boards` (written only with `boards`): `embedSites`, say. */
    configJson?: Record<string, unknown>
    dataDir?: string
  } & RelayOptions = {},
): Promise<TestRelay> => {
  const tmp = opts.dataDir ? null : makeTmpDir('tessera-relay-')
  const dataDir = opts.dataDir ?? (tmp as { dir: string }).dir
  if (opts.boards) writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ ...opts.configJson, boards: opts.boards }))
  const config = parseRelayConfig({ HOST: '127.0.0.1', PORT: '0', STATIC_DIR: '', DATA_DIR: dataDir, ...TEST_LIMITS, ...opts.env })
  const relay = await startRelay(config, opts)
  return {
    ...relay,
    dataDir,
    wsBase: `ws://127.0.0.1:${relay.port}/ws`,
    stop: async () => {
      await relay.close()
      tmp?.remove()
    },
  }
}
