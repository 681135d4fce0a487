// TLS servers for tests, on 127.0.0.1 and a free port, always stopped by the test:
// - startTlsServer: the real `openssl s_server` (implicit TLS, e.g. 443/465/993), sending the
//   leaf and the chain file given.
// - startStartTlsServer: a tiny Node server for STARTTLS (openssl s_server has no STARTTLS server
//   mode): it speaks just enough SMTP, IMAP, POP3, FTP or XMPP to upgrade with node:tls using the
//   same certificate files. Tests cross-check it with `openssl s_client -starttls PROTO`.
import { execa, type ResultPromise } from 'execa';
import { readFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import { freePort } from './bind.js';
import { requireTool } from './tools.js';

export interface TlsServer {
  port: number;
  /** '127.0.0.1:PORT' */
  address: string;
  stop(): Promise<void>;
}

export interface ServedFiles {
  cert: string;
  key: string;
  /** Issuer certificates sent after the leaf. */
  chain?: string;
  /** A second certificate of another key type (s_server -dcert): clients get the one they can verify. */
  second?: { cert: string; key: string; chain?: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/** `openssl s_server -www` with the given files; ready when it accepts connections. */
export async function startTlsServer(files: ServedFiles): Promise<TlsServer> {
  const openssl = requireTool('openssl');
  let lastLog = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', files.cert, '-key', files.key, ...(files.chain ? ['-cert_chain', files.chain] : []),
      ...(files.second ? ['-dcert', files.second.cert, '-dkey', files.second.key, ...(files.second.chain ? ['-dcert_chain', files.second.chain] : [])] : []), '-www', '-quiet'];
    const proc: ResultPromise = execa(openssl, args, { reject: false, stdin: 'ignore', all: true, buffer: false });
    const log: string[] = [];
    proc.all?.on('data', (d: Buffer) => log.push(d.toString()));
    const stop = async () => {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await proc;
    };
    for (let i = 0; i < 100 && proc.exitCode === null; i++) {
      if (await accepts(port)) return { port, address: `127.0.0.1:${port}`, stop };
      await sleep(30);
    }
    lastLog = log.join('');
    await stop();
  }
  throw new Error(`openssl s_server did not start:\n${lastLog.slice(-1000)}`);
}

export type Protocol = 'smtp' | 'imap' | 'pop3' | 'ftp' | 'xmpp';

export interface StartTlsOptions extends ServedFiles {
  protocol: Protocol;
  /** false: the server never offers STARTTLS (an MTA that lost its TLS config). Default true. */
  offer?: boolean;
}

/** What the server answers to one line (or XML chunk) before TLS; `upgrade` starts the handshake after the reply. */
type Dialogue = { greeting: string; answer(input: string): { reply: string; upgrade?: boolean; close?: boolean } | undefined };

function dialogue(protocol: Protocol, offer: boolean): Dialogue {
  const refuse = (r: string) => ({ reply: r });
  switch (protocol) {
    case 'smtp':
      return {
        greeting: '220 mx.example.test ESMTP dane-hook test\r\n',
        answer: (l) =>
          /^(EHLO|HELO)\b/i.test(l) ? { reply: `250-mx.example.test\r\n250-PIPELINING\r\n${offer ? '250-STARTTLS\r\n' : ''}250 8BITMIME\r\n` }
          : /^STARTTLS\b/i.test(l) ? (offer ? { reply: '220 2.0.0 Ready to start TLS\r\n', upgrade: true } : refuse('502 5.5.1 not offered\r\n'))
          : /^QUIT\b/i.test(l) ? { reply: '221 2.0.0 Bye\r\n', close: true }
          : refuse('250 2.0.0 Ok\r\n'),
      };
    case 'imap':
      return {
        greeting: '* OK IMAP4rev1 dane-hook test ready\r\n',
        answer: (l) => {
          const [tag, cmd] = l.split(' ');
          if (/^CAPABILITY$/i.test(cmd ?? '')) return { reply: `* CAPABILITY IMAP4rev1${offer ? ' STARTTLS' : ''}\r\n${tag} OK done\r\n` };
          if (/^STARTTLS$/i.test(cmd ?? '')) return offer ? { reply: `${tag} OK Begin TLS negotiation now\r\n`, upgrade: true } : refuse(`${tag} BAD not offered\r\n`);
          return refuse(`${tag} OK\r\n`);
        },
      };
    case 'pop3':
      return {
        greeting: '+OK POP3 dane-hook test ready\r\n',
        answer: (l) => (/^STLS\b/i.test(l) && offer ? { reply: '+OK Begin TLS\r\n', upgrade: true } : /^CAPA\b/i.test(l) ? { reply: `+OK\r\n${offer ? 'STLS\r\n' : ''}.\r\n` } : refuse('-ERR no\r\n')),
      };
    case 'ftp':
      return {
        greeting: '220-dane-hook test\r\n220 ready\r\n',
        answer: (l) => (/^AUTH TLS\b/i.test(l) && offer ? { reply: '234 AUTH TLS ok\r\n', upgrade: true } : refuse('500 no\r\n')),
      };
    case 'xmpp':
      return {
        greeting: '',
        answer: (chunk) => {
          if (/<stream:stream\b/.test(chunk)) {
            const tls = offer ? "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" : '';
            return { reply: `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='t1' from='example.test' version='1.0'><stream:features>${tls}</stream:features>` };
          }
          if (/<starttls\b/.test(chunk) && offer) return { reply: "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", upgrade: true };
          return undefined;
        },
      };
  }
}

/** Splits input into lines (text protocols) or takes XML as it comes (XMPP). */
function serve(socket: Socket, d: Dialogue, xml: boolean, secure: () => ReturnType<typeof createSecureContext>): void {
  let buf = '';
  socket.on('error', () => undefined);
  if (d.greeting) socket.write(d.greeting);
  const onData = (data: Buffer) => {
    buf += data.toString('latin1');
    for (;;) {
      let input: string;
      if (xml) {
        if (!buf.includes('>')) return;
        [input, buf] = [buf, ''];
      } else {
        const i = buf.indexOf('\n');
        if (i < 0) return;
        [input, buf] = [buf.slice(0, i).replace(/\r$/, ''), buf.slice(i + 1)];
      }
      const a = d.answer(input);
      if (!a) continue;
      if (a.upgrade) {
        socket.off('data', onData);
        socket.write(a.reply, () => {
          const tls = new TLSSocket(socket, { isServer: true, secureContext: secure() });
          tls.on('error', () => undefined);
          tls.on('data', () => undefined); // after TLS nothing more is needed: clients only look at the chain
        });
        return;
      }
      socket.write(a.reply);
      if (a.close) socket.end();
    }
  };
  socket.on('data', onData);
}

export async function startStartTlsServer(opts: StartTlsOptions): Promise<TlsServer> {
  const [cert, key, chain] = await Promise.all([readFile(opts.cert, 'utf8'), readFile(opts.key, 'utf8'), opts.chain ? readFile(opts.chain, 'utf8') : '']);
  const context = createSecureContext({ cert: cert + chain, key });
  const d = dialogue(opts.protocol, opts.offer ?? true);
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    serve(s, d, opts.protocol === 'xmpp', () => context);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * openssl s_client as the DANE client: exit 0 when one of the records matches what the server
 * presents, 1 when none does (-verify_return_error). `host` is the TLSA base domain.
 */
export async function opensslDane(address: string, rrdata: string[], starttls?: string, host = 'mx.example.test'): Promise<number> {
  const args = ['s_client', '-connect', address, ...(starttls && starttls !== 'none' ? ['-starttls', starttls] : []), '-servername', host,
    '-dane_tlsa_domain', host, ...rrdata.flatMap((r) => ['-dane_tlsa_rrdata', r]), '-verify_return_error', '-brief'];
  const r = await execa(requireTool('openssl'), args, { input: '', reject: false, timeout: 10_000 });
  return r.exitCode ?? -1;
}
