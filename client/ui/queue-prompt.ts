/**
 * The offline queue in words (the feedback line) and its Keep / Drop prompt, shown when the tile
 * of a queued placement changed before it could be sent.
 */
import type { QueueNote } from '../sync/queue-runner.ts'
import { rejectText } from './format.ts'

/** The feedback line for what the queue last did (pure). */
export const queueNoteText = (note: QueueNote): { text: string; tone: 'info' | 'ok' | 'error' } => {
  if (note.kind === 'refused') return { text: rejectText(note.error, note.message, null), tone: 'error' }
  const at = `(${note.entry.x}, ${note.entry.y})`
  switch (note.kind) {
    case 'queued':
      return { text: `Queued ${at}: it will be sent when the board is live again`, tone: 'info' }
    case 'replaced':
      return { text: `Queued ${at} instead: one placement is queued at a time (one per cooldown)`, tone: 'info' }
    case 'retrying':
      return { text: `Waiting to send ${at} again with the same id (never placed twice)`, tone: 'info' }
    case 'conflict':
      return { text: `Someone changed ${at} while your placement was queued: keep it or drop it?`, tone: 'error' }
    case 'dropped':
      return { text: `Dropped the queued placement at ${at}: nothing was sent`, tone: 'info' }
    case 'cooldown':
      return {
        text: `${rejectText('cooldown', null, note.retryAfterMs)}: ${at} stays queued and will be sent then`,
        tone: 'info',
      }
    case 'held':
      return {
        text: `${note.error === 'rate-limited' ? 'The relay asks this address to slow down' : 'The relay cannot store placements right now'}: ${at} stays queued and will be sent again in ${Math.ceil(note.retryAfterMs / 1000)} s`,
        tone: 'info',
      }
    case 'expired':
      return {
        text: `The answer for ${at} was lost too long ago to send it again safely: the board shows whether it was placed`,
        tone: 'error',
      }
    case 'busy':
      return { text: `${at} was sent and awaits the relay's answer: a new placement cannot replace it`, tone: 'error' }
  }
}

export type QueuePrompt = { render: (note: QueueNote | null) => void }

/** Keep / Drop buttons, placed after `anchor` (the feedback line), shown during a conflict only. */
export const createQueuePrompt = (anchor: HTMLElement, actions: { keep: () => void; drop: () => void }): QueuePrompt => {
  const box = document.createElement('div')
  box.className = 'queue-prompt'
  box.id = 'queue-prompt'
  box.hidden = true
  const button = (label: string, onClick: () => void) => {
    const b = document.createElement('button')
    b.type = 'button'
    b.textContent = label
    b.addEventListener('click', onClick)
    return b
  }
  const keep = button('Keep', actions.keep)
  keep.dataset.action = 'keep'
  const drop = button('Drop', actions.drop)
  drop.dataset.action = 'drop'
  box.append(keep, drop)
  anchor.after(box)
  return {
    render: (note) => {
      box.hidden = note?.kind !== 'conflict'
    },
  }
}
