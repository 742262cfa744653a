/**
 * What every operator command (cli/, the snapshotter's export and timelapse) does around its
 * work: progress on a terminal, byte counts for people, and a main runner with exit codes (2
 * usage, 1 failure).
 */
import { UsageError } from './flags.ts'

/** Progress on stderr, redrawn in place, only when stderr is a terminal. */
export const createProgress = (label: string) => {
  const tty = process.stderr.isTTY === true
  let last = 0
  return {
    update: (text: string) => {
      const t = Date.now()
      if (!tty || t - last < 100) return
      last = t
      process.stderr.write(`\r\x1b[2K${label}: ${text}`)
    },
    done: () => {
      if (tty) process.stderr.write('\r\x1b[2K')
    },
  }
}

export const formatBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(2)} MB`

/** Runs a CLI's main: usage errors exit 2, failures exit 1, each with one line on stderr. */
export const runCli = (name: string, usage: string, main: () => Promise<void>): void => {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      if (err instanceof UsageError) console.error(`${name}: ${err.message}\n${usage}`)
      else console.error(`${name}: ${err.message}`)
      process.exit(err instanceof UsageError ? 2 : 1)
    },
  )
}
