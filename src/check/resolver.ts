// The TLSA RRset as a DANE client sees it: asked of a validating resolver with RD and DO set. The
// AD flag in the reply says the resolver validated it; without AD a DANE client ignores TLSA.
import { readFileSync } from 'node:fs';
import type * as packet from 'dns-packet';
import { DnsError } from '../errors.js';
import { formatServer, parseServer } from '../dns/address.js';
import { cnameChain, MAX_CNAME_LINKS } from '../dns/cname.js';
import { query, type DnsReply } from '../dns/query.js';
import type { ServerAddress } from '../dns/types.js';
import type { Matching, Selector, TlsaRecord, Usage } from '../tlsa/record.js';

export interface ResolverAnswer {
  resolver: string;
  /** servfail: the resolver could not get a validated answer (bogus, or the servers are unreachable). */
  status: 'ok' | 'nodata' | 'nxdomain' | 'servfail' | 'error';
  /** The AD flag was set: the answer was DNSSEC-validated. */
  ad: boolean;
  records: TlsaRecord[];
  /** The CNAME targets followed from the name, in order (RFC 7671 7); absent without a CNAME. */
  cname?: string[];
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

/**
 * TLSA at `name` through the resolver, following a CNAME chain to the records at its end. The
 * resolver validates the whole chain: AD is set only when every link is secure.
 */
export async function lookupTlsa(name: string, resolver: ServerAddress, opts: { timeoutMs?: number } = {}): Promise<ResolverAnswer> {
  const shown = formatServer(resolver);
  try {
    const ask = (at: string) => query(resolver, at, 'TLSA', { recursion: true, dnssec: true, timeoutMs: opts.timeoutMs ?? 3000, retries: 1 });
    const followed: string[] = [];
    let at = name;
    let reply: DnsReply = await ask(at);
    let ad = reply.flag_ad === true;
    for (;;) {
      const links = cnameChain(reply, at);
      const loop = links.some((l) => followed.includes(l) || sameName(l, name));
      followed.push(...links);
      if (loop || followed.length > MAX_CNAME_LINKS) throw new Error(`the CNAME chain from ${name} loops or has more than ${MAX_CNAME_LINKS} links: ${followed.join(' -> ')}`);
      at = followed[followed.length - 1] ?? name;
      // A resolver normally answers the whole chain; when it stops at a link, ask for the rest.
      if (links.length === 0 || tlsaAt(reply, at).length > 0 || reply.rcode === 'NXDOMAIN') break;
      reply = await ask(at);
      ad = ad && reply.flag_ad === true;
    }
    const records: TlsaRecord[] = tlsaAt(reply, at).map((a) => ({
      usage: a.data.usage as Usage,
      selector: a.data.selector as Selector,
      matching: a.data.matchingType as Matching,
      data: a.data.certificate.toString('hex'),
    }));
    const status = reply.rcode === 'NXDOMAIN' ? 'nxdomain' : records.length === 0 ? 'nodata' : 'ok';
    return { resolver: shown, status, ad, records, ...(followed.length > 0 ? { cname: followed } : {}) };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const servfail = e instanceof DnsError && e.rcode === 'SERVFAIL';
    return { resolver: shown, status: servfail ? 'servfail' : 'error', ad: false, records: [], error: message };
  }
}

/** TLSA records owned by `name` in a reply; wire values are taken as they are (255 included). */
const tlsaAt = (reply: DnsReply, name: string) => (reply.answers ?? []).filter((a): a is packet.TlsaAnswer => a.type === 'TLSA' && sameName(a.name, name));
