/**
 * Moderation state: bans (by identity or address) and protected rectangles per board. Kept in
 * memory for the per-placement checks, persisted as JSON in the history database on every change.
 */
import type { Rect } from '../shared/placement.ts'
import type { HistoryStore } from './history-store.ts'
import type { ModerationView } from './room.ts'

export type Ban = { kind: 'user' | 'ip'; target: string; reason: string; at: number }
export type Protection = Rect & { id: number; at: number }

export type Moderation = ModerationView & {
  bans: () => Ban[]
  ban: (ban: Ban) => Promise<void>
  /** Removes a ban; false if there was none. */
  unban: (kind: Ban['kind'], target: string) => Promise<boolean>
  protections: (board: string) => Protection[]
  protect: (board: string, rect: Rect, at: number) => Promise<Protection>
  /** Removes a protection by id; false if there was none. */
  unprotect: (board: string, id: number) => Promise<boolean>
}

const BANS = 'bans'
const PROTECTIONS = 'protections'

export const openModeration = async (history: HistoryStore, boards: readonly string[]): Promise<Moderation> => {
  const bans = new Map<string, Ban>()
  for (const b of ((await history.getJson('', BANS)) as Ban[] | undefined) ?? []) bans.set(`${b.kind}:${b.target}`, b)
  const protections = new Map<string, Protection[]>()
  for (const board of boards) {
    protections.set(board, ((await history.getJson(board, PROTECTIONS)) as Protection[] | undefined) ?? [])
  }
  const saveBans = () => history.putJson('', BANS, [...bans.values()])
  const saveProtections = (board: string) => history.putJson(board, PROTECTIONS, protections.get(board) ?? [])

  return {
    banReasonOf: (user, ip) => {
      if (bans.size === 0) return null
      const ban = bans.get(`user:${user}`) ?? bans.get(`ip:${ip}`)
      return ban ? ban.reason || 'banned' : null
    },
    protectedRects: (board) => protections.get(board) ?? [],
    bans: () => [...bans.values()],
    ban: async (ban) => {
      bans.set(`${ban.kind}:${ban.target}`, ban)
      await saveBans()
    },
    unban: async (kind, target) => {
      if (!bans.delete(`${kind}:${target}`)) return false
      await saveBans()
      return true
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
