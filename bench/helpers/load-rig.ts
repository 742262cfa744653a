/** A relay process with a viewer generator and a placer generator connected to it. */
import { type Child, startChild } from './child.ts'
import { mintTokens, type RelayProcess, spawnRelay } from './relay-process.ts'

export type LoadRig = { relay: RelayProcess; viewers: Child; placers: Child }

/**
 * Spawns a relay (with extra env), opens `viewers` viewer sockets and `placers` placer sockets
 * (one identity each), runs `fn`, and stops everything whatever happens.
 */
export const withLoadRig = async <T>(
  opts: { viewers: number; placers: number; env?: Record<string, string> },
  fn: (rig: LoadRig) => Promise<T>,
): Promise<T> => {
  const relay = await spawnRelay(opts.env ? { env: opts.env } : {})
  const viewers = await startChild('load/viewers.ts')
  const placers = await startChild('load/placers.ts')
  try {
    const tokens = await mintTokens(relay.url, opts.placers)
    await viewers.call('open', { port: relay.port, n: opts.viewers })
    await placers.call('open', { port: relay.port, tokens })
    return await fn({ relay, viewers, placers })
  } finally {
    await Promise.all([viewers.stop(), placers.stop()])
    await relay.stop()
  }
}
