/** The line under the palette that says what happened to the last placement (aria-live). */
import type { PlacementState } from '../sync/placement.ts'
import { placementText } from './format.ts'

export const createFeedback = (line: HTMLElement) => ({
  render: (state: PlacementState) => {
    const said = placementText(state)
    line.hidden = said === null
    line.textContent = said?.text ?? ''
    line.dataset.tone = said?.tone ?? ''
    line.dataset.kind = state.kind
    if (state.kind === 'rejected') line.dataset.error = state.error
    else delete line.dataset.error
  },
  /** Says something that is not a placement state (the offline queue's news); `kind` goes to data-kind. */
  say: (text: string, tone: 'info' | 'ok' | 'error', kind: string) => {
    line.hidden = false
    line.textContent = text
    line.dataset.tone = tone
    line.dataset.kind = kind
    delete line.dataset.error
  },
})
