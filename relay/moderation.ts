/**
 * Moderation state: bans (by identity or address) and protected rectangles per board. Kept in
 * memory for the per-placement checks, persisted as JSON in the history database on every change.
 */
import type { Rect } from '../shared/placement.ts'
import type { HistoryStore } from './history-store.ts'
import { type AddressSet, createAddressSet, formatAddressRange, normaliseAddress, parseAddressRange } from './ip-address.ts'
import type { ModerationView } from './room.ts'

/**
 * A ban of an identity (`target` = its user id) or of addresses (`target` = an address or a CIDR
 * range, stored normalised: `1.2.3.4`, `2001:db8::1`, `10.0.0.0/8`; see relay/ip-address.ts).
 */
export type Ban = { kind: 'user' | 'ip'; target: string; reason: string; at: number }

/**
 * The stored spelling of a ban target: an address or range normalised (`::ffff:1.2.3.4` is
 * `1.2.3.4`, `10.1.2.3/8` is `10.0.0.0/8`); a user id, or an ip target that is no address (a
 * ban stored before targets were checked), as given.
 */
export const banTarget = (kind: Ban['kind'], target: string): string => {
  if (kind === 'user') return target
  const range = parseAddressRange(target)
  return range ? formatAddressRange(range) : target
}

export type Protection = Rect & { id: number; at: number }

export type Moderation = ModerationView & {
  bans: () => Ban[]
  ban: (ban: Ban) => Promise<void>
  /** Removes a ban; false if there was none. */
  unban: (kind: Ban['kind'], target: string) => Promise<boolean>
  /**
   * Makes the bans exactly `list` in one save (an edge adopting the writer's list:
   * relay/ban-exchange.ts); false if they were that already.
   */
  replaceBans: (list: readonly Ban[]) => Promise<boolean>
  /** Calls `listener` after every change of the bans (the writer publishes its list then). */
  onBansChange: (listener: () => void) => void
  protections: (board: string) => Protection[]
  protect: (board: string, rect: Rect, at: number) => Promise<Protection>
  /** Removes a protection by id; false if there was none. */
  unprotect: (board: string, id: number) => Promise<boolean>
}

const BANS = 'bans'
const PROTECTIONS = 'protections'

export const openModeration = async (history: HistoryStore, boards: readonly string[]): Promise<Moderation> => {
  const bans = new Map<string, Ban>()
  for (const b of ((await history.getJson('', BANS)) as Ban[] | undefined) ?? []) {
    const target = banTarget(b.kind, b.target)
    bans.set(`${b.kind}:${target}`, { ...b, target })
  }
  // Range bans (a prefix shorter than a whole address), checked one by one after the exact
  // lookup; rebuilt on every change (BlockList cannot remove a rule).
  let ranges: { ban: Ban; set: AddressSet }[] = []
  const indexRanges = () => {
    ranges = [...bans.values()].flatMap((ban) => {
      const range = ban.kind === 'ip' && ban.target.includes('/') ? parseAddressRange(ban.target) : null
      return range ? [{ ban, set: createAddressSet([range]) }] : []
    })
  }
  indexRanges()
  const protections = new Map<string, Protection[]>()
  for (const board of boards) {
    protections.set(board, ((await history.getJson(board, PROTECTIONS)) as Protection[] | undefined) ?? [])
  }
  const bansListeners: (() => void)[] = []
  const saveBans = async () => {
    await history.putJson('', BANS, [...bans.values()])
    for (const l of bansListeners) l()
  }
  const sameBan = (a: Ban | undefined, b: Ban) => a !== undefined && a.reason === b.reason && a.at === b.at
  const saveProtections = (board: string) => history.putJson(board, PROTECTIONS, protections.get(board) ?? [])

  return {
    banReasonOf: (user, ip) => {
      if (bans.size === 0) return null
      const address = normaliseAddress(ip) ?? ip
      const ban = bans.get(`user:${user}`) ?? bans.get(`ip:${address}`) ?? ranges.find((r) => r.set.has(address))?.ban
      return ban ? ban.reason || 'banned' : null
    },
    protectedRects: (board) => protections.get(board) ?? [],
    bans: () => [...bans.values()],
    ban: async (ban) => {
      const target = banTarget(ban.kind, ban.target)
      bans.set(`${ban.kind}:${target}`, { ...ban, target })
      indexRanges()
      await saveBans()
    },
    unban: async (kind, target) => {
      if (!bans.delete(`${kind}:${banTarget(kind, target)}`) && !bans.delete(`${kind}:${target}`)) return false
      indexRanges()
      await saveBans()
      return true
    },
    replaceBans: async (list) => {
      const next = new Map<string, Ban>()
      for (const b of list) {
        const target = banTarget(b.kind, b.target)
        next.set(`${b.kind}:${target}`, { ...b, target })
      }
      if (next.size === bans.size && [...next].every(([key, b]) => sameBan(bans.get(key), b))) return false
      bans.clear()
      for (const [key, b] of next) bans.set(key, b)
      indexRanges()
      await saveBans()
      return true
    },
    onBansChange: (listener) => {
      bansListeners.push(listener)
    },
    protections: (board) => [...(protections.get(board) ?? [])],
    protect: async (board, rect, at) => {
      const list = protections.get(board) ?? []
      const protection = { ...rect, id: Math.max(0, ...list.map((p) => p.id)) + 1, at }
      protections.set(board, [...list, protection])
      await saveProtections(board)
      return protection
    },
    unprotect: async (board, id) => {
      const list = protections.get(board) ?? []
      if (!list.some((p) => p.id === id)) return false
      protections.set(
        board,
        list.filter((p) => p.id !== id),
      )
      await saveProtections(board)
      return true
    },
  }
}
