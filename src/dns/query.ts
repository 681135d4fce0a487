// One DNS question to one server, the way a careful stub asks an authoritative server: UDP with
// EDNS0 (buffer 1232, DO bit on request), random id, the reply matched on id and question, TCP
// when the reply is truncated, a timeout per try and a few tries. Failures are DnsErrors that name
// the server, the question and what went wrong.
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import { lookup } from 'node:dns/promises';
import { randomInt } from 'node:crypto';
import * as packet from 'dns-packet';
import { DnsError } from '../errors.js';
import { formatServer, ipVersion } from './address.js';
import type { ServerAddress } from './types.js';
import { decodeTlsaReply } from './tlsa-reply.js';

export interface QueryOptions {
  /** Set the DO bit so RRSIGs come along (default false). */
  dnssec?: boolean;
  /** Per try (default 2000). */
  timeoutMs?: number;
  /** Tries after the first one on timeout (default 2: three tries in all). */
  retries?: number;
  /** Ask over TCP straight away. */
  tcp?: boolean;
  /** Set RD (default false: authoritative servers are asked directly). */
  recursion?: boolean;
  /** EDNS0 UDP buffer size to advertise (default 1232, the DNS flag day 2020 value). */
  udpSize?: number;
  /** Decode only what an observation of TLSA records reads (tlsa-reply.ts), not the whole reply. */
  tlsaOnly?: boolean;
}

/** How a question is asked: query() itself, or a pool's query (pool.ts). */
export type Ask = (server: ServerAddress, name: string, type: packet.RecordType, options?: QueryOptions) => Promise<DnsReply>;

/** A decoded reply; dns-packet fills `rcode` but its types leave it out. */
export type DnsReply = packet.DecodedPacket & { rcode: string };

/** Thrown inside a try so the caller can tell a timeout (worth retrying) from the rest. */
export class Timeout extends Error {}

const TC_BIT = 0x02; // in the third header byte

/** Sends one UDP message to `target` and resolves with the first reply `accept` takes. */
export type UdpAsk = (target: { host: string; port: number }, message: Buffer, timeoutMs: number, accept: (b: Buffer) => boolean) => Promise<Buffer>;

/** `udp`: how a UDP try is sent (default a socket of its own; pool.ts passes a shared one). */
export async function query(server: ServerAddress, name: string, type: packet.RecordType, options: QueryOptions = {}, udp: UdpAsk = askUdp): Promise<DnsReply> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const tries = (options.retries ?? 2) + 1;
  const what = `${type} ${name} at ${formatServer(server)}`;
  const fail = (reason: string, cause?: unknown, rcode?: string): DnsError =>
    new DnsError(`DNS query for ${what} failed: ${reason}`, { server: formatServer(server), rcode, cause });

  let address: string;
  try {
    address = ipVersion(server.host) ? server.host : (await lookup(server.host)).address;
  } catch (e) {
    throw fail(`cannot resolve server name ${server.host} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  }
  const target = { host: address, port: server.port };

  let tcp = options.tcp ?? false;
  for (let attempt = 1; attempt <= tries; attempt++) {
    const id = randomInt(0, 65536);
    const message = encodeRequest(id, name, type, options);
    try {
      const raw = tcp ? await askTcp(target, message, timeoutMs) : await udp(target, message, timeoutMs, (buf) => matches(buf, message));
      if (!tcp && raw.length >= 3 && (raw[2]! & TC_BIT) !== 0) {
        tcp = true; // truncated: the same question again over TCP, not counted as a try
        attempt--;
        continue;
      }
      const reply = options.tlsaOnly ? decodeTlsaReply(raw) : (packet.decode(raw) as DnsReply);
      if (tcp && !matches(raw, message)) throw fail('the TCP reply does not match the question');
      if (reply.rcode !== 'NOERROR' && reply.rcode !== 'NXDOMAIN') throw fail(reply.rcode, undefined, reply.rcode);
      return reply;
    } catch (e) {
      if (e instanceof DnsError) throw e;
      if (e instanceof Timeout) {
        if (attempt < tries) continue;
        throw fail(`timed out after ${seconds(timeoutMs)} x ${tries} ${tries === 1 ? 'try' : 'tries'}${tcp ? ' over TCP' : ''}`, e);
      }
      throw fail(describe(e), e);
    }
  }
  throw fail('no reply'); // not reached
}

/** Labels of 1-63 letters, digits, '-' or '_': written here as dns-packet would write them. */
const PLAIN_NAME = /^(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?$/;

/**
 * The question as bytes. A TLSA question for a plain name (every question a run over many names
 * asks) is written directly: dns-packet's encode of the same message is a tenth of that run's DNS
 * work. The bytes are the same (test/dns/query.test.ts); any other question goes through dns-packet.
 */
export function encodeRequest(id: number, name: string, type: packet.RecordType, options: QueryOptions): Buffer {
  if (type !== 'TLSA' || !PLAIN_NAME.test(name) || name.length > 253) return packet.encode(request(id, name, type, options));
  const labels = name.replace(/\.$/, '').split('.');
  const qname = labels.reduce((n, l) => n + 1 + l.length, 1);
  const buf = Buffer.alloc(12 + qname + 4 + 11);
  buf.writeUInt16BE(id, 0);
  buf.writeUInt16BE(options.recursion ? packet.RECURSION_DESIRED : 0, 2);
  buf.writeUInt16BE(1, 4); // one question
  buf.writeUInt16BE(1, 10); // one additional: the OPT record
  let at = 12;
  for (const l of labels) {
    buf[at] = l.length;
    buf.write(l, at + 1, 'latin1');
    at += 1 + l.length;
  }
  buf[at++] = 0;
  buf.writeUInt16BE(52, at); // TLSA
  buf.writeUInt16BE(1, at + 2); // IN
  at += 4;
  // OPT: root owner, type 41, the UDP size in the class, DO in the flags, no options.
  buf.writeUInt16BE(41, at + 1);
  buf.writeUInt16BE(options.udpSize ?? 1232, at + 3);
  buf.writeUInt16BE(options.dnssec ? packet.DNSSEC_OK : 0, at + 7);
  return buf;
}

function request(id: number, name: string, type: packet.RecordType, options: QueryOptions): packet.Packet {
  return {
    type: 'query',
    id,
    flags: options.recursion ? packet.RECURSION_DESIRED : 0,
    questions: [{ type, name: name.replace(/\.$/, '') || '.', class: 'IN' }],
    additionals: [
      { type: 'OPT', name: '.', udpPayloadSize: options.udpSize ?? 1232, flags: options.dnssec ? packet.DNSSEC_OK : 0 } as packet.Answer,
    ],
  };
}

/**
 * A reply belongs to our question: a response with our id whose question is ours (the name in
 * any case). Compared as bytes with the question we sent, so a reply is decoded once, not twice;
 * a truncated reply matches on its question alone.
 */
export function matches(raw: Buffer, sent: Buffer): boolean {
  if (raw.length < 12 || raw.readUInt16BE(0) !== sent.readUInt16BE(0) || (raw[2]! & 0x80) === 0 || raw.readUInt16BE(4) === 0) return false;
  // Our question's name ends at its root label (we never compress it); then type and class.
  let end = 12;
  while (end < sent.length && sent[end] !== 0) end += sent[end]! + 1;
  const qEnd = end + 5;
  // A truncated reply cut down to its header (some servers and middleboxes send that) goes on to TCP, as before.
  if (raw.length < qEnd) return raw.length === 12 && (raw[2]! & TC_BIT) !== 0;
  for (let i = 12; i < qEnd; i++) {
    const a = raw[i]!;
    const b = sent[i]!;
    // Inside the name, ASCII letters compare in either case; length octets (<= 63) never fold.
    if (a !== b && (i > end || (a | 0x20) !== (b | 0x20) || (b | 0x20) < 0x61 || (b | 0x20) > 0x7a)) return false;
  }
  return true;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function describe(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused (nothing listens on that port)';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `unreachable (${code})`;
  if (code === 'ECONNRESET') return 'connection reset by the server';
  return e instanceof Error ? e.message : String(e);
}

function askUdp(target: { host: string; port: number }, message: Buffer, timeoutMs: number, accept: (b: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = createSocket(ipVersion(target.host) === 6 ? 'udp6' : 'udp4');
    const done = (f: () => void) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.close();
      f();
    };
    const timer = setTimeout(() => done(() => reject(new Timeout())), timeoutMs);
    socket.on('error', (e) => done(() => reject(e)));
    socket.on('message', (buf) => {
      if (accept(buf)) done(() => resolve(buf));
    });
    // Connected, so an ICMP port-unreachable comes back as ECONNREFUSED instead of a timeout.
    socket.connect(target.port, target.host, () => socket.send(message));
  });
}

function askTcp(target: { host: string; port: number }, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    const chunks: Buffer[] = [];
    let length = 0;
    const done = (f: () => void) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      f();
    };
    const timer = setTimeout(() => done(() => reject(new Timeout())), timeoutMs);
    socket.on('error', (e) => done(() => reject(e)));
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(message.length);
      socket.write(Buffer.concat([prefix, message]));
    });
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      length += d.length;
      const all = Buffer.concat(chunks, length);
      if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) done(() => resolve(all.subarray(2, 2 + all.readUInt16BE(0))));
    });
    socket.on('end', () => done(() => reject(new Error('the server closed the TCP connection before a full reply'))));
  });
}
