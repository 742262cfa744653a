/**
 * The audit log: who did what, when, and how many tiles it changed, one JSON entry a seq
 * (global: not by board), read newest first by the admin API.
 */
import type { HistoryLevel } from './history-db.ts'
import { type BatchOp, decodeJson, encodeJson, Prefix, readU64, writeU64 } from './history-keys.ts'

/**
 * An audit log entry: who did what, when, and how many tiles it changed. `address`: the client
 * address the call came from (TRUST_PROXY; through an edge, the edge's client:
 * relay/replay-address.ts); absent in entries written before it was recorded.
 */
export type AuditEntry = {
  seq: number
  at: number
  actor: string
  address?: string
  action: string
  board: string | null
  tiles: number
  details: unknown
}

export type AuditLog = {
  /** Appends an entry (its seq is assigned here) and returns it. */
  appendAudit: (entry: Omit<AuditEntry, 'seq'>) => Promise<AuditEntry>
  /** Entries newest first: at most `limit`, with seq < `beforeSeq` if given. */
  readAudit: (limit: number, beforeSeq?: number) => Promise<AuditEntry[]>
  /** Assigns an entry its seq and returns it with its write, to join another batch. */
  takeAudit: (entry: Omit<AuditEntry, 'seq'>) => { full: AuditEntry; op: BatchOp }
}

const auditPrefix = new Uint8Array([Prefix.Audit])

const auditKey = (seq: number) => {
  const key = new Uint8Array(9)
  key[0] = Prefix.Audit
  writeU64(key, 1, seq)
  return key
}

/** Opens the log: reads its last seq. */
export const openAuditLog = async (db: HistoryLevel, sync: boolean): Promise<AuditLog> => {
  let auditSeq = 0
  for await (const key of db.keys({ gte: auditPrefix, lt: new Uint8Array([Prefix.Audit + 1]), reverse: true, limit: 1 })) {
    auditSeq = readU64(key, 1)
  }
  return {
    appendAudit: async (entry) => {
      auditSeq += 1
      const full = { seq: auditSeq, ...entry }
      await db.put(auditKey(auditSeq), encodeJson(full), { sync })
      return full
    },
    readAudit: async (limit, beforeSeq) => {
      const lt = auditKey(beforeSeq ?? 2 ** 53)
      const out: AuditEntry[] = []
      for await (const value of db.values({ gt: auditPrefix, lt, reverse: true, limit })) out.push(decodeJson(value) as AuditEntry)
      return out
    },
    takeAudit: (entry) => {
      // The seq is taken before the write, as appendAudit does: two entries never share one.
      auditSeq += 1
      const full = { seq: auditSeq, ...entry }
      return { full, op: { type: 'put', key: auditKey(full.seq), value: encodeJson(full) } }
    },
  }
}
