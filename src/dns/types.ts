// What the DNS edge deals in: single-record changes, backends that apply them, and observations
// of what each authoritative server serves. Plain objects, printable as text and JSON.
import type { TlsaRecord } from '../tlsa/record.js';
import type { UserError } from '../errors.js';

/** One single-record change. Names are absolute (trailing dot), checked by tlsa/name.ts. */
export interface RecordChange {
  op: 'add' | 'delete';
  name: string;
  ttl: number;
  record: TlsaRecord;
}

/** One service's changes to one zone in one phase: sent in one message, applied or failed whole. */
export interface ChangeGroup {
  /** Who the changes belong to (a service id), named in its failure. */
  id: string;
  changes: RecordChange[];
}

export interface GroupResult {
  id: string;
  /** Undefined: applied. */
  error?: UserError;
}

export const BACKEND_NAMES = ['emit', 'nsupdate', 'exec', 'powerdns'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export const EMIT_FORMATS = ['nsupdate', 'zone', 'json'] as const;
export type EmitFormat = (typeof EMIT_FORMATS)[number];

/** What the backends read from a service's DNS settings (config dns.* or the DNS flags). */
export interface BackendSettings {
  /** Where updates go (nsupdate); also asked for the zone's SOA/NS when zone or authServers are not given. */
  server?: ServerAddress;
  /** Path of a key file as written by tsig-keygen. Never read into logs. */
  tsigKeyFile?: string;
  emitFormat: EmitFormat;
  /** exec backend: the command run once per single-record change (split into words, no shell). */
  command?: string;
  /** powerdns backend: the HTTP API base, e.g. http://127.0.0.1:8081. */
  apiUrl?: string;
  /** powerdns backend: file holding the X-API-Key. Checked to exist, read only when applying, never logged. */
  apiKeyFile?: string;
}

/** A DNS server address as given by the user: HOST[:PORT] or [V6]:PORT. */
export interface ServerAddress {
  host: string;
  port: number;
}

export interface ApplyOptions {
  /** The zone the names are in (absolute). */
  zone: string;
}

/** Where the emit backend hands the changes it was given (checked, in order, for one zone). */
export type EmitSink = (changes: RecordChange[], zone: string) => void | Promise<void>;

/** A DNS backend applies changes for one zone, in the order given. */
export interface Backend {
  readonly name: string;
  /** True when apply() changes DNS itself; false for emit (a person applies the printed plan). */
  readonly applies: boolean;
  apply(changes: RecordChange[], options: ApplyOptions): Promise<void>;
  /**
   * Many groups of checked changes for one zone in few messages (batch.ts); one result per group,
   * in order. Optional: batch.ts applies group by group without it.
   */
  applyGroups?(groups: ChangeGroup[], options: ApplyOptions): Promise<GroupResult[]>;
  /**
   * Resolves when what applyGroups sent to the zone is served (it may return before: nsupdate's
   * messages are signed by named after it answered). Optional: without it, applied is served.
   */
  settled?(zone: string): Promise<void>;
}

/** What one authoritative server answered for TLSA at one name. */
export interface ServerAnswer {
  server: string;
  /** NOERROR with records, NOERROR with none (NODATA), NXDOMAIN, or an error text. */
  status: 'ok' | 'nodata' | 'nxdomain' | 'error';
  records: TlsaRecord[];
  /** TTL of the RRset as served, when there is one. */
  ttl?: number;
  /** An RRSIG covering the TLSA RRset came with it (DO bit set in the query). */
  signed: boolean;
  /** The name is a CNAME to this target (absolute); the records are then the target's, if any. */
  cname?: string;
  /** The zone the server answered from (absolute), when the reply shows it: its SOA, signer or NS set. */
  zone?: string;
  error?: string;
}

/** TLSA at one owner name, asked of every authoritative server at one moment. */
export interface NameObservation {
  name: string;
  /** ms since epoch */
  at: number;
  answers: ServerAnswer[];
}

/** The zone a name belongs to, as its primary tells. */
export interface ZoneInfo {
  zone: string;
  /** Negative-caching TTL: min(SOA TTL, SOA MINIMUM) (RFC 2308 5). */
  negativeTtl: number;
  /** The zone has a DNSKEY RRset and signs its SOA. */
  signed: boolean;
  /** NS host names of the zone. */
  nameServers: string[];
}
