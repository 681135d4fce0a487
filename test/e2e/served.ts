// The "mail server" of the e2e tests: openssl s_server serving the files in dane-hook's activate
// dir. s_server reads its files once, at start, so a reload starts a new s_server on another port,
// waits until it accepts, points a loopback TCP front at it and only then answers: dane-hook's
// reload command returns after the new chain is what clients get (as `postfix reload` does), and
// no connection is refused meanwhile. The old s_server is stopped a little later, after
// handshakes already under way finished.
import { execa, type ResultPromise } from 'execa';
import { createServer as createHttp, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../support/bind.js';
import { spkiSha256 } from '../support/probe.js';
import { requireTool } from '../support/tools.js';

export interface Reload {
  at: number;
  /** SPKI SHA-256 of the leaf now served. */
  spki: string;
  /** With a second certificate (-dcert): the SPKI SHA-256 of each leaf served, first and second. */
  spkis: string[];
}

export interface ServedOptions {
  /**
   * A second activate dir served beside the first, as `s_server -cert A -dcert B` (an RSA and an
   * ECDSA certificate; Postfix smtpd_tls_chain_files): each client gets the one its signature
   * algorithms allow. Served once it holds a certificate.
   */
  secondDir?: string;
}

export interface ServedTls {
  /** The port clients (the probe) connect to. */
  port: number;
  /** The command to give dane-hook as --reload (no shell needed). */
  reloadCommand: string;
  /** Every reload, in order. */
  reloads: Reload[];
  /** SPKI SHA-256 of the leaf served now, undefined before the first reload. */
  servedSpki(): string | undefined;
  /** Of each leaf served now (first, then the second dir's), [] before the first reload. */
  servedSpkis(): string[];
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Backend {
  port: number;
  proc: ResultPromise;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** `activateDir`: dane-hook's --activate-dir; `dir`: where the reload client script is written. */
export async function startServedTls(activateDir: string, dir: string, opts: ServedOptions = {}): Promise<ServedTls> {
  const opensslBin = requireTool('openssl');
  let current: Backend | undefined;
  let spki: string | undefined;
  let spkis: string[] = [];
  const reloads: Reload[] = [];
  const sockets = new Set<Socket>();
  const old: Backend[] = [];

  const front: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (!current) return void client.destroy();
    const upstream = connect(current.port, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  const port = await freePort();
  await new Promise<void>((r) => front.listen(port, '127.0.0.1', r));

  const servedSecond = () => opts.secondDir !== undefined && existsSync(join(opts.secondDir, 'cert.pem'));
  const startBackend = async (): Promise<Backend> => {
    const f = (n: string) => join(activateDir, n);
    const second = servedSecond() ? ['-dcert', join(opts.secondDir!, 'cert.pem'), '-dkey', join(opts.secondDir!, 'privkey.pem'), '-dcert_chain', join(opts.secondDir!, 'chain.pem')] : [];
    for (let attempt = 0; attempt < 4; attempt++) {
      const p = await freePort();
      const proc = execa(opensslBin, ['s_server', '-accept', `127.0.0.1:${p}`, '-cert', f('cert.pem'), '-key', f('privkey.pem'), '-cert_chain', f('chain.pem'), ...second, '-www', '-quiet'], {
        reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', buffer: false,
      });
      let err = '';
      proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      for (let i = 0; i < 100 && proc.exitCode === null; i++) {
        if (await listening(p)) return { port: p, proc };
        await sleep(20);
      }
      proc.kill('SIGKILL');
      await proc;
      if (!/in use/i.test(err)) throw new Error(`s_server did not start on ${p}: ${err.slice(-500)}`);
    }
    throw new Error('s_server: ports kept being taken');
  };
  const stopBackend = async (b: Backend) => {
    b.proc.kill('SIGTERM');
    await b.proc;
  };

  let queue: Promise<unknown> = Promise.resolve();
  const reload = async (): Promise<void> => {
    const next = await startBackend();
    const previous = current;
    current = next;
    spki = spkiSha256(readFileSync(join(activateDir, 'cert.pem'), 'latin1'));
    spkis = [spki, ...(servedSecond() ? [spkiSha256(readFileSync(join(opts.secondDir!, 'cert.pem'), 'latin1'))] : [])];
    reloads.push({ at: Date.now(), spki, spkis });
    if (previous) {
      old.push(previous);
      setTimeout(() => void stopBackend(previous).then(() => old.splice(old.indexOf(previous), 1)), 1500).unref();
    }
  };

  const control: HttpServer = createHttp((req, res) => {
    if (req.url !== '/reload') return void res.writeHead(404).end();
    // One reload at a time, in order.
    const run = queue.then(reload);
    queue = run.catch(() => undefined);
    run.then(
      () => res.writeHead(200).end('reloaded\n'),
      (e: Error) => res.writeHead(500).end(`${e.message}\n`),
    );
  });
  const controlPort = await freePort();
  await new Promise<void>((r) => control.listen(controlPort, '127.0.0.1', r));

  const client = join(dir, 'reload-client.mjs');
  await writeFile(client, `const r = await fetch(process.argv[2]);\nconst t = await r.text();\nif (!r.ok) { process.stderr.write(t); process.exit(1); }\n`);
  await chmod(client, 0o755);

  return {
    port,
    reloadCommand: `${process.execPath} ${client} http://127.0.0.1:${controlPort}/reload`,
    reloads,
    servedSpki: () => spki,
    servedSpkis: () => spkis,
    async stop() {
      await queue;
      for (const s of sockets) s.destroy();
      await new Promise((r) => front.close(r));
      control.closeAllConnections();
      await new Promise((r) => control.close(r));
      await Promise.all([...old, ...(current ? [current] : [])].map(stopBackend));
      current = undefined;
    },
  };
}
