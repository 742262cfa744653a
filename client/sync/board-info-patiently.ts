/**
 * The board's info on a first visit, which cannot start without it: asked again with backoff
 * (client/sync/backoff.ts) until the relay answers it or says there is no such board (404).
 * Used by the app and the embeds.
 */
import type { BoardInfo } from '../../shared/board.ts'
import { type ApiResult, fetchBoard } from './api.ts'
import { backoffDelay, drawBackoffCap } from './backoff.ts'

type Asked = { result: ApiResult<BoardInfo>; date: number | null }

/**
 * `first`: the request already in flight. `onRetry` is told each failure before the wait (to say
 * so); it returns false to give up (the page was left): the last answer is then returned as it is.
 */
export const boardInfoPatiently = async (
  origin: string,
  boardId: string,
  first: Promise<Asked>,
  onRetry: (failure: Extract<ApiResult<BoardInfo>, { ok: false }>) => boolean,
): Promise<Asked> => {
  let asked = await first
  const cap = drawBackoffCap(Math.random())
  for (let attempt = 0; !asked.result.ok && asked.result.status !== 404; attempt++) {
    if (!onRetry(asked.result)) return asked
    // From the fourth step of the schedule (about 1.6 s), as the relay is known to be unreachable.
    await new Promise((r) => setTimeout(r, backoffDelay(attempt + 3, cap)))
    asked = await fetchBoard(origin, boardId)
  }
  return asked
}
