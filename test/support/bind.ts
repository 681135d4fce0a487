// A real authoritative named for tests: a primary on 127.0.0.1 and a free high port, serving one
// zone (DNSSEC inline-signed by default) that takes TSIG-signed TLSA updates, and optionally a
// secondary fed by AXFR/NOTIFY whose transfers can be held back to simulate lag.
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopProcess } from './process.js';
import { freePort, PortShared, serverToken, soleServer } from './ports.js';

export { freePort };

export interface BindOptions {
  /** default 'example.test' */
  zone?: string;
  /** SOA TTL, SOA minimum and $TTL; tests use 1-2 s (default 2). */
  ttl?: number;
  /** SOA MINIMUM (negative-caching TTL) when it should differ from ttl. */
  soaMinimum?: number;
  /** default true: dnssec-policy default + inline-signing. */
  signed?: boolean;
  /** Also start a second named as secondary (AXFR/NOTIFY from the primary) on another port. */
  secondary?: boolean;
  /** Try this port first (the harness's own test of its retry); a taken one is replaced by a free one. */
  port?: number;
  /** Zone-file lines added after the apex records, e.g. 'www IN A 127.0.0.1'. */
  extraRecords?: string[];
  /** Log every query the primary answers (for counting them: queriesSeen()). */
  querylog?: boolean;
  /** Names (absolute) whose TLSA records the key may not change: an update touching one is REFUSED. */
  lockedNames?: string[];
  /** More TSIG keys (tsig-keygen -a ALGORITHM NAME), each also granted TLSA updates: extraKeyFiles. */
  extraKeys?: { name: string; algorithm: string }[];
  /** Sign with NSEC3 (a dnssec-policy with nsec3param) instead of the default policy's NSEC. */
  nsec3?: boolean;
}

export interface BindServer {
  /** The zone, absolute: 'example.test.' */
  zone: string;
  port: number;
  /** '127.0.0.1:PORT' */
  address: string;
  secondaryPort?: number;
  /** '127.0.0.1:PORT' of the secondary. */
  secondaryAddress?: string;
  tsigKeyFile: string;
  tsigKeyName: string;
  /** One tsig-keygen file per extraKeys entry, in that order. */
  extraKeyFiles: string[];
  dir: string;
  /** Real dig against the primary (or another port): `dig @127.0.0.1 -p PORT +time=1 +tries=2 ARGS`. */
  dig(args: string[], port?: number): Promise<string>;
  /** The SOA serial served by the primary (or the given port). */
  serial(port?: number): Promise<number>;
  /** Queries the primary has logged so far (with querylog: true; named -g logs them to stderr). */
  queriesSeen(): number;
  /** Runs the real nsupdate with the zone's key; `lines` without server/zone/send. */
  nsupdate(lines: string[]): Promise<void>;
  /** Restarts the secondary cut off from the primary: it keeps serving its copy, which goes stale. */
  holdSecondary(): Promise<void>;
  /** Restarts the secondary connected again and waits until it serves the primary's serial. */
  releaseSecondary(): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 8000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** dig's answer; a timeout (named busy re-signing on a loaded machine) is asked again, a few times. */
async function digAt(port: number, args: string[]): Promise<string> {
  let out = '';
  for (let attempt = 0; attempt < 4; attempt++) {
    const r = await execa('dig', ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=2', ...args], { reject: false });
    out = r.stdout;
    if (!/timed out|communications error|no servers could be reached/.test(out)) break;
  }
  return out;
}

function zoneFile(zone: string, ttl: number, minimum: number, extra: string[]): string {
  return [
    `$ORIGIN ${zone}`,
    `$TTL ${ttl}`,
    // refresh/retry short so a secondary also catches up without NOTIFY; minimum = ttl (negative TTL)
    `@ IN SOA ns1.${zone} hostmaster.${zone} ( 1 2 1 3600 ${minimum} )`,
    `  IN NS ns1.${zone}`,
    `ns1 IN A 127.0.0.1`,
    ...extra,
    '',
  ].join('\n');
}

function commonOptions(dir: string, port: number, serverId: string, querylog = false): string {
  return `options {
    server-id "${serverId}";
    querylog ${querylog ? 'yes' : 'no'};
    directory "${dir}";
    pid-file none;
    session-keyfile none;
    managed-keys-directory "${dir}";
    listen-on port ${port} { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    notify-delay 0;
    min-refresh-time 1;
    min-retry-time 1;
};
controls { };
`;
}

interface PrimaryConf {
  dir: string;
  port: number;
  serverId: string;
  zone: string;
  keyNames: string[];
  keyFiles: string[];
  signed: boolean;
  nsec3: boolean;
  secondaryPort?: number;
  querylog?: boolean;
  lockedNames?: string[];
}

function primaryConf(o: PrimaryConf): string {
  const notify = o.secondaryPort
    ? `notify explicit; also-notify { 127.0.0.1 port ${o.secondaryPort}; }; allow-transfer { 127.0.0.1; };`
    : 'notify no;';
  const signing = o.signed ? `key-directory "${o.dir}/keys"; dnssec-policy ${o.nsec3 ? 'nsec3' : 'default'}; inline-signing yes;` : '';
  const nsec3Policy = 'dnssec-policy nsec3 { keys { csk lifetime unlimited algorithm ecdsap256sha256; }; nsec3param iterations 0 optout no salt-length 0; };';
  return `${o.keyFiles.map((f) => `include "${f}";`).join('\n')}
${commonOptions(o.dir, o.port, o.serverId, o.querylog)}
${o.nsec3 ? nsec3Policy : ''}
zone "${o.zone}" {
    type primary;
    file "${o.dir}/zone.db";
    ${signing}
    ${notify}
    update-policy { ${o.keyNames.flatMap((k) => (o.lockedNames ?? []).map((n) => `deny ${k} name ${n} TLSA;`)).join(' ')} ${o.keyNames.map((k) => `grant ${k} zonesub TLSA;`).join(' ')} };
};
`;
}

function secondaryConf(o: { dir: string; port: number; serverId: string; zone: string; primaryPort: number }): string {
  return `${commonOptions(o.dir, o.port, o.serverId)}
zone "${o.zone}" {
    type secondary;
    file "${o.dir}/secondary.db";
    masterfile-format text;
    primaries { 127.0.0.1 port ${o.primaryPort}; };
    notify no;
};
`;
}

interface Named {
  proc: ResultPromise;
  log: string;
}

function startNamed(conf: string, log: string): Named {
  const proc = execa('named', ['-g', '-c', conf, '-n', '1'], { reject: false, stdin: 'ignore', all: true, buffer: false });
  const chunks: string[] = [];
  proc.all?.on('data', (d: Buffer) => chunks.push(d.toString()));
  proc.all?.on('end', () => void writeFile(log, chunks.join('')).catch(() => undefined));
  const named: Named = { proc, log };
  Object.defineProperty(named, 'text', { get: () => chunks.join('') });
  return named;
}

const namedLog = (n: Named): string => (n as unknown as { text: string }).text;

async function stopNamed(n: Named | undefined): Promise<void> {
  await stopProcess(n?.proc);
}

/**
 * Polls until `ready()` holds, then checks no other server shares the port (PortShared);
 * fails early with named's log when it exits or cannot bind.
 */
async function waitReady(n: Named, what: string, port: number, serverId: string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await sleep(40); // named needs ~150 ms anyway; by then a bind failure is in its log
    // named exits with "unable to listen on any configured interfaces" when the port was taken meanwhile
    if (/address in use|unable to listen|interface .* failed/i.test(namedLog(n))) throw new PortInUse(`${what}: port taken`);
    if (n.proc.exitCode !== null) throw new Error(`${what} exited (${n.proc.exitCode}):\n${namedLog(n).slice(-2000)}`);
    if (await ready()) return soleServer(port, serverId, what);
  }
  throw new Error(`${what} not ready after ${READY_TIMEOUT_MS} ms:\n${namedLog(n).slice(-2000)}`);
}

class PortInUse extends Error {}

async function serialAt(port: number, zone: string): Promise<number> {
  const out = await digAt(port, ['+norec', '+short', 'SOA', zone]);
  const serial = Number(out.trim().split(/\s+/)[2]);
  return Number.isInteger(serial) ? serial : NaN;
}

async function soaReady(port: number, zone: string, signed: boolean): Promise<boolean> {
  const out = await digAt(port, ['+norec', '+dnssec', '+tries=1', 'SOA', zone]);
  if (!/status: NOERROR/.test(out) || !/\bIN\s+SOA\b/.test(out)) return false;
  return !signed || /\bRRSIG\s+SOA\b/.test(out);
}

export async function startBind(opts: BindOptions = {}): Promise<BindServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      return await startOnce(attempt === 0 ? opts : { ...opts, port: undefined });
    } catch (e) {
      lastError = e;
      if (!(e instanceof PortInUse || e instanceof PortShared)) throw e;
    }
  }
  throw lastError;
}

async function startOnce(opts: BindOptions): Promise<BindServer> {
  const zone = `${(opts.zone ?? 'example.test').replace(/\.$/, '')}.`;
  const ttl = opts.ttl ?? 2;
  const signed = opts.signed ?? true;
  const dir = await mkdtemp(join(tmpdir(), 'dane-hook-bind-'));
  const tsigKeyName = 'tlsa-key';
  const tsigKeyFile = join(dir, 'tsig.key');
  let primary: Named | undefined;
  let secondary: Named | undefined;
  try {
    await mkdir(join(dir, 'keys'));
    await mkdir(join(dir, 'secondary'));
    const key = await execa('tsig-keygen', ['-a', 'hmac-sha256', tsigKeyName]);
    await writeFile(tsigKeyFile, `${key.stdout}\n`, { mode: 0o600 });
    const extraKeyFiles: string[] = [];
    for (const [i, k] of (opts.extraKeys ?? []).entries()) {
      const file = join(dir, `tsig-${i + 1}.key`);
      await writeFile(file, `${(await execa('tsig-keygen', ['-a', k.algorithm, k.name])).stdout}\n`, { mode: 0o600 });
      extraKeyFiles.push(file);
    }
    await writeFile(join(dir, 'zone.db'), zoneFile(zone, ttl, opts.soaMinimum ?? ttl, opts.extraRecords ?? []));
    const port = opts.port ?? (await freePort());
    const secondaryPort = opts.secondary ? await freePort() : undefined;
    const conf = join(dir, 'named.conf');
    const serverId = serverToken();
    const keyNames = [tsigKeyName, ...(opts.extraKeys ?? []).map((k) => k.name)];
    await writeFile(conf, primaryConf({ dir, port, serverId, zone, keyNames, keyFiles: [tsigKeyFile, ...extraKeyFiles], signed, nsec3: opts.nsec3 ?? false, secondaryPort, querylog: opts.querylog, lockedNames: opts.lockedNames }));
    primary = startNamed(conf, join(dir, 'named.log'));
    await waitReady(primary, `named on 127.0.0.1:${port}`, port, serverId, () => soaReady(port, zone, signed));

    const secDir = join(dir, 'secondary');
    const startSecondary = async (primaryPort: number, waitSerial: boolean): Promise<Named> => {
      const secConf = join(secDir, `named-${primaryPort}.conf`);
      await writeFile(secConf, secondaryConf({ dir: secDir, port: secondaryPort!, serverId: `${serverId}-secondary`, zone, primaryPort }));
      const n = startNamed(secConf, join(secDir, 'named.log'));
      await waitReady(n, `secondary named on 127.0.0.1:${secondaryPort}`, secondaryPort!, `${serverId}-secondary`, async () => {
        if (!(await soaReady(secondaryPort!, zone, signed))) return false;
        return !waitSerial || (await serialAt(secondaryPort!, zone)) === (await serialAt(port, zone));
      });
      return n;
    };
    if (secondaryPort) secondary = await startSecondary(port, true);

    const server: BindServer = {
      zone,
      port,
      address: `127.0.0.1:${port}`,
      secondaryPort,
      secondaryAddress: secondaryPort ? `127.0.0.1:${secondaryPort}` : undefined,
      tsigKeyFile,
      tsigKeyName,
      extraKeyFiles,
      dir,
      dig: (args, p = port) => digAt(p, args),
      serial: (p = port) => serialAt(p, zone),
      queriesSeen: () => (namedLog(primary!).match(/\bquery: /g) ?? []).length,
      async nsupdate(lines) {
        const script = [`server 127.0.0.1 ${port}`, `zone ${zone}`, ...lines, 'send', ''].join('\n');
        await execa('nsupdate', ['-k', tsigKeyFile, '-t', '3'], { input: script });
      },
      async holdSecondary() {
        if (!secondaryPort) throw new Error('startBind: no secondary (pass secondary: true)');
        await stopNamed(secondary);
        // A port nothing listens on: refresh and transfer fail, the old copy keeps being served.
        secondary = await startSecondary(await freePort(), false);
      },
      async releaseSecondary() {
        if (!secondaryPort) throw new Error('startBind: no secondary (pass secondary: true)');
        await stopNamed(secondary);
        secondary = await startSecondary(port, true);
      },
      async stop() {
        await Promise.all([stopNamed(secondary), stopNamed(primary)]);
        await rm(dir, { recursive: true, force: true });
      },
    };
    return server;
  } catch (e) {
    await Promise.all([stopNamed(secondary), stopNamed(primary)]);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
