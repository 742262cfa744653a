/**
 * A scaled-out Tessera for tests (issue 16): a real nats-server with JetStream, one writer relay
 * and edge relays, each relay a child process (so that a test can kill -9 it) with its own
 * DATA_DIR; the edges get the writer's identity secret (RELAY_SECRET) as an operator would give it.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type ChildRelay, startChildRelay } from './child-relay.ts'
import { startNats, type TestNats } from './nats-server.ts'
import { makeTmpDir } from './tmp-dir.ts'

export type RigRelay = {
  name: string
  dataDir: string
  /** The process running now (replaced by `restart`). */
  proc: ChildRelay
  /** SIGKILL, and wait for the exit. */
  kill: () => Promise<void>
  /** Starts it again on its DATA_DIR (a new port). */
  restart: () => Promise<ChildRelay>
}

export type EdgeRig = {
  nats: TestNats
  writer: RigRelay
  edges: RigRelay[]
  /** Starts one more edge (a new DATA_DIR), appended to `edges`. */
  addEdge: (env?: Record<string, string>) => Promise<RigRelay>
  tearDown: () => Promise<void>
}

export const startEdgeRig = async (opts: {
  edges: number
  boards: Record<string, unknown>[]
  env?: Record<string, string>
  /** Start the relays while nats-server is not running yet (the test starts it: `nats.start()`). */
  natsStopped?: boolean
  /** The NATS server's max_payload in bytes (default 1 MiB). */
  maxPayload?: number
}): Promise<EdgeRig> => {
  const nats = await startNats({
    stopped: opts.natsStopped === true,
    ...(opts.maxPayload === undefined ? {} : { maxPayload: opts.maxPayload }),
  })
  const dirs: { remove: () => void }[] = []
  const relays: RigRelay[] = []
  const relay = async (name: string, env: Record<string, string>): Promise<RigRelay> => {
    const data = makeTmpDir(`tessera-${name}-`)
    dirs.push(data)
    writeFileSync(join(data.dir, 'config.json'), JSON.stringify({ boards: opts.boards }))
    const fullEnv = { ...opts.env, NATS_URL: nats.url, ...env }
    const r: RigRelay = {
      name,
      dataDir: data.dir,
      proc: await startChildRelay(data.dir, fullEnv),
      kill: async () => {
        if (r.proc.child.exitCode === null) {
          r.proc.child.kill('SIGKILL')
          await r.proc.exited
        }
      },
      restart: async () => {
        r.proc = await startChildRelay(data.dir, fullEnv)
        return r.proc
      },
    }
    relays.push(r)
    return r
  }
  const writer = await relay('writer', { RELAY_ROLE: 'writer' })
  const secret = readFileSync(join(writer.dataDir, 'secret'), 'utf8').trim()
  const edges: RigRelay[] = []
  const addEdge = async (env: Record<string, string> = {}) => {
    const edge = await relay(`edge${edges.length}`, { RELAY_ROLE: 'edge', RELAY_SECRET: secret, ...env })
    edges.push(edge)
    return edge
  }
  for (let i = 0; i < opts.edges; i++) await addEdge()
  return {
    nats,
    writer,
    edges,
    addEdge,
    tearDown: async () => {
      for (const r of relays) await r.kill()
      await nats.remove()
      for (const d of dirs) d.remove()
    },
  }
}

/**
 * The rig of the suites about messages larger than one NATS message: a NATS server that allows
 * SMALL_PAYLOAD bytes a message, one SMALL_SIDE x SMALL_SIDE board whose fill (one commit) and
 * State exceed it, admin calls with `adminToken` in one chunk.
 */
export const SMALL_PAYLOAD = 65_536
export const SMALL_SIDE = 384
export const startSmallMessageRig = (edges: number, adminToken: string): Promise<EdgeRig> =>
  startEdgeRig({
    edges,
    boards: [{ id: 'main', width: SMALL_SIDE, height: SMALL_SIDE, shardSize: 64, cooldownMs: 0 }],
    env: { ADMIN_TOKEN: adminToken, ADMIN_CHUNK_TILES: '100000' },
    maxPayload: SMALL_PAYLOAD,
  })
