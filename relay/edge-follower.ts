/**
 * An edge relay's copy of one board (scaling out: docs/ARCHITECTURE.md): follows the board's
 * JetStream stream with an ordered consumer from the message after the last one this edge
 * applied (history meta `streamSeq`, written with each application), puts its messages in order
 * (shared/stream-order.ts, the rules every stream follower keeps), and hands the Commit
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
import { CommitKind, type CommitMessage, streamNames } from '../shared/stream-messages.ts'
import { createStreamOrder, type OrderStep, type StreamOrder } from '../shared/stream-order.ts'
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
  /**
   * Resolves once the room's document holds history seq `seq` and the commit that brought it was
   * broadcast (its durable write here may still be under way: the writer's is done): true; false
   * after `timeoutMs` without it (never rejects).
   */
  whenApplied: (seq: number, timeoutMs: number) => Promise<boolean>
  /**
   * Resolves once the messages the stream held at start are applied (a part set still incomplete
   * at the stream's end then aside: what precedes it is enough).
   */
  ready: Promise<void>
  /** Stops following (the room stays open). */
  close: () => Promise<void>
}

/** Following begun: the stream's last sequence then, its messages, and the order they are taken in. */
type Started = { target: number; consumed: ConsumerMessages; order: StreamOrder }

export const followStream = async (deps: { link: NatsLink; room: Room; history: HistoryStore; log: Logger }): Promise<EdgeFollower> => {
  const { link, room, log } = deps
  const { stream, commits } = streamNames(room.id)
  let stopped = false
  let messages: ConsumerMessages | null = null
  let waiters: { seq: number; resolve: (applied: boolean) => void }[] = []
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    markReady = resolve
  })
  /** The history seq the document holds: applied and broadcast, durable here or being written. */
  let applied = room.lastSeq()
  const release = (held: number) => {
    if (held > applied) applied = held
    const due = waiters.filter((w) => w.seq <= held)
    if (due.length === 0) return
    waiters = waiters.filter((w) => w.seq > held)
    for (const w of due) w.resolve(true)
  }
  // Messages wait here while the room applies the ones before: each application is one durable
  // write, so what arrived meanwhile goes in the next one together (an edge's group commit;
  // applied one by one, 1,000 commits a second left the edge seconds behind).
  let inbox: { message: CommitMessage; seq: number }[] = []
  let wake = null as (() => void) | null
  let reading = true
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

  /**
   * Carries out the steps of `order` (shared/stream-order.ts): messages to apply go to the inbox;
   * a gap (messages the stream lost, or an orphan part) is repaired by a State the writer
   * publishes, with every record after what this edge holds (`full`), and the messages held
   * meanwhile are taken again from it.
   */
  const carry = (order: StreamOrder, steps: OrderStep[]) => {
    for (const step of steps) {
      if (step.kind === 'warn') log.warn(`board ${room.id}: ${step.text}`)
      else if (step.kind === 'repair') {
        log.warn(`board ${room.id}: ${step.why} before stream message ${step.at}; asking the writer for a State`)
        void requestState(link, room.id, { after: step.after, full: true }, () => stopped, log).then((reply) => {
          if (reply) carry(order, order.repaired(reply.streamSeq))
        })
      } else {
        inbox.push({ message: step.message, seq: step.streamSeq })
        wake?.()
      }
    }
    const { streamSeq, partsPending } = order.position()
    if (partsPending && streamSeq >= target && !tailInSet) {
      tailInSet = true
      if (inbox.length === 0 && !applying) markReady()
    }
  }

  /**
   * Finds where to follow from (after a State, if need be) and starts the consumer; resolves the
   * stream's last sequence then and the order its messages are taken in, or null if stopped.
   */
  const setUp = async (): Promise<Started | null> => {
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
    // What the room holds (after a State bootstrap too: the State's own message comes next).
    const order = createStreamOrder({ streamSeq: startAt - 1, docSeq: room.lastSeq() })
    const target = (await link.jsm.streams.info(stream)).state.last_seq
    if (startAt - 1 >= target) markReady()
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
    return { target, consumed, order }
  }

  const run = async () => {
    let started: Started | null = null
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
      const { order } = started
      for await (const m of started.consumed) carry(order, order.take(m.seq, m.data))
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
          release,
        )
        .finally(() => {
          applying = false
        })
      if (!followed) return
      if (last >= target || (tailInSet && inbox.length === 0)) markReady()
      release(room.lastSeq())
    }
  }

  const done = run()
  done.catch((err: Error) => log.error(`board ${room.id}: following ${stream} stopped:`, err.message))
  return {
    whenApplied: (seq, timeoutMs) => {
      if (Math.max(applied, room.lastSeq()) >= seq) return Promise.resolve(true)
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs)
        waiters.push({
          seq,
          resolve: (done) => {
            clearTimeout(timer)
            resolve(done)
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
      for (const w of waiters) w.resolve(false)
      waiters = []
    },
  }
}
