/**
 * A board's cooldowns: when each identity last placed, and each client address if
 * PER_IP_COOLDOWN (relay/ip-cooldowns.ts, saved apart: the history has no addresses), with the
 * per-address budget (relay/address-budget.ts). A placement reserves its cooldown when it is
 * accepted (so a second intent in the same tick is refused) and gives it back if its commit
 * fails. At open both the identities' cooldowns and the remembered placement ids are rebuilt
 * from one backward reading of the history tail; a sweep forgets what left the window.
 */
import type { Logger } from '../node-kit/log.ts'
import type { BoardConfig } from '../shared/board.ts'
import { type PlacementRecord, RecordKind } from '../shared/placement-record.ts'
import { PlacementIdLimits, type PlaceResult } from '../shared/protocol.ts'
import type { AddressCooldown } from '../shared/stream-messages.ts'
import { createAddressBudget } from './address-budget.ts'
import type { HistoryStore } from './history-store.ts'
import { openIpCooldowns } from './ip-cooldowns.ts'
import type { PlacementIds } from './placement-ids.ts'

/** What to give back if a placement's commit fails: the cooldown it reserved. */
export type CooldownUndo = { prevUser: number | undefined; prevIp: number | undefined; ip: string; at: number }

/** Ms between sweeps of expired entries. */
const SWEEP_MS = 60_000

export type Cooldowns = {
  /**
   * When this identity, or (with per-address cooldowns) this address key, last placed inside
   * the window, ms; undefined if neither did.
   */
  lastPlacedAt: (user: string, ipKey: string) => number | undefined
  /** Spends one placement of the address's budget at `t`: 0, or the ms to wait (nothing spent). */
  takeBudget: (ipKey: string, t: number) => number
  /** Reserves the cooldown of `user` and `ipKey` at `t`; call right after `lastPlacedAt` of the same pair. */
  reserve: (user: string, ipKey: string, t: number) => CooldownUndo
  /** Gives back what `reserve` took (the commit failed: nothing was placed). */
  restore: (user: string, undo: CooldownUndo) => void
  /**
   * Earliest time (ms) the user may place again, and with per-address cooldowns the address key
   * `ipKey` too (a Session frame's answer, as a placement would be judged); 0 if now.
   */
  nextPlaceAt: (user: string, ipKey?: string) => number
  /**
   * An edge relay's record of a placement the writer made (relay/room-follow.ts): the identity's
   * cooldown, and the address's by its pseudonym ('' none: the writer keeps no per-address
   * cooldowns, or the placement started none).
   */
  adopt: (user: string, addressPseudonym: string, placedAt: number) => void
  /**
   * An edge relay's record of a per-address cooldown the writer holds (a State message's, by
   * pseudonym: relay/room-follow.ts); nothing without per-address cooldowns.
   */
  adoptAddress: (addressPseudonym: string, placedAt: number) => void
  /**
   * The per-address cooldowns inside the window now, by pseudonym (what a writer's State carries:
   * relay/commit-publisher.ts); null without per-address cooldowns.
   */
  addressCooldowns: () => AddressCooldown[] | null
  /** An address key's pseudonym (as the writer publishes them), or null without per-address cooldowns. */
  pseudonym: ((ipKey: string) => string) | null
  /** Stops the sweep and saves the per-address cooldowns. */
  close: () => Promise<void>
}

/**
 * The newest placement of each identity within the cooldown window into `lastPlaced`, and the
 * placement ids of the placements within the cooldown and the retry window after it into `ids`:
 * a retry after a crash (kill -9 between the durable commit and the acknowledgement) gets the
 * first outcome, not a second placement or a bare `cooldown`. Refusals are not in the history:
 * after a restart a retry of a refused placement is judged afresh (it changed nothing).
 */
const rebuild = async (
  history: HistoryStore,
  id: string,
  board: BoardConfig,
  t: number,
  lastPlaced: Map<string, number>,
  ids: PlacementIds,
) => {
  const cooldownStart = t - board.cooldownMs
  const idStart = t - (board.cooldownMs + PlacementIdLimits.retryWindowMs)
  const withIds: PlacementRecord[] = []
  for await (const r of history.readBackwards(id)) {
    if (r.placedAt <= idStart || (r.placedAt <= cooldownStart && withIds.length >= PlacementIdLimits.perBoard)) break
    if (r.kind !== RecordKind.Placement) continue
    if (r.placedAt > cooldownStart && !lastPlaced.has(r.user)) lastPlaced.set(r.user, r.placedAt)
    if (r.id !== undefined && withIds.length < PlacementIdLimits.perBoard) withIds.push(r)
  }
  // Oldest first, as they were added when placed (an identity keeps its newest ids).
  for (let i = withIds.length - 1; i >= 0; i--) {
    const r = withIds[i] as PlacementRecord
    const outcome: PlaceResult = { ok: true, placedAt: r.placedAt, nextPlaceAt: r.placedAt + board.cooldownMs }
    ids.add({ user: r.user, id: r.id as string, x: r.x, y: r.y, color: r.color, at: r.placedAt, outcome })
  }
}

export const openCooldowns = async (deps: {
  id: string
  history: HistoryStore
  log: Logger
  /** The board now (its cooldown changes live). */
  board: () => BoardConfig
  now: () => number
  perIpCooldown: false | { pseudonym: (ip: string) => string }
  ipPlacementsPerCooldown?: number | undefined
  placementIds: PlacementIds
}): Promise<Cooldowns> => {
  const { id, history, now, board, placementIds } = deps
  const lastPlaced = new Map<string, number>()
  const addressBudget = createAddressBudget(deps.ipPlacementsPerCooldown ?? 0, () => board().cooldownMs)
  const lastPlacedByIp = deps.perIpCooldown
    ? await openIpCooldowns({ history, board: id, windowMs: () => board().cooldownMs, pseudonym: deps.perIpCooldown.pseudonym, now })
    : null
  await rebuild(history, id, board(), now(), lastPlaced, placementIds)
  const sweep = setInterval(() => {
    const cutoff = now() - board().cooldownMs
    for (const [k, t] of lastPlaced) if (t <= cutoff) lastPlaced.delete(k)
    lastPlacedByIp?.sweep(cutoff)
    placementIds.sweep(now() - (board().cooldownMs + PlacementIdLimits.retryWindowMs))
  }, SWEEP_MS)
  sweep.unref()

  // The lookups of the last lastPlacedAt(), reused by reserve() in the same turn: no second
  // lookup (an address's pseudonym is an HMAC) and no object per placement.
  let lookedUser: string | null = null
  let lookedIp: string | null = null
  let prevUser: number | undefined
  let prevIp: number | undefined
  const lastPlacedAt = (user: string, ipKey: string): number | undefined => {
    lookedUser = user
    lookedIp = ipKey
    prevUser = lastPlaced.get(user)
    prevIp = lastPlacedByIp?.get(ipKey)
    const last = lastPlacedByIp ? Math.max(prevUser ?? -Infinity, prevIp ?? -Infinity) : prevUser
    return last === -Infinity ? undefined : last
  }

  return {
    lastPlacedAt,
    takeBudget: (ipKey, t) => addressBudget.take(ipKey, t),
    reserve: (user, ipKey, t) => {
      if (user !== lookedUser || ipKey !== lookedIp) lastPlacedAt(user, ipKey)
      lookedUser = null
      lookedIp = null
      const undo: CooldownUndo = { prevUser, prevIp, ip: ipKey, at: t }
      lastPlaced.set(user, t)
      lastPlacedByIp?.set(ipKey, t)
      return undo
    },
    restore: (user, c) => {
      if (c.prevUser === undefined) lastPlaced.delete(user)
      else lastPlaced.set(user, c.prevUser)
      if (c.prevIp === undefined) lastPlacedByIp?.delete(c.ip)
      else lastPlacedByIp?.set(c.ip, c.prevIp)
      addressBudget.giveBack(c.ip, c.at)
    },
    nextPlaceAt: (user, ipKey) => {
      const byUser = lastPlaced.get(user)
      const byIp = ipKey === undefined ? undefined : lastPlacedByIp?.get(ipKey)
      const last = byIp === undefined ? byUser : Math.max(byUser ?? -Infinity, byIp)
      const cooldownMs = board().cooldownMs
      return last === undefined || last + cooldownMs <= now() ? 0 : last + cooldownMs
    },
    adopt: (user, addressPseudonym, placedAt) => {
      lastPlaced.set(user, placedAt)
      if (addressPseudonym !== '') lastPlacedByIp?.setPseudonym(addressPseudonym, placedAt)
    },
    adoptAddress: (addressPseudonym, placedAt) => lastPlacedByIp?.setPseudonym(addressPseudonym, placedAt),
    addressCooldowns: () => (lastPlacedByIp ? [...lastPlacedByIp.entries()].map(([address, placedAt]) => ({ address, placedAt })) : null),
    pseudonym: lastPlacedByIp ? lastPlacedByIp.pseudonym : null,
    close: async () => {
      clearInterval(sweep)
      await lastPlacedByIp?.close().catch((err: Error) => deps.log.warn(`board ${id}: per-address cooldowns not saved: ${err.message}`))
    },
  }
}
