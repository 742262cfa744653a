/**
 * The board the page shows before its script has run (client/index.html's inline scripts): an
 * <img id="board-preview"> (the head's own request for the image, put in the placeholder's place,
 * so that a frame can show it as soon as it is decoded) of the last board this browser kept (client/sync/kept-image.ts,
 * answered by the service worker from Cache Storage) or of the latest snapshot
 * (GET /api/boards/<id>/snapshot.png, a redirect to its immutable PNG), placed with the transform
 * the app's first view will have (client/render/viewport.ts: fitted, or the deep link's or the
 * remembered view, clamped; a first visit's fitted board by the stylesheet alone until the page is
 * parsed, `.board-preview-early`, as the stage's size is not known before). The app's canvas stays hidden over it until it holds the board
 * (before that it holds a blank board), then shows in the frame the preview is removed: same
 * pixels, same place.
 *
 * The inline script cannot import: the names here and in client/sync/kept-image.ts are written
 * there too (test/unit/board-preview.test.ts checks that they match).
 */

/** The preview's element id. */
export const BOARD_PREVIEW_ID = 'board-preview'

export type BoardPreview = {
  /** Removes the preview and shows the canvas: call in the animation frame that first draws the board. */
  retire: () => void
}

/** Hides `canvas` while the page has a preview (loaded or still loading); a page without one gets a no-op. */
export const holdBoardPreview = (canvas: HTMLCanvasElement): BoardPreview => {
  const preview = document.getElementById(BOARD_PREVIEW_ID)
  if (!preview) return { retire: () => {} }
  canvas.style.visibility = 'hidden'
  return {
    retire: () => {
      preview.remove()
      canvas.style.visibility = ''
    },
  }
}
