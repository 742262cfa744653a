/**
 * An edge relay's copy of one board (scaling out: docs/ARCHITECTURE.md): follows the board's
 * JetStream stream with an ordered consumer from the message after the last one this edge
 * applied (history meta `streamSeq`, written with each application), and hands the Commit
 * messages to the room (Room.follow) in stream order: what arrives while one application is
 * being written goes in the next, together; a message in parts (shared/stream-parts.ts) is
 * handed over once its last part arrived (a part whose set's first part was never read here
 * makes it ask for a State at once). When the stream no longer holds the next message (it
 * is bounded), or lost one (a gap in its sequences, or in the history seqs of its commits), the
 * edge does not apply past it: it asks the writer for a State (relay/state-request.ts) and
 * follows from that State. The NATS client recreates the consumer at the next
 * message after a disconnect or a NATS restart.
 */
import { type ConsumerMessages, DeliverPolicy } from '@nats-io/jetstream'
import type { Logger } from '../node-kit/log.ts'
import { CommitKind, type CommitMessage, decodeCommitMessage, streamNames } from '../shared/stream-messages.ts'
import { createPartAssembler, decodePart, isPart } from '../shared/stream-parts.ts'
import type { HistoryStore } from './history-store.ts'
import type { NatsLink } from './nats-link.ts'
import type { Room } from './room.ts'
import { requestState } from './state-request.ts'

/** Ms a pull request for messages waits on the server before the client asks again. */
const PULL_EXPIRES_MS = 5_000
/** Ms between the server's heartbeats on an idle pull request. */
const HEARTBEAT_MS = 1_000
/** Ms between two attempts to start following while NATS does not answer. */
const SETUP_RETRY_MS = 1_000
/** Records applied in one commit of the edge at most (more messages wait for the next). */
const MAX_BATCH_RECORDS = 20_000

export type EdgeFollower = {
  /** Resolves once the room holds history seq `seq`, or after `timeoutMs` (never rejects). */
  whenApplied: (seq: number, timeoutMs: number) => Promise<void>
  /**
   * Resolves once the messages the stream held at start are applied (a part set still incomplete
   * at the stream's end then aside: what precedes it is enough).
   */
  ready: Promise<void>
  /** Stops following (the room stays open). */
  close: () => Promise<void>
}

export const followStream = async (deps: { link: NatsLink; room: Room; history: HistoryStore; log: Logger }): Promise<EdgeFollower> => {
  const { link, room, log } = deps
  const { stream, commits } = streamNames(room.id)
  let stopped = false
  let messages: ConsumerMessages | null = null
  let waiters: { seq: number; resolve: () => void }[] = []
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    markReady = resolve
  })
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
  /** The stream sequence of the last message taken in order (or skipped on purpose). */
  let lastStreamSeq = 0
  /** The history seq the room holds once the inbox is applied. */
  let lastDocSeq = room.lastSeq()
  /**
   * A repair in progress (a gap: messages the stream lost): undefined none; null while the
   * writer has not said where its State is (messages park meanwhile); else the stream sequence
   * of that State, before which messages are skipped (the State holds them).
   */
  let repairAt: number | null | undefined
  let parked: { seq: number; data: Uint8Array }[] = []
  /** The stream's last sequence when following began (`ready` once applied up to it); Infinity before. */
  let target = Number.POSITIVE_INFINITY
  /** Whether a batch is being applied now. */
  let applying = false
  /**
   * The stream ended inside a part set when following began (a writer stopped in the middle of
   * publishing one, or is publishing it now): what is before the set is all there is to apply
   * at start, so `ready` comes once that is applied; the set follows when complete (or is dropped
   * when another message interrupts it), never in part.
   */
  let tailInSet = false

  const dropParts = (seq: number) => {
    const dropped = parts.interrupt()
    if (dropped > 0) log.warn(`board ${room.id}: dropped ${dropped} parts of an incomplete message before stream message ${seq}`)
  }

  /** Asks the writer for a State that holds what the gap lost, and skips to it. */
  const repair = (why: string, seq: number, data: Uint8Array) => {
    log.warn(`board ${room.id}: ${why} before stream message ${seq}; asking the writer for a State`)
    repairAt = null
    parked = [{ seq, data }]
    dropParts(seq)
    void requestState(link, room.id, { after: lastDocSeq, full: true }, () => stopped, log).then((reply) => {
      if (!reply) return
      repairAt = reply.streamSeq
      const held = parked
      parked = []
      for (const m of held) take(m.seq, m.data)
    })
  }

  /** Takes the stream's messages in order: puts parts together, finds gaps, fills the inbox. */
  const take = (seq: number, data: Uint8Array) => {
    if (repairAt === null) {
      parked.push({ seq, data })
      return
    }
    if (repairAt !== undefined) {
      if (seq < repairAt) {
        lastStreamSeq = seq
        return
      }
      const at = repairAt
      repairAt = undefined
      dropParts(seq)
      // The State itself is missing (lost too): ask again.
      if (seq !== at) return repair(`the State at stream message ${at} is missing`, seq, data)
      lastStreamSeq = seq - 1
    }
    if (seq <= lastStreamSeq) return
    // One subject a stream: any sequence skipped is a message the stream lost (deleted, or a
    // NATS server that lost it), a commit this edge would otherwise never hold.
    if (seq !== lastStreamSeq + 1) return repair(`stream messages ${lastStreamSeq + 1}..${seq - 1} are missing`, seq, data)
    lastStreamSeq = seq
    let message: CommitMessage | null = null
    try {
      if (isPart(data)) {
        const { whole, dropped, orphan } = parts.add(decodePart(data))
        // A part whose set's head this edge never read (it began following inside a set): what
        // the set holds cannot be had from here, so the writer publishes a State at once (rather
        // than the edge waiting for a later commit to show a hole in the seqs).
        if (orphan) return repair('a part whose set began before what this edge read', seq, data)
        if (dropped > 0) log.warn(`board ${room.id}: dropped ${dropped} parts of an incomplete message before stream message ${seq}`)
        // Applied with the stream sequence of its last part: a restart before it reads the set again.
        if (whole) message = decodeCommitMessage(whole)
        else if (seq >= target && !tailInSet) {
          tailInSet = true
          if (inbox.length === 0 && !applying) markReady()
        }
      } else {
        dropParts(seq)
        message = decodeCommitMessage(data)
      }
    } catch (err) {
      // Not a message of ours (a bug, or another publisher on the subject): skipped, said loudly.
      log.error(`board ${room.id}: stream message ${seq} is not a commit message (skipped):`, (err as Error).message)
    }
    if (!message) return
    const first = message.records[0]?.seq
    // A State holds the whole document: what it leaves out is a hole room-follow records.
    if (message.kind === CommitKind.Commit && first !== undefined && first > lastDocSeq + 1)
      return repair(`history seqs ${lastDocSeq + 1}..${first - 1} are missing`, seq, data)
    lastDocSeq = Math.max(lastDocSeq, message.docSeq)
    inbox.push({ message, seq })
    wake?.()
  }

  /** Finds where to follow from (after a State, if need be) and starts the consumer; resolves the stream's last sequence then, or null if stopped. */
  const setUp = async (): Promise<{ target: number; consumed: ConsumerMessages } | null> => {
    const from = await deps.history.getMeta(room.id, 'streamSeq', 0)
    let startAt = from + 1
    const { first_seq: first, last_seq: last } = (await link.jsm.streams.info(stream)).state
    // last < from: the stream was made anew (a NATS store lost): its sequences are not ours.
    if (first > startAt || last < from) {
      // The stream no longer holds the message after the last one applied here (its limits
      // dropped it, or it was purged): replaying is impossible, so the writer publishes a State
      // for this edge, and it follows from there. It carries at most the last 100,000 records.
      log.info(`board ${room.id}: the stream starts at ${first}, after ${from} applied here; asking the writer for a State`)
      const reply = await requestState(link, room.id, { after: room.lastSeq(), full: false }, () => stopped, log)
      if (!reply) return null
      startAt = reply.streamSeq
    }
    lastStreamSeq = startAt - 1
    const target = (await link.jsm.streams.info(stream)).state.last_seq
    if (lastStreamSeq >= target) markReady()
    const consumer = await link.js.consumers.get(stream, {
      filter_subjects: commits,
      ...(startAt > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startAt } : { deliver_policy: DeliverPolicy.All }),
    })
    if (stopped) return null
    // Pull requests of at most PULL_EXPIRES_MS with a heartbeat every HEARTBEAT_MS: a NATS restart
    // is noticed after two missed heartbeats and the consumer recreated at the next message
    // (with the client's defaults, 30 s and 15 s, placements waited that long for their commit).
    const consumed = await consumer.consume({ expires: PULL_EXPIRES_MS, idle_heartbeat: HEARTBEAT_MS })
    messages = consumed
    return { target, consumed }
  }

  const run = async () => {
    let started: { target: number; consumed: ConsumerMessages } | null = null
    // NATS may be away at the start (or go away during it): try again until it is back.
    for (let said = false; started === null; said = true) {
      try {
        started = await setUp()
        if (started === null) return
      } catch (err) {
        if (stopped) return
        if (!said) log.warn(`board ${room.id}: cannot follow ${stream} yet; retrying:`, (err as Error).message)
        await new Promise((resolve) => setTimeout(resolve, SETUP_RETRY_MS))
      }
    }
    target = started.target
    const apply = applyInbox()
    try {
      for await (const m of started.consumed) take(m.seq, m.data)
    } finally {
      reading = false
      wake?.()
    }
    await apply
  }

  /** Applies the inbox in batches until reading stops. */
  const applyInbox = async () => {
    for (;;) {
      if (inbox.length === 0) {
        if (!reading) return
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = null
        continue
      }
      // A State starts a batch of its own (its records may leave a hole before them: room-follow).
      let records = 0
      let n = 0
      while (n < inbox.length && (n === 0 || (records < MAX_BATCH_RECORDS && inbox[n]?.message.kind !== CommitKind.State)))
        records += (inbox[n++] as (typeof inbox)[number]).message.records.length
      const batch = inbox.slice(0, n)
      inbox = inbox.slice(n)
      const last = (batch[batch.length - 1] as (typeof batch)[number]).seq
      applying = true
      const followed = await room
        .follow(
          batch.map((b) => b.message),
          last,
        )
        .finally(() => {
          applying = false
        })
      if (!followed) return
      if (last >= target || (tailInSet && inbox.length === 0)) markReady()
      release()
    }
  }

  const done = run()
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
      stopped = true
      await messages?.close().catch(() => {})
      wake?.()
      await done.catch(() => {})
      for (const w of waiters) w.resolve()
      waiters = []
    },
  }
}
