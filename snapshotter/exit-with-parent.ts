/**
 * Tells a child process that the process which started it is gone, whatever ended that one
 * (SIGKILL included), so that `npm start`'s snapshotter does not outlive its relay and write the
 * snapshot folder beside the next relay's snapshotter.
 *
 * Linux's prctl(PR_SET_PDEATHSIG) is not available to Node, so two portable signs:
 * - the IPC channel the parent opened (spawn with stdio 'ipc'): when the parent dies the kernel
 *   closes its end, this end reads EOF and Node emits 'disconnect' at once;
 * - `process.ppid` no longer being the parent's pid: an orphan is re-parented to init or to a
 *   subreaper. Polled every `pollMs`; it covers a parent that opened no channel, and one that
 *   died before this was called (then onGone runs on the next tick).
 */

export type ParentWatch = {
  /** Stops watching (no onGone after this). */
  stop: () => void
}

/**
 * Calls `onGone(reason)` once, when the process `parentPid` is no longer this one's parent.
 * The watch holds nothing open: it never keeps the process alive by itself.
 */
export const watchParent = (parentPid: number, onGone: (reason: string) => void, pollMs = 1000): ParentWatch => {
  let done = false
  const gone = (reason: string) => {
    if (done) return
    stop()
    onGone(reason)
  }
  const onDisconnect = () => gone('its IPC channel closed')
  const check = () => {
    if (process.ppid !== parentPid) gone(`the parent is now pid ${process.ppid}`)
  }
  const timer = setInterval(check, pollMs)
  timer.unref()
  if (process.channel) {
    process.once('disconnect', onDisconnect)
    // The channel is only a sign here: without unref it would keep the process running.
    process.channel.unref()
  }
  const stop = () => {
    done = true
    clearInterval(timer)
    process.off('disconnect', onDisconnect)
  }
  setImmediate(check)
  return { stop }
}
