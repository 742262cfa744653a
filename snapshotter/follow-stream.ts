/**
 * Follows one board's JetStream stream (scaling out: docs/ARCHITECTURE.md) instead of a relay
 * socket: the writer's Commit and State messages, put in order by shared/stream-order.ts, are
 * applied to a Y.Doc as an edge applies them (their Yjs updates, in stream order), so that the
 * document is exactly the writer's at a stream position and a snapshot's `seq` is exactly the
 * history seq it holds (the message's docSeq; not a cursor that may trail, as over a socket).
 *
 * It starts from `resume` (snapshotter/stream-doc-file.ts: the document and the stream position
 * of its latest snapshot) and asks the stream for the next message only: no replay. When the
 * stream no longer holds that message (its limits trimmed it, or it was made anew), or there is
 * no `resume` and the stream does not start at 1, it asks the writer for a State (the whole
 * document) and starts from an empty document and that State. A gap met while following (a
 * message the stream lost) is never applied past: a State repairs it.
 */
import { type ConsumerMessages, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as Y from 'yjs'
import type { Logger } from '../node-kit/log.ts'
import { requestStateOver } from '../node-kit/state-request.ts'
import { CommitKind, streamNames } from '../shared/stream-messages.ts'
import { createStreamOrder, type OrderStep, type StreamOrder } from '../shared/stream-order.ts'
import { type BoardFollow, captureDoc, versionOf } from './follow.ts'
import type { StreamDoc } from './stream-doc-file.ts'

/** Ms between two attempts to reach NATS, or to find the board's stream (the writer makes it). */
const RETRY_MS = 250
/** Ms between two attempts to follow after a failure of JetStream (as an edge's). */
const SETUP_RETRY_MS = 1_000
/** Ms a pull request for messages waits on the server before the client asks again (as an edge's). */
const PULL_EXPIRES_MS = 5_000
/** Ms between the server's heartbeats on an idle pull request: a NATS restart is noticed after two missed. */
const HEARTBEAT_MS = 1_000

export const followStream = (opts: { natsUrl: string; board: string; resume: StreamDoc | null; log: Logger }): BoardFollow => {
  const { board, log } = opts
  const { stream, commits } = streamNames(board)
  let doc = new Y.Doc()
  /** Whether `doc` holds `applied` (the resume loaded, a State asked for, or messages applied). */
  let loaded = false
  let stopped = false
  let nc: NatsConnection | null = null
  let messages: ConsumerMessages | null = null
  let order: StreamOrder | null = null
  /** The stream sequence of the last message applied, and the history seq the document holds. */
  let applied = { streamSeq: 0, docSeq: 0 }
  /** The stream's last sequence when following started: synced once taken that far. */
  let target = Number.POSITIVE_INFINITY
  let from: number | null = null
  const listeners = new Set<() => void>()
  const notify = () => {
    for (const fn of listeners) fn()
  }
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  /** Carries out the steps `source` returned. */
  const run = (source: StreamOrder, steps: OrderStep[]) => {
    for (const step of steps) {
      if (step.kind === 'warn') log.warn(`board ${board}: ${step.text}`)
      else if (step.kind === 'repair') {
        log.warn(`board ${board}: ${step.why} before stream message ${step.at}; asking the writer for a State`)
        void requestStateOver(
          () => nc as NatsConnection,
          board,
          { after: step.after, full: false },
          () => stopped,
          log,
        ).then((reply) => {
          // Unless following started over meanwhile (a new order, from what was applied).
          if (reply && order === source && !stopped) run(source, source.repaired(reply.streamSeq))
        })
      } else {
        const { message, streamSeq } = step
        if (message.update.length > 0) Y.applyUpdate(doc, message.update)
        // Records republished without their update (a writer's start) are in the document only
        // once the State after them is: the seq held moves with updates and States only.
        const seq =
          message.update.length > 0 || message.kind === CommitKind.State ? Math.max(applied.docSeq, message.docSeq) : applied.docSeq
        applied = { streamSeq, docSeq: seq }
      }
    }
    if (steps.length > 0) notify()
  }

  const start = async () => {
    for (let said = false; !nc; said = true) {
      if (stopped) return
      try {
        nc = await connect({
          servers: opts.natsUrl,
          name: `tessera-snapshotter-${board}`,
          maxReconnectAttempts: -1,
          reconnectTimeWait: RETRY_MS,
          pingInterval: 2_000,
          maxPingOut: 2,
          timeout: 5_000,
        })
      } catch (err) {
        if (!said) log.warn(`NATS ${opts.natsUrl}: not reachable (${(err as Error).message}); trying again every ${RETRY_MS} ms`)
        await pause(RETRY_MS)
      }
    }
    if (stopped) return void (await nc.close())
    const conn = nc
    // A failure while setting up or reading (JetStream not answering, say): start again from
    // what is applied, as long as it runs.
    for (let said = false; !stopped; said = true) {
      try {
        return await follow(conn)
      } catch (err) {
        if (stopped) return
        if (!said) log.warn(`board ${board}: cannot follow ${stream}; retrying:`, (err as Error).message)
        await pause(SETUP_RETRY_MS)
      }
    }
  }

  /** Finds where to follow from (after a State, if need be) and follows until the consumer stops. */
  const follow = async (conn: NatsConnection) => {
    const jsm = await jetstreamManager(conn)
    let state: { first_seq: number; last_seq: number } | null = null
    for (let said = false; !state; said = true) {
      if (stopped) return
      state = await jsm.streams
        .info(stream)
        .then((i) => i.state)
        .catch(() => null)
      if (!state) {
        if (!said) log.warn(`board ${board}: no stream ${stream} yet (the writer makes it); waiting`)
        await pause(RETRY_MS)
      }
    }
    // Where the document stands: what it applied, or (at the first start) the latest snapshot's.
    const held = loaded ? applied : opts.resume
    const after = held?.streamSeq ?? 0
    let startAt = after + 1
    // last < after: the stream was made anew (its sequences are not those of the resume).
    if (state.first_seq > startAt || state.last_seq < after) {
      log.info(`board ${board}: the stream starts at ${state.first_seq}, after ${after} applied here; asking the writer for a State`)
      const reply = await requestStateOver(
        () => conn,
        board,
        { after: held?.docSeq ?? 0, full: false },
        () => stopped,
        log,
      )
      if (!reply) return
      // The State holds the whole document: start from it alone (a stream made anew may be another history's).
      if (loaded) {
        doc.destroy()
        doc = new Y.Doc()
      }
      startAt = reply.streamSeq
      applied = { streamSeq: startAt - 1, docSeq: 0 }
    } else if (!loaded && opts.resume) {
      Y.applyUpdate(doc, opts.resume.update)
      applied = { streamSeq: opts.resume.streamSeq, docSeq: opts.resume.docSeq }
    }
    loaded = true
    const following = createStreamOrder(applied)
    order = following
    target = (await jsm.streams.info(stream)).state.last_seq
    from = startAt
    log.info(`board ${board}: following ${stream} from stream message ${startAt} (it holds up to ${target})`)
    const consumer = await jetstream(conn).consumers.get(stream, {
      filter_subjects: commits,
      ...(startAt > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startAt } : { deliver_policy: DeliverPolicy.All }),
    })
    if (stopped) return
    messages = await consumer.consume({ expires: PULL_EXPIRES_MS, idle_heartbeat: HEARTBEAT_MS })
    notify()
    for await (const m of messages) run(following, following.take(m.seq, m.data))
  }
  const done = start().catch((err: Error) => {
    if (!stopped) log.error(`board ${board}: following ${stream} stopped: ${err.message}`)
  })

  return {
    synced: () => order !== null && !order.repairing() && order.position().streamSeq >= target,
    version: () => versionOf(doc),
    capture: () => {
      const capture = captureDoc(doc, applied.docSeq)
      if (capture) capture.resume = { ...applied, update: Y.encodeStateAsUpdate(doc) }
      return capture
    },
    onChange: (fn) => {
      listeners.add(fn)
    },
    streamFrom: () => from,
    close: async () => {
      stopped = true
      listeners.clear()
      await messages?.close().catch(() => {})
      // Before waiting for it: closing the connection ends a State request in flight at once.
      await nc?.close().catch(() => {})
      await done
      doc.destroy()
    },
  }
}
