// A real PowerDNS Authoritative server for tests: gsqlite3 backend in a temp dir, one DNSSEC-signed
// zone made with pdnsutil, the HTTP API on loopback with a random key, DNS on another free port.
import { execa, type ResultPromise } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './bind.js';
import { requireTool } from './tools.js';
import { stopProcess } from './process.js';

export interface PdnsOptions {
  /** default 'example.test' */
  zone?: string;
  /** SOA TTL and SOA minimum (default 2). */
  ttl?: number;
}

export interface PdnsServer {
  zone: string;
  dnsPort: number;
  /** '127.0.0.1:PORT' of the DNS listener. */
  address: string;
  /** http://127.0.0.1:PORT */
  apiUrl: string;
  apiKeyFile: string;
  dir: string;
  /** Real dig against the server: `dig @127.0.0.1 -p PORT +time=1 +tries=2 ARGS`. */
  dig(args: string[]): Promise<string>;
  /** Real pdnsutil with this server's config. */
  pdnsutil(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

const SCHEMA = '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql';
const READY_TIMEOUT_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPdns(opts: PdnsOptions = {}): Promise<PdnsServer> {
  const pdnsServer = requireTool('pdns_server');
  const pdnsutilBin = requireTool('pdnsutil');
  const sqlite = requireTool('sqlite3');
  requireTool('dig');
  const zone = opts.zone ?? 'example.test';
  const ttl = opts.ttl ?? 2;
  const dir = await mkdtemp(join(tmpdir(), 'dane-pdns-'));
  let proc: ResultPromise | undefined;
  try {
    const [dnsPort, apiPort] = [await freePort(), await freePort()];
    const key = randomBytes(18).toString('hex');
    const apiKeyFile = join(dir, 'api.key');
    await writeFile(apiKeyFile, `${key}\n`, { mode: 0o600 });
    const db = join(dir, 'pdns.sqlite3');
    await execa(sqlite, [db], { input: await readFile(SCHEMA, 'utf8') });
    await writeFile(
      join(dir, 'pdns.conf'),
      [
        'launch=gsqlite3', `gsqlite3-database=${db}`, 'gsqlite3-dnssec=yes',
        'local-address=127.0.0.1', `local-port=${dnsPort}`,
        'api=yes', `api-key=${key}`, 'webserver=yes', 'webserver-address=127.0.0.1', `webserver-port=${apiPort}`, 'webserver-allow-from=127.0.0.1',
        `socket-dir=${dir}`, 'daemon=no', 'guardian=no', 'disable-syslog=yes', 'write-pid=no', `config-dir=${dir}`,
        // No caching: a test sees a change at once.
        'cache-ttl=0', 'query-cache-ttl=0', 'negquery-cache-ttl=0', 'zone-cache-refresh-interval=0',
        '',
      ].join('\n'),
    );
    const pdnsutil = async (args: string[]) => String((await execa(pdnsutilBin, [`--config-dir=${dir}`, ...args])).stdout);
    await pdnsutil(['create-zone', zone, `ns1.${zone}`]);
    await pdnsutil(['add-record', zone, 'ns1', 'A', String(ttl), '127.0.0.1']);
    await pdnsutil(['replace-rrset', zone, '@', 'SOA', String(ttl), `ns1.${zone}. hostmaster.${zone}. 1 3600 600 604800 ${ttl}`]);
    await pdnsutil(['replace-rrset', zone, '@', 'NS', String(ttl), `ns1.${zone}.`]);
    await pdnsutil(['secure-zone', zone]);
    // Edits through the API rectify the zone (ordername, empty non-terminals for new _25._tcp names).
    await pdnsutil(['set-meta', zone, 'API-RECTIFY', '1']);
    await pdnsutil(['rectify-zone', zone]);
    let exited = '';
    proc = execa(pdnsServer, [`--config-dir=${dir}`], { reject: false, stdin: 'ignore', all: true });
    void proc.then((r) => {
      exited = `pdns_server exited (${r.exitCode ?? r.signal}): ${String(r.all ?? '').split('\n').slice(-3).join(' | ')}`;
    });
    const dig = async (args: string[]) => String((await execa('dig', [`@127.0.0.1`, '-p', String(dnsPort), '+time=1', '+tries=2', ...args], { reject: false })).stdout);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exited) throw new Error(exited);
      const out = await dig(['+dnssec', '+norec', 'SOA', `${zone}.`]);
      if (/\bRRSIG\s+SOA\b/.test(out)) break;
      if (Date.now() > deadline) throw new Error(`pdns_server on 127.0.0.1:${dnsPort} did not serve a signed SOA for ${zone} within ${READY_TIMEOUT_MS} ms`);
      await sleep(100);
    }
    const running = proc;
    return {
      zone: `${zone}.`,
      dnsPort,
      address: `127.0.0.1:${dnsPort}`,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      apiKeyFile,
      dir,
      dig,
      pdnsutil,
      async stop() {
        await stopProcess(running);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    proc?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
