// A real ACME server for tests: pebble (Debian package) on free loopback ports, with a listener
// certificate made by openssl at start (the package ships none) and challenges always valid. Every
// start makes a new root and intermediate (pebble keeps no state), so a restart is an issuer change.
// Also: certbot against it, in a config dir of its own per pebble start.
import { execa, type ResultPromise } from 'execa';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './bind.js';
import { openssl } from './pki.js';
import { requireTool } from './tools.js';
import { stopProcess } from './process.js';

export interface Pebble {
  /** The ACME directory URL: https://127.0.0.1:PORT/dir */
  url: string;
  /** PEM file of the CA that signed pebble's listener certificate (REQUESTS_CA_BUNDLE, curl --cacert). */
  caBundle: string;
  /** https://127.0.0.1:PORT of the management interface (roots, intermediates). */
  managementUrl: string;
  dir: string;
  /** The issuing intermediate and the root of this start, PEM, from pebble's management interface. */
  intermediatePem(): Promise<string>;
  rootPem(): Promise<string>;
  /** pebble's output so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** Validity of issued certificates in seconds (default 10 days). */
  validitySeconds?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET over HTTPS trusting only `ca`. */
function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(ca), timeout: 3000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/** A CA and a listener certificate for 127.0.0.1/localhost, made with openssl. */
async function listenerCert(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const p = (f: string) => join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '30', '-subj', '/CN=pebble listener CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  await openssl(['req', '-new', ...ec, '-keyout', p('key.pem'), '-out', p('listener.csr'), '-subj', '/CN=localhost']);
  await writeFile(p('listener.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await openssl(['x509', '-req', '-in', p('listener.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-set_serial', '1', '-days', '30',
    '-extfile', p('listener.ext'), '-out', p('cert.pem')]);
  return { ca: p('ca.pem'), cert: p('cert.pem'), key: p('key.pem') };
}

export async function startPebble(opts: PebbleOptions = {}): Promise<Pebble> {
  const bin = requireTool('pebble');
  const dir = await mkdtemp(join(tmpdir(), 'dane-hook-pebble-'));
  let proc: ResultPromise | undefined;
  const chunks: string[] = [];
  const stop = async () => {
    await stopProcess(proc);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const tls = await listenerCert(dir);
    for (let attempt = 0; attempt < 4; attempt++) {
      const [port, mgmt, http, tlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
      const config = join(dir, 'pebble.json');
      await writeFile(config, JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${port}`, managementListenAddress: `127.0.0.1:${mgmt}`,
          certificate: tls.cert, privateKey: tls.key, httpPort: http, tlsPort,
          ocspResponderURL: '', externalAccountBindingRequired: false,
          certificateValidityPeriod: opts.validitySeconds ?? 864000,
        },
      }));
      chunks.length = 0;
      proc = execa(bin, ['-config', config], {
        reject: false, stdin: 'ignore', all: true, buffer: false, cwd: dir,
        env: { PEBBLE_VA_ALWAYS_VALID: '1', PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
      });
      proc.all?.on('data', (d: Buffer) => chunks.push(d.toString()));
      const url = `https://127.0.0.1:${port}/dir`;
      const managementUrl = `https://127.0.0.1:${mgmt}`;
      for (let i = 0; i < 200 && proc.exitCode === null; i++) {
        const ok = await httpsGet(url, tls.ca).then((r) => r.status === 200, () => false);
        if (ok) {
          return {
            url, caBundle: tls.ca, managementUrl, dir,
            intermediatePem: async () => (await httpsGet(`${managementUrl}/intermediates/0`, tls.ca)).body,
            rootPem: async () => (await httpsGet(`${managementUrl}/roots/0`, tls.ca)).body,
            log: () => chunks.join(''),
            stop,
          };
        }
        await sleep(50);
      }
      const text = chunks.join('');
      if (proc.exitCode === null) throw new Error(`pebble not ready on ${url} after 10 s:\n${text.slice(-2000)}`);
      if (!/address already in use/i.test(text)) throw new Error(`pebble exited (${proc.exitCode}):\n${text.slice(-2000)}`);
    }
    throw new Error('pebble: ports kept being taken');
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface CertbotResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** certbot against one pebble start, with its own config/work/logs dirs (pebble keeps no state). */
export interface Certbot {
  configDir: string;
  /** The --webroot dir (pebble never fetches from it: challenges are always valid). */
  webroot: string;
  /** live/NAME of a lineage. */
  live(name: string): string;
  /** Runs `certbot ARGS --non-interactive --server URL --config-dir ...`; never throws on exit status. */
  run(args: string[], env?: Record<string, string>): Promise<CertbotResult>;
  /** The tail of certbot's log, for failure messages. */
  log(): string;
}

export async function certbotFor(pebble: Pebble, dir: string): Promise<Certbot> {
  const bin = requireTool('certbot');
  await mkdir(join(dir, 'webroot'), { recursive: true });
  const dirs = ['--config-dir', join(dir, 'config'), '--work-dir', join(dir, 'work'), '--logs-dir', join(dir, 'logs')];
  return {
    configDir: join(dir, 'config'),
    webroot: join(dir, 'webroot'),
    live: (name) => join(dir, 'config', 'live', name),
    async run(args, env = {}) {
      const r = await execa(bin, [...args, '--non-interactive', '--server', pebble.url, ...dirs], {
        reject: false, stdin: 'ignore', timeout: 120_000,
        env: { REQUESTS_CA_BUNDLE: pebble.caBundle, ...env },
      });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    log() {
      try {
        return readFileSync(join(dir, 'logs', 'letsencrypt.log'), 'utf8').slice(-4000);
      } catch {
        return '(no certbot log)';
      }
    },
  };
}

/** The flags certbot needs to get a certificate from pebble (challenges are not fetched: always valid). */
export function certbotIssueFlags(webroot: string): string[] {
  return ['--agree-tos', '--register-unsafely-without-email', '--webroot', '-w', webroot];
}
