/** A relay process with a viewer generator and a placer generator connected to it. */
import { LiveMode } from '../../shared/protocol.ts'
import { type Child, startChild } from './child.ts'
import { mintTokens, type RelayProcess, spawnRelay } from './relay-process.ts'

export type LoadRig = { relay: RelayProcess; viewers: Child; placers: Child }

/**
 * Spawns a relay (with extra env), opens `viewers` viewer sockets and `placers` placer sockets
 * (one identity each; all in `live` mode, tiles unless given), runs `fn`, and stops everything whatever happens.
 */
export const withLoadRig = async <T>(
  opts: { viewers: number; placers: number; env?: Record<string, string>; live?: LiveMode },
  fn: (rig: LoadRig) => Promise<T>,
): Promise<T> => {
  const relay = await spawnRelay(opts.env ? { env: opts.env } : {})
  const viewers = await startChild('load/viewers.ts')
  const placers = await startChild('load/placers.ts')
  try {
    const tokens = await mintTokens(relay.url, opts.placers)
    const live = opts.live ?? LiveMode.Tiles
    await viewers.call('open', { port: relay.port, n: opts.viewers, live })
    await placers.call('open', { port: relay.port, tokens, live })
    return await fn({ relay, viewers, placers })
  } finally {
    await Promise.all([viewers.stop(), placers.stop()])
    await relay.stop()
  }
}
