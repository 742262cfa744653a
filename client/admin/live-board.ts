/**
 * The board as the moderation page shows it: the app's own pieces, not copies. The board info
 * shapes a bitmap (client/sync/board-state.ts), a live=tiles socket keeps it exactly in step
 * (client/sync/board-sync.ts, connection.ts), the app's canvas view paints it
 * (client/render/board-view.ts) and its gestures pan and zoom (client/input/gestures.ts).
 * Read-only: the socket carries no identity and the page never places through it.
 */
import type { BoardInfo } from '../../shared/board.ts'
import { attachGestures } from '../input/gestures.ts'
import { type BoardView, createBoardView } from '../render/board-view.ts'
import { type Point, tileAt } from '../render/viewport.ts'
import { type BoardState, boardConfigOf, createBoardState } from '../sync/board-state.ts'
import { createBoardSync } from '../sync/board-sync.ts'
import { type ConnectionStatus, createConnection } from '../sync/connection.ts'

export type LiveBoard = {
  view: BoardView
  state: BoardState
  /** Stops the socket and removes the board from the stage. */
  destroy: () => void
}

export type LiveBoardEvents = {
  onTile: (tile: Point) => void
  onStatus: (status: ConnectionStatus) => void
  onPresence: (online: number) => void
  /** After every change of the bitmap or the config. */
  onChange: (configChanged: boolean) => void
}

export const startLiveBoard = (stage: HTMLElement, info: BoardInfo, wsBase: string, events: LiveBoardEvents): LiveBoard => {
  const state = createBoardState({ board: boardConfigOf(info), version: 0 })
  const view = createBoardView(stage, state.config(), state.bitmap())
  const unsubscribe = state.onChange((damage, configChanged) => {
    if (configChanged) view.setBoard(state.config(), state.bitmap())
    else view.damage(damage, state.bitmap())
    events.onChange(configChanged)
  })
  const detach = attachGestures(stage, view, {
    onTap: (at) => {
      const tile = tileAt(view.viewport(), view.stageSize(), view.boardSize(), at)
      if (tile) events.onTile(tile)
    },
  })
  const resize = new ResizeObserver(() => view.relayout())
  resize.observe(stage)
  view.relayout()
  // From the empty state vector: the whole board, then Tiles frames (no snapshot needed here).
  const connection = createConnection(wsBase, info.id, createBoardSync(state, { kind: 'blank' }), {
    onStatus: events.onStatus,
    onPresence: events.onPresence,
  })
  return {
    view,
    state,
    destroy: () => {
      connection.destroy()
      unsubscribe()
      detach()
      resize.disconnect()
      for (const el of [...stage.querySelectorAll('.board, .board-frame, .reticle, .ghost')]) el.remove()
    },
  }
}
