// A query pool for one run: at most `concurrency` questions in flight over all servers, one UDP
// socket per server shared by every question to it (replies told apart by id and question, as
// query.ts checks them), so a thousand names cost a thousand datagrams, not a thousand sockets.
// Retries, TCP fallback and rcode handling stay in query.ts; only the UDP send differs.
// Close it when the run ends (its sockets are unref'd, so a forgotten pool does not hang a run).
import { createSocket, type Socket } from 'node:dgram';
import type * as packet from 'dns-packet';
import { query, Timeout, type DnsReply, type QueryOptions, type UdpAsk } from './query.js';
import type { ServerAddress } from './types.js';
import { ipVersion } from './address.js';

export interface QueryPool {
  query(server: ServerAddress, name: string, type: packet.RecordType, options?: QueryOptions): Promise<DnsReply>;
  /** UDP questions sent so far (each try counts). */
  readonly asked: number;
  close(): void;
}

interface Waiter {
  accept(b: Buffer): boolean;
  resolve(b: Buffer): void;
}

/** One connected UDP socket to one server; a reply goes to the waiter whose id and question it matches. */
class SharedSocket {
  private readonly socket: Socket;
  private readonly waiters = new Map<number, Set<Waiter>>();
  private readonly rejects = new Map<Waiter, (e: Error) => void>();
  private ready: Promise<void>;
  private failure: Error | undefined;

  constructor(target: { host: string; port: number }) {
    this.socket = createSocket(ipVersion(target.host) === 6 ? 'udp6' : 'udp4');
    this.socket.unref();
    this.socket.on('message', (buf: Buffer) => this.dispatch(buf));
    // An ICMP port-unreachable on a connected socket: every question waiting on it fails now.
    this.socket.on('error', (e) => this.failAll(e));
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
      this.socket.connect(target.port, target.host);
    });
    this.ready.catch(() => undefined);
  }

  private dispatch(buf: Buffer): void {
    if (buf.length < 2) return;
    for (const w of this.waiters.get(buf.readUInt16BE(0)) ?? []) {
      if (w.accept(buf)) return w.resolve(buf);
    }
  }

  private failAll(e: Error): void {
    this.failure = e;
    for (const reject of [...this.rejects.values()]) reject(e);
  }

  get broken(): boolean {
    return this.failure !== undefined;
  }

  ask(message: Buffer, timeoutMs: number, accept: (b: Buffer) => boolean): Promise<Buffer> {
    const id = message.readUInt16BE(0);
    return new Promise<Buffer>((resolve, reject) => {
      const set = this.waiters.get(id) ?? new Set<Waiter>();
      this.waiters.set(id, set);
      const waiter: Waiter = { accept, resolve: (b) => done(() => resolve(b)) };
      const done = (f: () => void) => {
        clearTimeout(timer);
        set.delete(waiter);
        if (set.size === 0) this.waiters.delete(id);
        this.rejects.delete(waiter);
        f();
      };
      const timer = setTimeout(() => done(() => reject(new Timeout())), timeoutMs);
      set.add(waiter);
      this.rejects.set(waiter, (e) => done(() => reject(e)));
      this.ready.then(
        () => this.sendSoon(message, (e) => done(() => reject(e))),
        (e: Error) => done(() => reject(e)),
      );
    });
  }

  /**
   * Questions asked in one turn of the event loop go out together, at its end: a server woken by
   * each datagram alone (its thread asleep between them, as one service after another reaches its
   * question) costs each send a wake-up of another CPU, the largest cost of a send in a VM; in a
   * burst it is still reading the first when the rest arrive, and its replies come back in a burst.
   */
  private sendSoon(message: Buffer, failed: (e: Error) => void): void {
    this.outbox.push({ message, failed });
    if (this.outbox.length === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const out = this.outbox;
    this.outbox = [];
    for (const { message, failed } of out) {
      // Between the ask and this flush the socket may have failed (an ICMP port unreachable) and
      // been closed: a send there throws at once; it fails its own question, never the run.
      if (this.closed) {
        failed(this.failure ?? new Error('the query socket was closed'));
        continue;
      }
      try {
        this.socket.send(message, (e) => e && failed(e));
      } catch (e) {
        failed(e as Error);
      }
    }
  }

  private outbox: { message: Buffer; failed: (e: Error) => void }[] = [];
  private closed = false;

  close(): void {
    this.closed = true;
    this.socket.removeAllListeners('message');
    this.socket.on('error', () => undefined);
    try {
      this.socket.close();
    } catch {
      // already closed after an error
    }
  }
}

export function createQueryPool(options: { concurrency?: number } = {}): QueryPool {
  const limit = Math.max(1, options.concurrency ?? 64);
  const sockets = new Map<string, SharedSocket>();
  const queue: (() => void)[] = [];
  let running = 0;
  let asked = 0;

  const socketFor = (target: { host: string; port: number }): SharedSocket => {
    const key = `${target.host}#${target.port}`;
    let s = sockets.get(key);
    // A socket that saw an error (ECONNREFUSED) is replaced: the server may be back.
    if (!s || s.broken) {
      s?.close();
      s = new SharedSocket(target);
      sockets.set(key, s);
    }
    return s;
  };
  const shared: UdpAsk = (target, message, timeoutMs, accept) => {
    asked++;
    return socketFor(target).ask(message, timeoutMs, accept);
  };
  const slot = (): Promise<void> => {
    if (running < limit) {
      running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => queue.push(resolve));
  };
  const release = (): void => {
    const next = queue.shift();
    if (next) next();
    else running--;
  };

  return {
    async query(server, name, type, queryOptions = {}) {
      await slot();
      try {
        return await query(server, name, type, queryOptions, shared);
      } finally {
        release();
      }
    },
    get asked() {
      return asked;
    },
    close() {
      for (const s of sockets.values()) s.close();
      sockets.clear();
    },
  };
}
