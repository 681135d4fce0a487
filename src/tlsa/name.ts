// DNS owner names as they reach nsupdate, zone files and queries. Validated before any use, so a
// newline or a space can never become a second nsupdate command or a second zone-file field.
import { UserError } from '../errors.js';

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;

/**
 * Checks a domain name and returns it absolute, lower-case, with its trailing dot.
 * Letters, digits, hyphen and underscore in labels of 1-63 octets; at most 253 octets in all.
 */
export function checkName(raw: string, what = 'name'): string {
  if (typeof raw !== 'string' || raw.length === 0) throw new UserError(`${what} is empty`);
  // Quoted only for a message: names are checked by the thousand on a timer run over many services.
  const shown = () => JSON.stringify(raw);
  const name = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  if (name.length === 0) throw new UserError(`${what} ${shown()} is the root: a host name is needed`);
  if (name.length > 253) throw new UserError(`${what} ${shown().slice(0, 40)}... is ${name.length} octets long: at most 253`);
  for (const label of name.split('.')) {
    if (label.length === 0) throw new UserError(`${what} ${shown()} has an empty label`);
    if (label.length > 63) throw new UserError(`${what} ${shown()} has a label of ${label.length} octets: at most 63`);
    if (!LABEL.test(label)) {
      const bad = [...label].find((c) => !/[A-Za-z0-9_-]/.test(c));
      const why = bad === undefined ? 'a label starts or ends with a hyphen' : `it contains ${JSON.stringify(bad)}`;
      throw new UserError(`${what} ${shown()} is not a valid DNS name: ${why}`);
    }
  }
  return `${name.toLowerCase()}.`;
}

/** The TLSA owner name for a service: _<port>._<proto>.<host>. */
export function tlsaOwner(host: string, port: number | string, proto = 'tcp'): string {
  const p = Number(port);
  if (!Number.isInteger(p) || p < 1 || p > 65535 || !/^\d+$/.test(String(port))) {
    throw new UserError(`port '${port}' is not valid: use 1-65535`);
  }
  if (!/^[a-z][a-z0-9-]{0,14}$/i.test(proto)) throw new UserError(`protocol '${proto}' is not valid: use tcp, udp or sctp`);
  return checkName(`_${p}._${proto.toLowerCase()}.${checkName(host, 'host')}`, 'TLSA name');
}

/** Port and host back out of an owner name _<port>._<proto>.<host>, when it has that form. */
export function parseOwner(owner: string): { port: number; proto: string; host: string } | undefined {
  const m = /^_(\d{1,5})\._([a-z0-9-]+)\.(.+?)\.?$/i.exec(owner);
  if (!m) return undefined;
  return { port: Number(m[1]), proto: m[2]!.toLowerCase(), host: m[3]!.toLowerCase() };
}

/** A TTL in seconds: 0 to 2^31-1 (RFC 2181 8). */
export function checkTtl(raw: string | number, what = 'TTL'): number {
  const s = String(raw).trim();
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n > 2147483647) {
    throw new UserError(`${what} '${raw}' is not valid: a whole number of seconds from 0 to 2147483647`);
  }
  return n;
}
