/**
 * An edge relay's copy of one board (scaling out: docs/ARCHITECTURE.md): follows the board's
 * JetStream stream with an ordered consumer from the message after the last one this edge
 * applied (history meta `streamSeq`, written with each application), and hands the Commit
 * messages to the room (Room.follow) in stream order: what arrives while one application is
 * being written goes in the next, together; a message in parts (shared/stream-parts.ts) is
 * handed over once its last part arrived. The NATS client recreates the consumer at the next
 * message after a disconnect or a NATS restart.
 */
import { DeliverPolicy } from '@nats-io/jetstream'
import type { Logger } from '../node-kit/log.ts'
import { type CommitMessage, decodeCommitMessage, streamNames } from '../shared/stream-messages.ts'
import { createPartAssembler, decodePart, isPart } from '../shared/stream-parts.ts'
import type { HistoryStore } from './history-store.ts'
import type { NatsLink } from './nats-link.ts'
import type { Room } from './room.ts'

/** Ms a pull request for messages waits on the server before the client asks again. */
const PULL_EXPIRES_MS = 5_000
/** Ms between the server's heartbeats on an idle pull request. */
const HEARTBEAT_MS = 1_000
/** Records applied in one commit of the edge at most (more messages wait for the next). */
const MAX_BATCH_RECORDS = 20_000

export type EdgeFollower = {
  /** Resolves once the room holds history seq `seq`, or after `timeoutMs` (never rejects). */
  whenApplied: (seq: number, timeoutMs: number) => Promise<void>
  /** Resolves once the messages the stream held at start are applied. */
  ready: Promise<void>
  /** Stops following (the room stays open). */
  close: () => Promise<void>
}

export const followStream = async (deps: { link: NatsLink; room: Room; history: HistoryStore; log: Logger }): Promise<EdgeFollower> => {
  const { link, room, log } = deps
  const { stream, commits } = streamNames(room.id)
  const from = await deps.history.getMeta(room.id, 'streamSeq', 0)
  const target = (await link.jsm.streams.info(stream)).state.last_seq
  const consumer = await link.js.consumers.get(stream, {
    filter_subjects: commits,
    ...(from > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from + 1 } : { deliver_policy: DeliverPolicy.All }),
  })
  // Pull requests of at most PULL_EXPIRES_MS with a heartbeat every HEARTBEAT_MS: a NATS restart
  // is noticed after two missed heartbeats and the consumer recreated at the next message
  // (with the client's defaults, 30 s and 15 s, placements waited that long for their commit).
  const messages = await consumer.consume({ expires: PULL_EXPIRES_MS, idle_heartbeat: HEARTBEAT_MS })
  let waiters: { seq: number; resolve: () => void }[] = []
  let applied = from
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    markReady = resolve
  })
  if (applied >= target) markReady()
  const release = () => {
    const held = room.lastSeq()
    const due = waiters.filter((w) => w.seq <= held)
    if (due.length === 0) return
    waiters = waiters.filter((w) => w.seq > held)
    for (const w of due) w.resolve()
  }
  // Messages wait here while the room applies the ones before: each application is one durable
  // write, so what arrived meanwhile goes in the next one together (an edge's group commit;
  // applied one by one, 1,000 commits a second left the edge seconds behind).
  let inbox: { message: CommitMessage; seq: number }[] = []
  let wake = null as (() => void) | null
  let reading = true
  // Parts of a message too large for one stream message wait here until their set is complete.
  const parts = createPartAssembler()
  const read = (async () => {
    try {
      for await (const m of messages) {
        try {
          if (isPart(m.data)) {
            const { whole, dropped } = parts.add(decodePart(m.data))
            if (dropped > 0) log.warn(`board ${room.id}: dropped ${dropped} parts of an incomplete message before stream message ${m.seq}`)
            // Applied with the stream sequence of its last part: a restart before it reads the set again.
            if (whole) inbox.push({ message: decodeCommitMessage(whole), seq: m.seq })
          } else {
            const dropped = parts.interrupt()
            if (dropped > 0) log.warn(`board ${room.id}: dropped ${dropped} parts of an incomplete message before stream message ${m.seq}`)
            inbox.push({ message: decodeCommitMessage(m.data), seq: m.seq })
          }
        } catch (err) {
          // Not a message of ours (a bug, or another publisher on the subject): skipped, said loudly.
          log.error(`board ${room.id}: stream message ${m.seq} is not a commit message (skipped):`, (err as Error).message)
        }
        wake?.()
      }
    } finally {
      reading = false
      wake?.()
    }
  })()
  const done = (async () => {
    for (;;) {
      if (inbox.length === 0) {
        if (!reading) return
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = null
        continue
      }
      let records = 0
      let n = 0
      while (n < inbox.length && (n === 0 || records < MAX_BATCH_RECORDS))
        records += (inbox[n++] as (typeof inbox)[number]).message.records.length
      const batch = inbox.slice(0, n)
      inbox = inbox.slice(n)
      const last = (batch[batch.length - 1] as (typeof batch)[number]).seq
      const followed = await room.follow(
        batch.map((b) => b.message),
        last,
      )
      if (!followed) return
      applied = last
      if (applied >= target) markReady()
      release()
    }
  })()
  void read.catch((err: Error) => log.error(`board ${room.id}: reading ${stream} stopped:`, err.message))
  done.catch((err: Error) => log.error(`board ${room.id}: following ${stream} stopped:`, err.message))
  return {
    whenApplied: (seq, timeoutMs) => {
      if (room.lastSeq() >= seq) return Promise.resolve()
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs)
        waiters.push({
          seq,
          resolve: () => {
            clearTimeout(timer)
            resolve()
          },
        })
      })
    },
    ready,
    close: async () => {
      await messages.close().catch(() => {})
      await done.catch(() => {})
      for (const w of waiters) w.resolve()
      waiters = []
    },
  }
}
