// TLSA names that are CNAMEs (`_25._tcp.mx CNAME _dane.example.com.`, the shared-RRset pattern of
// fleets). A DANE client follows the validated chain and uses the records at its end (RFC 7671 7).
// `check` does the same; the rollover engine refuses such a name, because its single-record
// changes would go to the alias (where RFC 1034 3.6.2 allows no other data) instead of the target.
import type * as packet from 'dns-packet';
import { UserError } from '../errors.js';
import type { DnsReply } from './query.js';

/** More links than this is a loop or a misconfiguration (resolvers stop around 8-12). */
export const MAX_CNAME_LINKS = 8;

const norm = (n: string) => n.replace(/\.$/, '').toLowerCase();
const abs = (n: string) => `${norm(n)}.`;

/** The CNAME target owned by `name` in a reply, absolute, or undefined. */
export function cnameIn(reply: DnsReply, name: string): string | undefined {
  const hit = (reply.answers ?? []).find((a): a is packet.StringAnswer => a.type === 'CNAME' && norm(a.name) === norm(name));
  return hit ? abs(hit.data) : undefined;
}

/** The chain of targets a reply spells out from `name` (in order), stopping at a loop or the limit. */
export function cnameChain(reply: DnsReply, name: string): string[] {
  const chain: string[] = [];
  for (let at = cnameIn(reply, name); at && chain.length < MAX_CNAME_LINKS && !chain.includes(at); at = cnameIn(reply, at)) chain.push(at);
  return chain;
}

/** The one-line refusal for the rollover engine (exit 2: the name is the user's to change). */
export function cnameRefusal(name: string, target: string, server: string): UserError {
  return new UserError(
    `TLSA name ${abs(name)} is a CNAME to ${target} (at ${server}): dane-hook does not publish through a CNAME; give --tlsa-name ${target} (the records live there) or remove the CNAME`,
  );
}
