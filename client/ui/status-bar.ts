/** The top bar's read-outs: people online (Presence) and the connection state. */
import type { CloseReason, ConnectionStatus } from '../sync/connection.ts'
import { statusText } from './format.ts'

export type StatusBar = {
  setOnline: (online: number) => void
  setStatus: (status: ConnectionStatus, reason: CloseReason | null) => void
}

export const createStatusBar = (online: HTMLElement, connection: HTMLElement): StatusBar => ({
  setOnline: (n) => {
    online.hidden = false
    online.textContent = `${n} online`
  },
  setStatus: (status, reason) => {
    // The count is only as current as the connection: not shown while the page is not live.
    online.classList.toggle('stale', status !== 'live')
    connection.dataset.status = status
    connection.textContent = statusText(status, reason)
    connection.title = reason ? `closed with ${reason.code} (${reason.error})` : ''
  },
})
