// What every authoritative server serves for TLSA at one name, asked at one moment. Each server's
// answer stands on its own: a server that fails is reported, never thrown, so the caller (the
// rollover planner) decides whether "not everywhere yet" means wait or fail.
import type * as packet from 'dns-packet';
import { sameRecord, type Matching, type Selector, type TlsaRecord, type Usage } from '../tlsa/record.js';
import { formatServer } from './address.js';
import { cnameIn, cnameRefusal } from './cname.js';
import { abs } from './zone.js';
import { query, type Ask, type DnsReply, type QueryOptions } from './query.js';
import type { NameObservation, ServerAddress, ServerAnswer } from './types.js';

export type ObserveOptions = Pick<QueryOptions, 'timeoutMs' | 'retries'> & {
  /** The clock, for tests (default Date.now). */
  now?: () => number;
  /** A run's query pool (pool.ts): bounded concurrency and shared sockets over many names. */
  ask?: Ask;
  /** Report a CNAME at the name in `cname` instead of refusing the name (check follows it). */
  allowCname?: boolean;
};

export async function observeTlsa(name: string, servers: ServerAddress[], options: ObserveOptions = {}): Promise<NameObservation> {
  const at = (options.now ?? Date.now)();
  const answers = await Promise.all(servers.map((s) => askOne(name, s, options)));
  const aliased = answers.find((a) => a.cname);
  if (aliased && !options.allowCname) throw cnameRefusal(name, aliased.cname!, aliased.server);
  return { name, at, answers };
}

async function askOne(name: string, server: ServerAddress, options: ObserveOptions): Promise<ServerAnswer> {
  const shown = formatServer(server);
  try {
    const reply = await (options.ask ?? query)(server, name, 'TLSA', { dnssec: true, timeoutMs: options.timeoutMs, retries: options.retries, tlsaOnly: true });
    return readAnswer(shown, name, reply);
  } catch (e) {
    return { server: shown, status: 'error', records: [], signed: false, error: e instanceof Error ? e.message : String(e) };
  }
}

const sameName = (a: string, b: string) => a.replace(/\.$/, '').toLowerCase() === b.replace(/\.$/, '').toLowerCase();

/** Turns a reply into a ServerAnswer: only TLSA and its RRSIGs owned by the name itself count. */
export function readAnswer(server: string, name: string, reply: DnsReply): ServerAnswer {
  if (!reply.flag_aa) {
    // A referral or a cached answer says nothing about what this server publishes.
    const error = `${server} is not authoritative for ${name} (no AA bit${reply.authorities?.some((a) => a.type === 'NS') ? ': a referral' : ''})`;
    return { server, status: 'error', records: [], signed: false, error };
  }
  // The zone this server answers from: the SOA of a negative answer, the signer of a signed one, the
  // NS set some servers add to a positive one (a publish checks it instead of asking SOA again).
  const soa = (reply.authorities ?? []).find((a) => a.type === 'SOA');
  if (reply.rcode === 'NXDOMAIN') return { server, status: 'nxdomain', records: [], signed: false, ...(soa ? { zone: abs(soa.name) } : {}) };
  const own = (reply.answers ?? []).filter((a) => sameName(a.name, name));
  const tlsa = own.filter((a): a is packet.TlsaAnswer => a.type === 'TLSA');
  const sig = own.find((a): a is packet.RrsigAnswer => a.type === 'RRSIG' && (a as packet.RrsigAnswer).data.typeCovered === 'TLSA');
  const signed = sig !== undefined;
  const cname = cnameIn(reply, name);
  if (cname) return { server, status: 'nodata', records: [], signed: false, cname };
  if (tlsa.length === 0) return { server, status: 'nodata', records: [], signed: false, ...(soa ? { zone: abs(soa.name) } : {}) };
  const apex = sig?.data.signersName ?? (reply.authorities ?? []).find((a) => a.type === 'NS')?.name;
  const records: TlsaRecord[] = tlsa.map((a) => ({
    usage: a.data.usage as Usage,
    selector: a.data.selector as Selector,
    matching: a.data.matchingType as Matching,
    data: a.data.certificate.toString('hex'),
  }));
  return { server, status: 'ok', records, ttl: Math.min(...tlsa.map((a) => a.ttl ?? 0)), signed, ...(apex !== undefined ? { zone: abs(apex) } : {}) };
}

/** Every server answered and serves `record` (signed, when asked to). */
export function servedByAll(obs: NameObservation, record: TlsaRecord, options: { requireSigned?: boolean } = {}): boolean {
  return (
    obs.answers.length > 0 &&
    obs.answers.every((a) => a.status === 'ok' && (!options.requireSigned || a.signed) && a.records.some((r) => sameRecord(r, record)))
  );
}

/** No server that answered serves `record` (servers in error are counted as unknown: false). */
export function goneFromAll(obs: NameObservation, record: TlsaRecord): boolean {
  return obs.answers.every((a) => a.status !== 'error' && !a.records.some((r) => sameRecord(r, record)));
}
