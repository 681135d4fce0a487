// Loopback ports for test servers, safe across the test files that run at once.
// Why: named (9.18) and unbound bind with SO_REUSEPORT, so a second server on a port already in use
// starts without error and the kernel splits queries between the two (seen in a test: a DANE probe
// answered by another file's server). A port that is free "at the moment" is not enough.
// - freePort(): a port below the ephemeral range, free for TCP and UDP now, and reserved in a file (O_EXCL) under
//   tmpdir()/dane-hook-test-ports-UID/PORT that holds the owner's pid until this process exits.
//   Other processes skip it; a reservation whose pid is dead is removed (and the port skipped).
// - soleServer(): after start, asks `id.server CH TXT` over TCP on many fresh connections (TCP: named
//   rate-limits CH answers over UDP); any answer other than our token means the port is shared.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as packet from 'dns-packet';

const dir = join(tmpdir(), `dane-hook-test-ports-${process.getuid?.() ?? 'user'}`);
const held = new Set<number>();

process.on('exit', () => {
  for (const port of held) {
    try {
      unlinkSync(join(dir, String(port)));
    } catch {
      // already gone
    }
  }
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** true: the port is now ours. A stale reservation (owner dead) is removed, but the port is skipped this time. */
export function reservePort(port: number): boolean {
  if (held.has(port)) return false; // handed out before in this process (e.g. as a "closed" port)
  const file = join(dir, String(port));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    held.add(port);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`port reservation ${file}: ${(e as Error).message}`);
  }
  let owner = NaN;
  try {
    owner = Number(readFileSync(file, 'utf8').trim() || NaN);
  } catch {
    return false; // released meanwhile
  }
  // Not reused at once: a process that read the same stale file may unlink right after us, so a
  // reservation made now could be removed under us. A later freePort() finds the port clean.
  if (Number.isInteger(owner) && !alive(owner)) {
    try {
      unlinkSync(file);
    } catch {
      // another process reclaimed it first
    }
  }
  return false;
}

// Below the kernel's ephemeral range. dig (and named, unbound) bind their UDP sockets with
// SO_REUSEPORT, so the kernel may give a dig query a source port that a test server holds with
// SO_REUSEPORT too; then the server's packets are split between the two sockets, and dig reads its
// own query as the answer (NOERROR, flags "rd ad", no records: seen in the e2e DANE probe).
// A port below the range is never handed out as a source port.
function candidateRange(): [number, number] {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: the usual default
  }
  return [Math.min(20000, low - 2000), low - 1];
}

const tcpFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

const udpFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const u = createSocket('udp4');
    u.once('error', () => resolve(false));
    u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
  });

/** A port free for both TCP and UDP on 127.0.0.1, reserved against the other test processes until this one exits. */
export async function freePort(): Promise<number> {
  const [low, high] = candidateRange();
  for (let i = 0; i < 50; i++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if ((await tcpFree(port)) && (await udpFree(port)) && reservePort(port)) return port;
  }
  throw new Error(`no free TCP+UDP port on 127.0.0.1 after 50 tries (reservations in ${dir})`);
}

/** A token for a server's `server-id` (named) or `identity` (unbound). */
export const serverToken = (): string => `dane-hook-${process.pid}-${randomBytes(6).toString('hex')}`;

/**
 * The server's `id.server CH TXT` over one new TCP connection, or an error text. Always settles:
 * a server that closes without answering (one being stopped on a shared port) is an answer too;
 * without the close handler such a connection left the promise pending for ever (CI hung).
 */
export function idServer(port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done('(timeout)'), timeoutMs);
    const done = (v: string) => (clearTimeout(timer), s.destroy(), resolve(v));
    s.once('error', (e) => done(`(${e.message})`));
    s.once('close', () => done('(closed without an answer)'));
    s.once('connect', () => {
      s.write(packet.streamEncode({ type: 'query', id: 1, questions: [{ type: 'TXT', class: 'CH', name: 'id.server' }] }));
    });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      const answer = packet.streamDecode(buf).answers?.find((a) => a.type === 'TXT');
      const data = answer && 'data' in answer ? answer.data : undefined;
      done(data === undefined ? '(no TXT)' : [data].flat().map(String).join(''));
    });
  });
}

export class PortShared extends Error {}

/**
 * Why the port looks shared, or undefined when every one of `tries` connections (fresh source
 * ports, which the kernel spreads over SO_REUSEPORT sockets) is answered with `token`.
 * A sharer hides with chance 2^-tries.
 */
export async function sharedWith(port: number, token: string, what: string, tries = 12): Promise<string | undefined> {
  const seen = await Promise.all(Array.from({ length: tries }, () => idServer(port)));
  const others = [...new Set(seen.filter((s) => s !== token))];
  return others.length ? `${what}: port ${port} is shared with another server (id.server answered ${others.join(', ')}, ours is ${token})` : undefined;
}

/** sharedWith, thrown as PortShared. */
export async function soleServer(port: number, token: string, what: string): Promise<void> {
  const why = await sharedWith(port, token, what);
  if (why) throw new PortShared(why);
}
