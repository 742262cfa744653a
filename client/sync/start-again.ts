/**
 * A returning page's second look (docs/CLIENT.md "Start"): its stored board is painted at once;
 * once the board's info answers, the page starts again from the latest snapshot instead when
 * catching up from the stored board would cost more (client/sync/start-plan.ts chooseStart: far
 * behind, or a relay whose data was reset). Used by the app and by every embed.
 */
import type { BoardConfig } from '../../shared/board.ts'
import type { fetchBoard } from './api.ts'
import { boardConfigOf } from './board-state.ts'
import { type LoadedSnapshot, loadSnapshot } from './snapshot-load.ts'
import { chooseStart } from './start-plan.ts'

/**
 * How long a returning page waits for the board's info before it catches up from its stored board
 * anyway (ms). Both go to the same relay, so a slow answer means a slow socket too; the limit only
 * covers a request lost on the way.
 */
const BOARD_INFO_WAIT_MS = 10_000

/**
 * The snapshot to start again from, with the board's config it stands for, or null: catch up
 * from the stored board at `cursor` (also when the info does not answer within
 * BOARD_INFO_WAIT_MS, or the snapshot cannot be fetched or read).
 */
export const snapshotInstead = async (opts: {
  origin: string
  boardId: string
  /** The stored board's history seq. */
  cursor: number
  /** GET /api/boards/<id>, asked at the start. */
  boardAsked: ReturnType<typeof fetchBoard>
}): Promise<{ snapshot: LoadedSnapshot; board: BoardConfig } | null> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const answered = await Promise.race([
    opts.boardAsked,
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), BOARD_INFO_WAIT_MS)
    }),
  ])
  clearTimeout(timer)
  const info = answered?.result
  if (!info?.ok || !info.snapshot || chooseStart(opts.cursor, info) !== 'snapshot') return null
  const snapshot = await loadSnapshot(opts.origin, opts.boardId, info.snapshot)
  return snapshot ? { snapshot, board: boardConfigOf(info) } : null
}
