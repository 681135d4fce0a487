// The rollover model: plain data that the pure planner reads and the engine stores.
import type { TlsaRecord } from '../tlsa/record.js';

/** A chain (or a next key) reduced to what the planner needs: the records that match it. */
export interface ChainRef {
  /** SHA-256 of the leaf certificate's DER (or of the key's SPKI for a next key), hex. */
  id: string;
  /** Every record, at every TLSA name, that would match this chain when presented. */
  records: TlsaRecord[];
}

/** When a record was first seen served by every authoritative server, and when it is ready. */
export interface SeenEntry {
  since: number;
  /** since + 2 x max(TTL, negative TTL if the RRset was new), in ms. */
  readyAt: number;
}

/** A record dane-hook added: the only kind it will ever withdraw. */
export interface OwnedRecord {
  name: string;
  record: TlsaRecord;
  ttl: number;
  addedAt: number;
}

export interface RolloverState {
  /** The chain services present now. */
  inService?: ChainRef;
  /** Staged mode: a renewed chain waiting for its records to be ready. */
  pending?: ChainRef & { immediate?: boolean };
  /** A key published ahead of the renewal that will use it. */
  next?: ChainRef;
  /**
   * The chain that was in service when a promotion began: until the reload is known to have
   * succeeded, the service may still present it, so its records stay.
   */
  retiring?: ChainRef;
  owned: OwnedRecord[];
  /** name -> record key -> SeenEntry. */
  seen: Record<string, Record<string, SeenEntry>>;
  /** name -> what the last observation found there (for TTL and "RRset was new"). */
  names: Record<string, NameMemory>;
}

export interface NameMemory {
  /** Largest TTL the RRset was seen with. */
  maxTtl: number;
  /** The RRset was empty (NODATA/NXDOMAIN) at the last observation. */
  empty: boolean;
}

/** What the observer found at one name, reduced to record keys. */
export interface Presence {
  /** Served by at least one authoritative server. */
  anywhere: Set<string>;
  /** Served by every authoritative server (with an RRSIG when the zone is signed). */
  everywhere: Set<string>;
  /** The RRset's TTL as served (largest over servers), when non-empty. */
  ttl?: number;
  /** Every server answered (NOERROR or NXDOMAIN): absence from `anywhere` is then real. */
  complete?: boolean;
}

export type Step =
  | { kind: 'publish'; name: string; record: TlsaRecord; ttl: number }
  | { kind: 'promote'; chainId: string; immediate: boolean; retry?: boolean }
  | { kind: 'withdraw'; name: string; record: TlsaRecord };

export interface Plan {
  /** In the order they must run: publishes, then a promotion, then withdrawals. */
  steps: Step[];
  /** Earliest time (ms) at which a rerun may have more to do; undefined when nothing waits. */
  nextAt?: number;
  /** Per chain role: whether a ready record matches it at every name. */
  readiness: { inService?: boolean; pending?: boolean; next?: boolean };
  /** Withdrawals held back, with why. */
  held: string[];
}
