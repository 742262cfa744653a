/**
 * An opt-in alert when the cooldown ends: a system notification (Notification API) and a short
 * tone (WebAudio), also when the tab is in the background. Off until the person turns it on with
 * the button; permission is asked only then, inside their click (browsers refuse a prompt, and
 * an AudioContext's sound, that no gesture started). Remembered in localStorage.
 *
 * One timer at nextPlaceAt: no polling. Background tabs run timers late (Chromium: within a
 * second, or a minute once the tab has been hidden for five), so the alert may come that late.
 */

/** Milliseconds from relay time `now` until the cooldown ending at `nextPlaceAt` (relay ms), or null if none is running. */
export const alertDelay = (nextPlaceAt: number, now: number): number | null => (nextPlaceAt > now ? nextPlaceAt - now : null)

const ALERT_KEY = 'tessera.cooldownAlert'
/** The tone: 880 Hz for 180 ms, faded out so that it does not click. */
const TONE = { hz: 880, seconds: 0.18, gain: 0.08 } as const

export type CooldownAlert = {
  /** The cooldown's end (relay ms) and relay time now; (re)arms the timer if the end changed. */
  update: (nextPlaceAt: number, now: number) => void
}

export const createCooldownAlert = (button: HTMLButtonElement, storage: Storage | null, boardId: string): CooldownAlert => {
  let on = storage?.getItem(ALERT_KEY) === '1'
  let audio: AudioContext | null = null
  let armedFor = 0
  let timer: ReturnType<typeof setTimeout> | undefined

  const render = () => {
    button.setAttribute('aria-pressed', String(on))
    button.title = on ? 'You will be told when you can place again (click to stop)' : 'Tell me when I can place again'
  }
  const tone = () => {
    if (!audio) return
    const osc = audio.createOscillator()
    const gain = audio.createGain()
    osc.frequency.value = TONE.hz
    gain.gain.setValueAtTime(TONE.gain, audio.currentTime)
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + TONE.seconds)
    osc.connect(gain).connect(audio.destination)
    osc.start()
    osc.stop(audio.currentTime + TONE.seconds)
  }
  const fire = () => {
    armedFor = 0
    if (!on) return
    tone()
    if ('Notification' in window && Notification.permission === 'granted') {
      // One notification per board: a newer one replaces it rather than stacking.
      new Notification('You can place again', { body: `Tessera · ${boardId}`, tag: `tessera-cooldown-${boardId}` })
    }
  }
  // The AudioContext needs a gesture: the toggle's click, or after a reload (the choice
  // remembered) the person's first press anywhere on the page.
  const ensureAudio = () => {
    if (!audio && 'AudioContext' in window) audio = new AudioContext()
    void audio?.resume()
  }
  if (on) window.addEventListener('pointerdown', ensureAudio, { once: true })
  button.addEventListener('pointerdown', (e) => e.stopPropagation())
  button.addEventListener('click', () => {
    on = !on
    try {
      storage?.setItem(ALERT_KEY, on ? '1' : '0')
    } catch {
      // Not remembered: storage refused.
    }
    if (on) {
      // Both need this click: the permission prompt and an AudioContext allowed to sound.
      if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission()
      ensureAudio()
    }
    render()
  })
  render()

  return {
    update: (nextPlaceAt, now) => {
      const delay = alertDelay(nextPlaceAt, now)
      if (delay === null || nextPlaceAt === armedFor) return
      clearTimeout(timer)
      armedFor = nextPlaceAt
      // setTimeout holds at most 2^31 - 1 ms (24.8 days); cooldowns are minutes.
      timer = setTimeout(fire, Math.min(2 ** 31 - 1, delay))
    },
  }
}
