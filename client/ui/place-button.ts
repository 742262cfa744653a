/**
 * The Place button. Its label is the honest state of the next placement: why it cannot happen
 * yet (no tile, cooling down with a countdown, connecting, locked, read-only) or that it can.
 */

/** Everything that decides the button, computed by the app at each change and each tick. */
export type PlaceButtonModel =
  | { kind: 'ready'; color: string }
  | { kind: 'no-selection' }
  | { kind: 'pending' }
  /** remainingMs until the cooldown ends; totalMs is the board's cooldown (for the progress bar). */
  | { kind: 'cooldown'; remainingMs: number; totalMs: number }
  /** No live socket: `noNetwork` when the browser says it is offline (else connecting). */
  | { kind: 'offline'; noNetwork: boolean }
  | { kind: 'locked' }
  | { kind: 'read-only' }
  /** A first visit's identity is being made (its proof of work, client/sync/pow.ts). */
  | { kind: 'identity' }
  /** This identity or its address is banned from the board (`reason` may be ''). */
  | { kind: 'banned'; reason: string }
  /** No live socket, a tile selected: pressing queues the placement (client/sync/queue-runner.ts). */
  | { kind: 'queue'; color: string }

export type PlaceButton = { render: (model: PlaceButtonModel, countdown: (ms: number) => string) => void }

export const createPlaceButton = (button: HTMLButtonElement, onPlace: () => void): PlaceButton => {
  button.addEventListener('click', () => onPlace())
  const label = document.createElement('span')
  label.className = 'label'
  const chip = document.createElement('span')
  chip.className = 'chip'
  button.replaceChildren(chip, label)
  return {
    render: (model, countdown) => {
      button.dataset.state = model.kind
      button.disabled = model.kind !== 'ready' && model.kind !== 'queue'
      chip.hidden = model.kind !== 'ready' && model.kind !== 'queue'
      if (model.kind === 'ready' || model.kind === 'queue') chip.style.background = model.color
      // The progress bar fills as the cooldown runs out (0 = just placed, 1 = ready).
      const progress = model.kind === 'cooldown' && model.totalMs > 0 ? 1 - model.remainingMs / model.totalMs : 1
      button.style.setProperty('--progress', String(Math.min(1, Math.max(0, progress))))
      label.textContent =
        model.kind === 'ready'
          ? 'Place'
          : model.kind === 'queue'
            ? 'Queue'
            : model.kind === 'no-selection'
              ? 'Select a tile'
              : model.kind === 'pending'
                ? 'Placing…'
                : model.kind === 'cooldown'
                  ? `Ready in ${countdown(model.remainingMs)}`
                  : model.kind === 'offline'
                    ? model.noNetwork
                      ? 'Offline'
                      : 'Connecting…'
                    : model.kind === 'locked'
                      ? 'Board locked'
                      : model.kind === 'identity'
                        ? 'Getting ready…'
                        : model.kind === 'banned'
                          ? 'Banned'
                          : 'Read-only'
      button.title = model.kind === 'banned' && model.reason ? `Banned: ${model.reason}` : ''
    },
  }
}
