/**
 * An edge relay's State request (scaling out: docs/ARCHITECTURE.md): node-kit/state-request.ts
 * over the relay's NATS link (the stream-following snapshotter asks the same way).
 */
import type { Logger } from '../node-kit/log.ts'
import { requestStateOver } from '../node-kit/state-request.ts'
import type { StateRequest } from '../shared/stream-messages.ts'
import type { NatsLink } from './nats-link.ts'

export const requestState = (
  link: NatsLink,
  board: string,
  request: StateRequest,
  stopped: () => boolean,
  log: Logger,
): Promise<{ streamSeq: number; docSeq: number } | null> => requestStateOver(() => link.nc, board, request, stopped, log)
