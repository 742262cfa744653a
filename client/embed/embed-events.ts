/**
 * The names the embeds share with the pages that use them: the element's tag and its events
 * (DOM events of <tessera-board>, postMessage types of the /embed page). No imports: the /embed
 * page's own script imports only this, and loads the element from /embed.js at run time.
 */

/** The element's name. */
export const TAG = 'tessera-board'

/** The events of an embed, as DOM events of the element and postMessage types of the page. */
export const EmbedEvent = {
  Ready: 'tessera-ready',
  Select: 'tessera-select',
  Placed: 'tessera-placed',
  Rejected: 'tessera-rejected',
  Status: 'tessera-status',
} as const
export type EmbedEvent = (typeof EmbedEvent)[keyof typeof EmbedEvent]

/** tessera-rejected's detail; `code` is also the `code` of the Error place() rejects with. */
export type RejectedDetail = {
  code: string
  message: string
  reason?: string
  retryAfterMs?: number
  x?: number
  y?: number
  color?: number
}
