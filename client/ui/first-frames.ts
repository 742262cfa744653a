/**
 * The page's first frames: the performance marks the bench and the console read
 * (`tessera:first-paint`, `tessera:live`), the canvas shown in place of the HTML's preview in the
 * frame that first draws a board, and work held until after a frame has been drawn.
 */

/** Performance marks: the first board painted, and the first time the page was live (exact). */
export const FIRST_PAINT_MARK = 'tessera:first-paint'
export const LIVE_MARK = 'tessera:live'
/** Ms a task waits for the next frame at most (afterNextFrame). */
const FRAME_WAIT_MS = 200

/**
 * Marks the frame that first shows a board (stored or snapshot), for the bench and the console:
 * performance.getEntriesByName('tessera:first-paint'), and in that frame shows the canvas in
 * place of the HTML's preview (client/ui/board-preview.ts). The view draws in its own animation
 * frame callback, requested earlier, so this one runs after it in the same frame.
 */
export const markFirstPaint = (retirePreview: () => void): void => {
  if (performance.getEntriesByName(FIRST_PAINT_MARK).length === 0)
    requestAnimationFrame(() => {
      performance.mark(FIRST_PAINT_MARK)
      retirePreview()
    })
}

/** Marks the first time the page is live (caught up), once. */
export const markLive = (): void => {
  if (performance.getEntriesByName(LIVE_MARK).length === 0) performance.mark(LIVE_MARK)
}

/**
 * Runs `fn` once the next frame has been drawn (the task after it), or after FRAME_WAIT_MS where
 * no frame comes (a tab in the background draws none).
 */
export const afterNextFrame = (fn: () => void): void => {
  let done = false
  const run = () => {
    if (done) return
    done = true
    fn()
  }
  requestAnimationFrame(() => setTimeout(run, 0))
  setTimeout(run, FRAME_WAIT_MS)
}
