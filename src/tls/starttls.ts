// The plain-text dialogues that come before a STARTTLS handshake (SMTP RFC 3207, IMAP RFC 3501
// 6.2.1, POP3 RFC 2595 4, FTP RFC 4217 4, XMPP RFC 6120 5.4). Each reads only up to the server's
// "go ahead", so the next byte on the socket is the server's first TLS record.
import type { Socket } from 'node:net';

export type StartTls = 'smtp' | 'imap' | 'pop3' | 'ftp' | 'xmpp' | 'none';
export const STARTTLS_PROTOCOLS: readonly StartTls[] = ['smtp', 'imap', 'pop3', 'ftp', 'xmpp', 'none'];

/** The protocol a port usually speaks before TLS; 'none' for implicit TLS (443, 465, 993, 995...). */
export function defaultStartTls(port: number): StartTls {
  const byPort: Record<number, StartTls> = { 25: 'smtp', 587: 'smtp', 143: 'imap', 110: 'pop3', 21: 'ftp', 5222: 'xmpp', 5269: 'xmpp' };
  return byPort[port] ?? 'none';
}

/** The server said something other than what the protocol needs to start TLS. */
export class StartTlsError extends Error {}

/** Reads what the server sends, a line or an XML fragment at a time. */
class Reader {
  private buf = '';
  private waiting?: () => void;
  private failed?: Error;
  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      this.waiting?.();
    });
    const end = (e?: Error) => {
      this.failed = e ?? new StartTlsError(`the server closed the connection${this.buf ? ` after "${shorten(this.buf)}"` : ''}`);
      this.waiting?.();
    };
    socket.on('end', () => end());
    socket.on('error', end);
  }
  /** Waits until `take` finds what it needs in the buffer; it returns how much it used, or -1. */
  private async until<T>(take: (buf: string) => { used: number; value: T } | undefined): Promise<T> {
    for (;;) {
      const got = take(this.buf);
      if (got) {
        this.buf = this.buf.slice(got.used);
        return got.value;
      }
      if (this.failed) throw this.failed;
      await new Promise<void>((r) => (this.waiting = r));
      this.waiting = undefined;
    }
  }
  line(): Promise<string> {
    return this.until((b) => {
      const i = b.indexOf('\n');
      return i < 0 ? undefined : { used: i + 1, value: b.slice(0, i).replace(/\r$/, '') };
    });
  }
  /** SMTP/FTP replies: lines "NNN-..." continue, "NNN ..." ends. Returns the code and all lines. */
  async reply(): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line();
      lines.push(l);
      if (/^\d{3}(?: |$)/.test(l)) return { code: Number(l.slice(0, 3)), lines };
      if (!/^\d{3}-/.test(l)) throw new StartTlsError(`unexpected reply "${shorten(l)}"`);
    }
  }
  /** Text up to and including `marker` (XMPP). */
  upTo(marker: RegExp): Promise<string> {
    return this.until((b) => {
      const m = marker.exec(b);
      return m ? { used: m.index + m[0].length, value: b.slice(0, m.index + m[0].length) } : undefined;
    });
  }
  detach(): void {
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('end');
    this.socket.removeAllListeners('error');
    this.socket.pause();
  }
}

const shorten = (s: string): string => JSON.stringify(s.trim().slice(0, 80)).slice(1, -1);

function expect(ok: boolean, what: string, got: string): void {
  if (!ok) throw new StartTlsError(`${what}; the server said "${shorten(got)}"`);
}

const send = (socket: Socket, text: string): void => void socket.write(text, 'latin1');

/** Runs the dialogue on a connected socket; resolves when the next bytes are TLS. */
export async function negotiate(socket: Socket, protocol: StartTls, host: string, port: number): Promise<void> {
  if (protocol === 'none') return;
  const r = new Reader(socket);
  try {
    if (protocol === 'smtp') {
      const greeting = await r.reply();
      expect(greeting.code === 220, 'no SMTP greeting (220)', greeting.lines.join(' '));
      send(socket, 'EHLO dane-hook.invalid\r\n');
      const ehlo = await r.reply();
      expect(ehlo.code === 250, 'EHLO refused', ehlo.lines.join(' '));
      expect(ehlo.lines.some((l) => /^250[ -]STARTTLS\b/i.test(l)), 'STARTTLS not offered in the EHLO reply', ehlo.lines.join(' '));
      send(socket, 'STARTTLS\r\n');
      const go = await r.reply();
      expect(go.code === 220, 'STARTTLS refused', go.lines.join(' '));
    } else if (protocol === 'ftp') {
      const greeting = await r.reply();
      expect(greeting.code === 220, 'no FTP greeting (220)', greeting.lines.join(' '));
      send(socket, 'AUTH TLS\r\n');
      const go = await r.reply();
      expect(go.code === 234, 'AUTH TLS refused', go.lines.join(' '));
    } else if (protocol === 'imap') {
      const greeting = await r.line();
      expect(/^\* (OK|PREAUTH)\b/i.test(greeting), 'no IMAP greeting (* OK)', greeting);
      send(socket, 'a1 STARTTLS\r\n');
      for (;;) {
        const l = await r.line();
        if (l.startsWith('* ')) continue; // untagged data before the tagged reply
        expect(/^a1 OK\b/i.test(l), 'STARTTLS refused', l);
        break;
      }
    } else if (protocol === 'pop3') {
      const greeting = await r.line();
      expect(/^\+OK\b/.test(greeting), 'no POP3 greeting (+OK)', greeting);
      send(socket, 'STLS\r\n');
      const go = await r.line();
      expect(/^\+OK\b/.test(go), 'STLS refused', go);
    } else {
      const ns = port === 5269 ? 'jabber:server' : 'jabber:client';
      send(socket, `<?xml version='1.0'?><stream:stream to='${host}' xmlns='${ns}' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`);
      const features = await r.upTo(/<\/stream:features>|<\/stream:stream>/);
      expect(/<starttls\b/.test(features), 'STARTTLS not offered in the stream features', features);
      send(socket, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
      const go = await r.upTo(/<proceed\b[^>]*\/>|<proceed\b[^>]*>\s*<\/proceed>|<failure\b[^>]*>|<\/stream:stream>/);
      expect(/<proceed\b/.test(go), 'STARTTLS refused', go);
    }
  } finally {
    r.detach();
  }
}
