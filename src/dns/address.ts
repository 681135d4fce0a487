// DNS server addresses as users write them: HOST, HOST:PORT, [V6]:PORT, or a bare IPv6 address.
import { isIPv4, isIPv6 } from 'node:net';
import { UserError } from '../errors.js';
import type { ServerAddress } from './types.js';

const HOST_NAME = /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * 4 or 6 for an IP address, else 0, as net.isIP says. Node's IPv6 pattern costs about 15 ms to
 * compile at its first use: it is tried only on text with two colons or more, as every IPv6
 * address has (`::` at least) and no IPv4 address, host name or HOST:PORT does.
 */
export const ipVersion = (host: string): 0 | 4 | 6 => (host.indexOf(':') !== host.lastIndexOf(':') ? (isIPv6(host) ? 6 : 0) : isIPv4(host) ? 4 : 0);

/** A value as it may appear in a one-line message: control characters escaped. */
const esc = (s: string): string => JSON.stringify(s).slice(1, -1);

function checkPort(raw: string, shown: string): number {
  const port = Number(raw);
  if (!/^\d{1,5}$/.test(raw) || port < 1 || port > 65535) {
    throw new UserError(`DNS server '${shown}' has an invalid port '${esc(raw)}': use 1-65535`);
  }
  return port;
}

/** Parses a server address; the port defaults to `defaultPort`. */
export function parseServer(raw: string, defaultPort = 53): ServerAddress {
  const shown = esc(String(raw));
  const s = typeof raw === 'string' ? raw.trim() : '';
  if (s === '') throw new UserError('DNS server address is empty: give HOST, HOST:PORT or [IPv6]:PORT');
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (bracketed) {
    const host = bracketed[1]!;
    if (ipVersion(host) !== 6) throw new UserError(`DNS server '${shown}': '${esc(host)}' in brackets is not an IPv6 address`);
    return { host, port: bracketed[2] === undefined ? defaultPort : checkPort(bracketed[2], shown) };
  }
  if (ipVersion(s) === 6) return { host: s, port: defaultPort };
  const colon = s.lastIndexOf(':');
  if (s.indexOf(':') !== colon) {
    throw new UserError(`DNS server '${shown}' is not valid: write an IPv6 address with a port as [ADDRESS]:PORT`);
  }
  const host = colon === -1 ? s : s.slice(0, colon);
  const port = colon === -1 ? defaultPort : checkPort(s.slice(colon + 1), shown);
  if (ipVersion(host) !== 4 && (!HOST_NAME.test(host) || /^[\d.]+$/.test(host))) {
    throw new UserError(`DNS server '${shown}' is not valid: '${esc(host)}' is neither an IP address nor a host name`);
  }
  return { host: host.replace(/\.$/, '') || host, port };
}

/** HOST:PORT, or [V6]:PORT, as shown in messages. */
export function formatServer(server: ServerAddress): string {
  return ipVersion(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}
