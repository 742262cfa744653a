/**
 * The page-wide message shown instead of the board (unknown board, relay unreachable at a first
 * visit): only the message (the page's styles hide the rest while body[data-connection=failed]).
 */
import { byId } from './dom.ts'

/** A relay message ("the relay cannot be reached") as a sentence: capital first, full stop last. */
export const sentence = (text: string): string => {
  const t = text.trim()
  if (t === '') return ''
  const first = t.charAt(0).toUpperCase() + t.slice(1)
  return /[.!?…]$/.test(first) ? first : `${first}.`
}

/** Shows a page-wide message instead of the board (unknown board, relay unreachable). */
export const showFatal = (title: string, detail: string) => {
  const box = byId('fatal')
  byId('fatal-title').textContent = title
  byId('fatal-detail').textContent = detail
  box.hidden = false
  byId('loading').hidden = true
  document.body.dataset.connection = 'failed'
}
