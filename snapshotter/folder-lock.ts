/**
 * One writer per snapshot folder. Two snapshotters on one folder would each remove what they
 * take for the other's leftovers (its temporary files, its PNG before the sidecar is renamed)
 * and apply retention over each other.
 *
 * The lock is a tiny LevelDB database in the folder, `.writer-lock/`, held open for as long as
 * the snapshotter runs: LevelDB locks its LOCK file with fcntl(F_SETLK) (LockFileEx on
 * Windows), which the kernel releases when the process ends, whatever ended it (SIGKILL too),
 * and it refuses a second open in the same process as well. The relay's DATA_DIR is held the
 * same way (relay/history-store.ts). Chosen over a pid file created with `wx`: a pid file
 * outlives a killed holder, and taking a stale one over needs a liveness check that a reused
 * pid fools and a remove-then-create that two starters can race; here there is nothing to take
 * over. The database stays empty; a dot-folder is skipped by the snapshot listings and routes.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'

/** The lock's folder inside a snapshot folder. */
export const LOCK_DIR = '.writer-lock'
/** The holder's pid (decimal, for the message a second writer prints; the lock is the database's). */
const PID_FILE = 'holder-pid'

export type FolderLock = {
  /** Releases the lock (closes the database). Idempotent. */
  release: () => Promise<void>
}

/**
 * Takes the snapshot folder `dir` (created if missing) for this process, or throws an Error that
 * says which process holds it.
 */
export const lockSnapshotFolder = async (dir: string): Promise<FolderLock> => {
  await mkdir(dir, { recursive: true })
  const location = join(dir, LOCK_DIR)
  const db = new ClassicLevel(location)
  try {
    await db.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String(cause?.message ?? ''))) {
      const pid = (await readFile(join(location, PID_FILE), 'utf8').catch(() => '')).trim()
      throw new Error(
        `${dir} is in use by another snapshotter${/^\d+$/.test(pid) ? ` (pid ${pid})` : ''}: ` +
          'only one may write a snapshot folder (stop it, or give this one another DATA_DIR)',
      )
    }
    throw new Error(`cannot lock ${dir}: ${(cause ?? (err as Error)).message}`)
  }
  // LevelDB ignores files whose names are not its own. Written just after the lock is taken: a
  // second writer in between names the previous holder, or none.
  await writeFile(join(location, PID_FILE), `${process.pid}\n`).catch(async (err: Error) => {
    await db.close()
    throw new Error(`cannot lock ${dir}: ${err.message}`)
  })
  let released: Promise<void> | null = null
  return {
    release: () => {
      released ??= db.close()
      return released
    },
  }
}
