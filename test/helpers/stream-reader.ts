/**
 * A test's own look at a board's JetStream stream (issue 16): its first and last sequences, the
 * messages it holds, the deletion of one (a NATS server that lost a message) and the appending
 * of one (a writer that stopped in the middle of a part set), through the
 * official NATS client as an operator's tool would.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, headers } from '@nats-io/transport-node'
import { streamNames } from '../../shared/stream-messages.ts'

export type StreamLook = {
  /** The stream's first and last sequences now (first = last + 1 when empty). */
  bounds: () => Promise<{ first: number; last: number; messages: number }>
  /** The payload of every message the stream holds, with its sequence. */
  messages: () => Promise<{ seq: number; data: Uint8Array }[]>
  /** A header of the stream's last message (null: none). */
  lastHeader: (name: string) => Promise<string | null>
  /** The stream's limits as JetStream holds them (max_age in ns, max_bytes; -1 or 0: none). */
  limits: () => Promise<{ maxAge: number; maxBytes: number }>
  /** Deletes message `seq` from the stream. */
  remove: (seq: number) => Promise<void>
  /** Deletes every message of the stream (its sequences go on from where they were). */
  purge: () => Promise<void>
  /** Appends a message to the stream with these headers, as a writer would; resolves its sequence. */
  append: (data: Uint8Array, with_: Record<string, string>) => Promise<number>
  close: () => Promise<void>
}

export const lookAtStream = async (url: string, board: string): Promise<StreamLook> => {
  const nc = await connect({ servers: url })
  const jsm = await jetstreamManager(nc)
  const { stream } = streamNames(board)
  const bounds = async () => {
    const { state } = await jsm.streams.info(stream)
    return { first: state.first_seq, last: state.last_seq, messages: state.messages }
  }
  return {
    bounds,
    messages: async () => {
      const { first, last } = await bounds()
      const out: { seq: number; data: Uint8Array }[] = []
      for (let seq = first; seq <= last; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null)
        if (m) out.push({ seq, data: m.data })
      }
      return out
    },
    lastHeader: async (name) => {
      const m = await jsm.streams.getMessage(stream, { last_by_subj: streamNames(board).commits }).catch(() => null)
      return m?.header.get(name) ?? null
    },
    limits: async () => {
      const { config } = await jsm.streams.info(stream)
      return { maxAge: config.max_age, maxBytes: config.max_bytes }
    },
    remove: async (seq) => {
      await jsm.streams.deleteMessage(stream, seq)
    },
    purge: async () => {
      await jsm.streams.purge(stream)
    },
    append: async (data, with_) => {
      const h = headers()
      for (const [k, v] of Object.entries(with_)) h.set(k, v)
      return (await jetstream(nc).publish(streamNames(board).commits, data, { headers: h })).seq
    },
    close: () => nc.close(),
  }
}
