// The rollover model: plain data that the pure core (decide, applyStep) reads and the engine stores.
import type { TlsaParams, TlsaRecord } from '../tlsa/record.js';

/** A chain (or a next key) reduced to what the core needs: the records that match it. */
export interface ChainRef {
  /** SHA-256 of the leaf certificate's DER (or `key-` + SHA-256 of the SPKI for a next key), hex. */
  id: string;
  /** Every record, at every TLSA name, that would match this chain when presented. */
  records: TlsaRecord[];
  /** Validity of the leaf (ms), when known: the core warns before the chain in service expires. */
  notBefore?: number;
  notAfter?: number;
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
  /** The chain services present now (staged: the one the activate dir holds). */
  inService?: ChainRef;
  /** Staged mode: the newest renewed chain waiting for its records to be ready. */
  pending?: ChainRef & { immediate?: boolean };
  /**
   * Older renewed chains still waiting, oldest first. A renewal that arrives before the pending
   * chain is ready does not restart the wait: the newest chain that becomes ready is promoted.
   */
  waiting?: ChainRef[];
  /** A key published ahead of the renewal that will use it. */
  next?: ChainRef;
  /**
   * A chain the service may still present until a reload is known to have succeeded (the chain in
   * service when a promotion began, or before a direct-mode deploy): its records stay.
   */
  retiring?: ChainRef;
  /** A promotion (or direct-mode deploy with --reload) waits for its reload to succeed. */
  reloadDue?: boolean;
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

/**
 * The steps of a plan, in the order they must run. Each says why it is there. The engine carries
 * each out (DNS backend, activate dir, reload command, live probe), then saves applyStep's state.
 */
export type Step = StepBody & {
  /** A service with several lineages: the lineage whose state the step changes (rollover/lineages.ts). */
  lineage?: string;
};

type StepBody =
  | { kind: 'publish'; name: string; record: TlsaRecord; ttl: number; reason: string }
  /** Staged: write the chain into the activate dir; then it is in service. */
  | { kind: 'promote'; chainId: string; immediate: boolean; retry?: boolean; reason: string }
  /** Run the reload command (if any); once it worked, the retiring chain is no longer presented. */
  | { kind: 'reload'; chainId: string; retry?: boolean; reason: string }
  /** --connect: the live service must present this chain before the withdrawals after it run. */
  | { kind: 'verify'; chainId: string; reason: string }
  | { kind: 'withdraw'; name: string; record: TlsaRecord; reason: string };

/** Readiness of one (usage, selector, matching) combination of one chain at one name. */
export interface ComboReadiness {
  name: string;
  /** "3 1 1" */
  params: string;
  /** A ready record of this combination matches the chain. */
  ready: boolean;
  /** When the soonest of its records is ready (ms), if one is served everywhere. */
  readyAt?: number;
  /** False: the chain has no record of this combination (e.g. selector 0 for a bare next key). */
  matchable: boolean;
}

export type ChainRole = 'in service' | 'pending' | 'waiting' | 'next key' | 'retiring';

export interface ChainReadiness {
  role: ChainRole;
  /** A service with several lineages: whose chain it is. */
  lineage?: string;
  id: string;
  /** Every combination it can match has a ready record at every name. */
  ready: boolean;
  combos: ComboReadiness[];
}

/** Service settings the core decides with (no I/O in any of them). */
export interface DecideOptions {
  /** The TLSA owner names of the service (absolute). */
  names: string[];
  /** The combinations the service publishes (its --records). */
  params: TlsaParams[];
  ttl: number;
  /** Records always wanted at every name (extra CA pins). */
  pins: TlsaRecord[];
  /** Staged mode (--activate-dir): renewals wait as pending; promotions are steps. */
  staged: boolean;
  /** A reload command is configured. */
  reload: boolean;
  /** --connect: withdrawals wait for the live service to present the chain in service. */
  connect: boolean;
  /**
   * Records other lineages of the service need (an RSA and an ECDSA chain may share a 2 1 1): never
   * withdrawn by this one, and not published by it either (the lineage that needs them does).
   */
  keep?: TlsaRecord[];
  /** --force: withdrawals the safety check refuses go ahead. */
  force?: boolean;
  /** How long to wait before looking again while a record is not yet served everywhere (ms). */
  pollMs?: number;
  /** When the chain in service counts as close to expiry (default: defaultLifetimePolicy). */
  lifetime?: LifetimePolicy;
}

/**
 * How certificate lifetimes shape the run. A seam for short-lived certificate rules (issue 12:
 * src/rollover/lifetime.ts): decide asks it, and adds its warnings to the result.
 */
export interface LifetimePolicy {
  /** How long before its notAfter the chain in service counts as close to expiry (ms). */
  warnBeforeMs(chain: ChainRef): number;
  /** Further warnings for this run (e.g. a TTL too long for the lifetime). */
  warnings?(input: LifetimeInput): string[];
  /**
   * pre-renew, when the next key's record is not ready: hold the renewal (exit 5), or let it
   * through with a warning because holding could make the certificate in service expire.
   * Without it, a renewal is always held.
   */
  renewalGate?(input: LifetimeInput): { verdict: 'hold'; reason: string } | { verdict: 'release'; warning: string };
}

export interface LifetimeInput {
  /** The state as it stands once the plan ran. */
  state: RolloverState;
  options: DecideOptions;
  now: number;
  /** The zone's negative-caching TTL (s): a new RRset waits on it too. */
  negativeTtl: number;
}

/** What a hook call brings, reduced to chain references (the engine loaded the files). */
export type DecideTrigger =
  | { kind: 'deploy'; chain: ChainRef; nextKey?: ChainRef }
  | { kind: 'pre-renew'; nextKey?: ChainRef }
  | { kind: 'advance'; nextKey?: ChainRef };

/** What the authoritative servers serve now, per name, and the zone's negative TTL. */
export interface Observation {
  presence: Record<string, Presence>;
  negativeTtl: number;
}

export interface Decision {
  /** The state with the trigger and observation folded in; apply the plan's steps to it in order. */
  state: RolloverState;
  plan: Step[];
  /** What waits, and why (withdrawals held, promotions held). */
  held: string[];
  readiness: ChainReadiness[];
  /** Earliest time (ms) at which a rerun may have more to do; undefined when nothing waits. */
  nextAt?: number;
  warnings: string[];
  /** Exit code of this decision alone (see errors.ts for the order). */
  outcome: number;
  /** The deploy trigger's chain was already known (a rerun): nothing changed. */
  known: boolean;
  /** Direct mode put a chain in service that no ready record matched (per combination). */
  unsafe: boolean;
  /** The trigger's next key is used by a chain in service or pending: it is no longer "next". */
  nextKeyUsed: boolean;
}
