/**
 * A room's connected sockets: the set every commit is broadcast to, the identified sockets of
 * each identity (a person's tabs, told of each other's placements), with per-address cooldowns
 * those of each address (told of placements from it by other identities), Presence (how many
 * people have the board open) and the Session frames (an identity's cooldown, its address's
 * too, and its ban).
 */

import { encodePresence, encodeSession } from '../shared/frames.ts'
import type { LiveMode } from '../shared/protocol.ts'
import { limitKey } from './ip-address.ts'
import type { BoardPresence } from './presence-exchange.ts'

/** What the room needs of a connected socket. */
export type RoomConn = {
  /** Sends a binary frame; must not throw. */
  send: (frame: Uint8Array) => void
  /**
   * Sends a broadcast: `framed`, the WebSocket frames of `payloads` built once for every socket
   * (relay/fan-out.ts). Must not throw.
   */
  sendFramed: (framed: Buffer, payloads: readonly Uint8Array[]) => void
  /**
   * Holds this socket's frames until `uncork` (a commit's acknowledgements, and its broadcast when
   * that leaves at once, then go in one write: one system call instead of one per frame).
   */
  cork: () => void
  uncork: () => void
  /** Whether the socket opted in to Tessera's own frames (Presence, Session). */
  tessera: boolean
  /**
   * The identity this socket counts as in Presence: its placer's user on a `tessera=1` socket,
   * null otherwise (no identity, or a reader that is not a person's page: the snapshotter, a
   * y-websocket provider). One person with three tabs counts once.
   */
  user: string | null
  /** How commits reach it: Yjs update frames, or Tiles and Config frames. */
  live: LiveMode
  /** The client's address key (bans by address apply to it). */
  ip: string
  /**
   * A live=yjs reader that asked for cursors (`cursors=1`: the snapshotter): after each commit's
   * update and after its sync answer, a cursor frame (an empty Tiles frame: the last seq it holds).
   */
  cursors: boolean
}

/** Ms over which joins and leaves are coalesced into one Presence frame. */
const PRESENCE_COALESCE_MS = 1000

export type RoomSockets = {
  /** Every socket connected now (the commit broadcast iterates it). */
  all: () => ReadonlySet<RoomConn>
  /** The identified sockets of an identity, if it has any. */
  tabsOf: (user: string) => ReadonlySet<RoomConn> | undefined
  add: (conn: RoomConn) => void
  remove: (conn: RoomConn) => void
  /**
   * The identified sockets of an address (by `addressKey`) learn that it placed: each is sent
   * its Session frame again, but those of `user` (the placer's tabs are told apart). Nothing
   * without per-address cooldowns.
   */
  addressPlaced: (key: string, user: string) => void
  /** The Session frame for a socket: its user, when it may place next (its address counted), and its ban if any. */
  sessionFrame: (user: string, ip: string) => Uint8Array
  /** Sends every identified socket its Session frame again (after a ban or an unban). */
  refreshSessions: () => void
  /**
   * People with the board open: distinct identities (`RoomConn.user`) among the sockets, and,
   * scaled out, among those of the other relays (relay/presence-exchange.ts).
   */
  people: () => number
  /** Sends Presence to opted-in sockets (heartbeat). */
  broadcastPresence: () => void
  /** Cancels a coalesced Presence frame not sent yet. */
  close: () => void
}

export const createRoomSockets = (deps: {
  /** Earliest time (ms) the user, or with per-address cooldowns its address key, may place again; 0 if now. */
  nextPlaceAt: (user: string, ipKey: string) => number
  /**
   * With per-address cooldowns: what sockets are grouped by, from a socket's address key (the key
   * itself on a relay that takes placements; its pseudonym on an edge, which learns the writer's
   * placements by pseudonym). Absent: not grouped.
   */
  addressKey?: ((ipKey: string) => string) | undefined
  /** The reason an identity (or its address) is banned, or null. */
  banReasonOf: (user: string, ip: string) => string | null
  /** Presence across relays (scaled out only): told of this relay's people, counts everyone's. */
  presence?: BoardPresence
}): RoomSockets => {
  const conns = new Set<RoomConn>()
  const connsByUser = new Map<string, Set<RoomConn>>()

  /** Identified sockets by address (deps.addressKey), and each one's key (taken once: on an edge it is an HMAC). */
  const connsByAddress = new Map<string, Set<RoomConn>>()
  const addressOf = new Map<RoomConn, string>()

  // A socket's `ip` is its address, or already its limit key (limitKey gives a key back unchanged).
  const sessionFrame = (user: string, ip: string) => encodeSession(user, deps.nextPlaceAt(user, limitKey(ip)), deps.banReasonOf(user, ip))
  // O(sockets) per count: counted at most once a second (coalesced) and once per heartbeat.
  const localPeople = (): number => {
    const users = new Set<string>()
    for (const conn of conns) if (conn.user !== null) users.add(conn.user)
    return users.size
  }
  const people = deps.presence ? deps.presence.people : localPeople
  const broadcastPresence = () => {
    const frame = encodePresence(people())
    for (const conn of conns) if (conn.tessera) conn.send(frame)
  }
  let presenceTimer: NodeJS.Timeout | null = null
  const presenceChanged = () => {
    // Coalesce joins and leaves: at most one Presence frame per second.
    if (presenceTimer) return
    presenceTimer = setTimeout(() => {
      presenceTimer = null
      broadcastPresence()
    }, PRESENCE_COALESCE_MS)
    presenceTimer.unref()
  }
  deps.presence?.bind(presenceChanged)

  return {
    all: () => conns,
    tabsOf: (user) => connsByUser.get(user),
    add: (conn) => {
      conns.add(conn)
      if (conn.user !== null) {
        const mine = connsByUser.get(conn.user) ?? new Set<RoomConn>()
        if (mine.size === 0) deps.presence?.joined(conn.user)
        mine.add(conn)
        connsByUser.set(conn.user, mine)
        if (deps.addressKey) {
          const key = deps.addressKey(limitKey(conn.ip))
          const same = connsByAddress.get(key) ?? new Set<RoomConn>()
          same.add(conn)
          connsByAddress.set(key, same)
          addressOf.set(conn, key)
        }
      }
      presenceChanged()
    },
    remove: (conn) => {
      if (!conns.delete(conn)) return
      if (conn.user !== null) {
        const mine = connsByUser.get(conn.user)
        mine?.delete(conn)
        if (mine?.size === 0) {
          connsByUser.delete(conn.user)
          deps.presence?.left(conn.user)
        }
        const key = addressOf.get(conn)
        if (key !== undefined) {
          addressOf.delete(conn)
          const same = connsByAddress.get(key)
          same?.delete(conn)
          if (same?.size === 0) connsByAddress.delete(key)
        }
      }
      presenceChanged()
    },
    addressPlaced: (key, user) => {
      const same = connsByAddress.get(key)
      if (!same) return
      for (const conn of same) if (conn.user !== null && conn.user !== user) conn.send(sessionFrame(conn.user, conn.ip))
    },
    sessionFrame,
    refreshSessions: () => {
      for (const conn of conns) if (conn.user !== null) conn.send(sessionFrame(conn.user, conn.ip))
    },
    people,
    broadcastPresence,
    close: () => {
      if (presenceTimer) clearTimeout(presenceTimer)
    },
  }
}
