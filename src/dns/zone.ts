// The zone a name lives in, as one authoritative server tells: walk up from the name asking for
// SOA until a server answers with the zone's SOA (in the answer at the apex, in the authority
// section below it). Then its negative TTL, whether it is signed, and its name servers.
import { lookup } from 'node:dns/promises';
import type * as packet from 'dns-packet';
import { DnsError } from '../errors.js';
import { checkName } from '../tlsa/name.js';
import { formatServer } from './address.js';
import { query, type Ask, type DnsReply, type QueryOptions } from './query.js';
import type { ServerAddress, ZoneInfo } from './types.js';

type Opts = Pick<QueryOptions, 'timeoutMs' | 'retries'> & {
  /** A run's query pool (pool.ts); default one socket per question. */
  ask?: Ask;
};

const split = (o: Opts): { ask: Ask; q: Pick<QueryOptions, 'timeoutMs' | 'retries'> } => ({
  ask: o.ask ?? query,
  q: { timeoutMs: o.timeoutMs, retries: o.retries },
});

/** A name in the one form zones are compared in: lower case, with the trailing dot. */
export const abs = (n: string) => `${n.replace(/\.$/, '').toLowerCase()}.`;

/** True when `name` is `zone` or below it (both in the same form). */
export const inZone = (name: string, zone: string) => name === zone || name.endsWith(`.${zone}`);
const parent = (n: string) => n.slice(n.indexOf('.') + 1);

function soaOf(reply: DnsReply): packet.SoaAnswer | undefined {
  const all = [...(reply.answers ?? []), ...(reply.authorities ?? [])];
  return all.find((a): a is packet.SoaAnswer => a.type === 'SOA');
}

/**
 * The SOA of the zone `server` holds `name` in: walk up from the name. A zone cut below a zone the
 * server holds (a delegation to other servers) is an error naming the child zone.
 */
export async function enclosingSoa(name: string, server: ServerAddress, options: Opts = {}): Promise<packet.SoaAnswer> {
  const start = checkName(name);
  const { ask, q } = split(options);
  let soa: packet.SoaAnswer | undefined;
  for (let candidate = start; candidate !== ''; candidate = parent(candidate)) {
    let reply: DnsReply;
    try {
      reply = await ask(server, candidate, 'SOA', { ...q, dnssec: true });
    } catch (e) {
      // REFUSED/NOTAUTH: not this server's zone at this level; anything else is a real failure.
      if (e instanceof DnsError && (e.rcode === 'REFUSED' || e.rcode === 'NOTAUTH')) continue;
      throw e;
    }
    soa = soaOf(reply);
    if (soa) break;
    const cut = (reply.authorities ?? []).find((a) => a.type === 'NS');
    if (cut) {
      throw new DnsError(`${start} is in zone ${abs(cut.name)}, delegated away from ${formatServer(server)}: ask that zone's own servers`, {
        server: formatServer(server),
      });
    }
  }
  if (!soa) {
    throw new DnsError(`${formatServer(server)} is not authoritative for any zone containing ${start}: check the server address and the name`, {
      server: formatServer(server),
    });
  }
  return soa;
}

export async function discoverZone(name: string, server: ServerAddress, options: Opts = {}): Promise<ZoneInfo> {
  const { ask, q } = split(options);
  const soa = await enclosingSoa(name, server, options);
  const zone = abs(soa.name);
  const [apexSoa, dnskey, ns] = await Promise.all([
    ask(server, zone, 'SOA', { ...q, dnssec: true }),
    ask(server, zone, 'DNSKEY', { ...q, dnssec: true }),
    ask(server, zone, 'NS', q),
  ]);
  const soaRecord = (apexSoa.answers ?? []).find((a): a is packet.SoaAnswer => a.type === 'SOA') ?? soa;
  const soaSigned = (apexSoa.answers ?? []).some((a) => a.type === 'RRSIG' && (a as packet.RrsigAnswer).data.typeCovered === 'SOA');
  const hasDnskey = (dnskey.answers ?? []).some((a) => a.type === 'DNSKEY');
  return {
    zone,
    negativeTtl: Math.min(soaRecord.ttl ?? 0, soaRecord.data.minimum ?? 0),
    signed: hasDnskey && soaSigned,
    nameServers: (ns.answers ?? []).filter((a) => a.type === 'NS').map((a) => abs((a as packet.StringAnswer).data)).sort(),
  };
}

/**
 * Addresses of the zone's name servers, each with `port`. In-zone names are asked of `server`
 * first (its glue); the rest go through the system resolver. A name that resolves to nothing is
 * an error: "every authoritative server" must not quietly become "some".
 */
export async function resolveNameServers(info: ZoneInfo, server: ServerAddress, port = server.port, options: Opts = {}): Promise<ServerAddress[]> {
  const found = await Promise.all(info.nameServers.map((ns) => addressesOf(ns, info.zone, server, options)));
  const seen = new Set<string>();
  const out: ServerAddress[] = [];
  found.flat().forEach((host) => {
    if (!seen.has(host)) out.push({ host, port });
    seen.add(host);
  });
  return out;
}

async function addressesOf(ns: string, zone: string, server: ServerAddress, options: Opts): Promise<string[]> {
  if (ns === zone || ns.endsWith(`.${zone}`)) {
    const { ask, q } = split(options);
    const replies = await Promise.all((['A', 'AAAA'] as const).map((t) => ask(server, ns, t, q).catch(() => undefined)));
    const glue = replies.flatMap((r) => (r?.answers ?? []).filter((a) => a.type === 'A' || a.type === 'AAAA').map((a) => (a as packet.StringAnswer).data));
    if (glue.length > 0) return glue;
  }
  try {
    return (await lookup(ns.replace(/\.$/, ''), { all: true })).map((a) => a.address);
  } catch (e) {
    throw new DnsError(`name server ${ns} of zone ${zone} has no address (${(e as NodeJS.ErrnoException).code ?? String(e)}): list the zone's servers explicitly`, {
      cause: e,
    });
  }
}
