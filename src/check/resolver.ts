// The TLSA RRset as a DANE client sees it: asked of a validating resolver with RD and DO set. The
// AD flag in the reply says the resolver validated it; without AD a DANE client ignores TLSA.
import { readFileSync } from 'node:fs';
import type * as packet from 'dns-packet';
import { DnsError } from '../errors.js';
import { formatServer, parseServer } from '../dns/address.js';
import { query } from '../dns/query.js';
import type { ServerAddress } from '../dns/types.js';
import type { Matching, Selector, TlsaRecord, Usage } from '../tlsa/record.js';

export interface ResolverAnswer {
  resolver: string;
  /** servfail: the resolver could not get a validated answer (bogus, or the servers are unreachable). */
  status: 'ok' | 'nodata' | 'nxdomain' | 'servfail' | 'error';
  /** The AD flag was set: the answer was DNSSEC-validated. */
  ad: boolean;
  records: TlsaRecord[];
  error?: string;
}

/** The first `nameserver` in resolv.conf (the system's resolver), as a server address. */
export function systemResolver(path = '/etc/resolv.conf'): ServerAddress | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^\s*nameserver\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  // A link-local IPv6 with a zone (fe80::1%eth0) is left to the caller's error message.
  return parseServer(m[1]!.includes(':') && !m[1]!.startsWith('[') ? `[${m[1]}]` : m[1]!);
}

const sameName = (a: string, b: string) => a.replace(/\.$/, '').toLowerCase() === b.replace(/\.$/, '').toLowerCase();

export async function lookupTlsa(name: string, resolver: ServerAddress, opts: { timeoutMs?: number } = {}): Promise<ResolverAnswer> {
  const shown = formatServer(resolver);
  try {
    const reply = await query(resolver, name, 'TLSA', { recursion: true, dnssec: true, timeoutMs: opts.timeoutMs ?? 3000, retries: 1 });
    const tlsa = (reply.answers ?? []).filter((a): a is packet.TlsaAnswer => a.type === 'TLSA' && sameName(a.name, name));
    const records: TlsaRecord[] = tlsa.map((a) => ({
      usage: a.data.usage as Usage,
      selector: a.data.selector as Selector,
      matching: a.data.matchingType as Matching,
      data: a.data.certificate.toString('hex'),
    }));
    const status = reply.rcode === 'NXDOMAIN' ? 'nxdomain' : records.length === 0 ? 'nodata' : 'ok';
    return { resolver: shown, status, ad: reply.flag_ad === true, records };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const servfail = e instanceof DnsError && e.rcode === 'SERVFAIL';
    return { resolver: shown, status: servfail ? 'servfail' : 'error', ad: false, records: [], error: message };
  }
}
