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
})
