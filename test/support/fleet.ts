// A fleet of services for the many-services test and the benchmark: certbot-style live dirs
// (symlinks swapped atomically, as certbot renews), a config naming every service in staged mode,
// and checks of what named really serves and what each activate dir really holds.
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BindServer } from './bind.js';
import type { LeafPaths } from './pki.js';
import { createQueryPool } from '../../src/dns/pool.js';
import { observeTlsa } from '../../src/dns/observer.js';

export interface FleetService {
  id: string;
  names: string[];
  lineage: string;
  activateDir: string;
}

/** n services, every other one with a second TLSA name (1.5 names each), lineages under dir/live. */
export function fleet(dir: string, n: number, zone: string): FleetService[] {
  const z = zone.replace(/\.$/, '');
  return Array.from({ length: n }, (_, i) => ({
    id: `s${i}`,
    names: i % 2 === 0 ? [`_25._tcp.mx${i}.${z}.`, `_465._tcp.mx${i}.${z}.`] : [`_25._tcp.mx${i}.${z}.`],
    lineage: join(dir, 'live', `s${i}`),
    activateDir: join(dir, 'active', `s${i}`),
  }));
}

/** Points a certbot-style live dir at one leaf's files. */
export async function pointLineage(lineage: string, leaf: LeafPaths): Promise<void> {
  await mkdir(lineage, { recursive: true });
  const files: [string, string][] = [['cert.pem', leaf.cert], ['chain.pem', leaf.chain], ['fullchain.pem', leaf.fullchain], ['privkey.pem', leaf.key]];
  for (const [name, target] of files) {
    const tmp = join(lineage, `.${name}.new`);
    await rm(tmp, { force: true });
    await symlink(target, tmp);
    await rename(tmp, join(lineage, name));
  }
}

/** Service i uses leaves[i % leaves.length]; a few lineages at a time (10,000 of them one by one take long). */
export async function pointAll(services: FleetService[], leaves: LeafPaths[]): Promise<void> {
  await eachLimit(services, 16, (s, i) => pointLineage(s.lineage, leaves[i % leaves.length]!));
}

/** f over items, at most `limit` at a time. */
async function eachLimit<T>(items: T[], limit: number, f: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await f(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** A config: the zone's named with TSIG, `3 1 1` + `2 1 1`, every service staged. */
export async function writeFleetConfig(dir: string, bind: BindServer, services: FleetService[], ttl: number): Promise<string> {
  await mkdir(join(dir, 'active'), { recursive: true });
  const config = join(dir, 'config.json');
  await writeFile(
    config,
    JSON.stringify({
      stateDir: join(dir, 'state'),
      dns: { backend: 'nsupdate', server: bind.address, tsigKey: bind.tsigKeyFile, zone: bind.zone },
      defaults: { ttl, records: ['3 1 1', '2 1 1'] },
      services: services.map((s) => ({ id: s.id, lineage: s.lineage, tlsaNames: s.names, activateDir: s.activateDir })),
    }),
  );
  return config;
}

/**
 * Undefined when every name serves, signed, exactly the 2 1 1 of `ca` and the 3 1 1 of its
 * service's key (keys[i % keys.length]); else the first name (in the services' order) that does not.
 * The services are asked concurrently through one pool (its limit bounds the questions in flight).
 */
export async function checkServed(bind: BindServer, services: FleetService[], keys: string[], ca: string): Promise<string | undefined> {
  const pool = createQueryPool();
  try {
    const server = { host: '127.0.0.1', port: bind.port };
    const wrong: (string | undefined)[] = new Array(services.length);
    await eachLimit(services, 64, async (s, i) => {
      const want = [`2 1 1 ${ca}`, `3 1 1 ${keys[i % keys.length]}`].sort();
      for (const obs of await Promise.all(s.names.map((n) => observeTlsa(n, [server], { ask: pool.query })))) {
        const a = obs.answers[0]!;
        const got = a.records.map((r) => `${r.usage} ${r.selector} ${r.matching} ${r.data}`).sort();
        if (a.status !== 'ok' || !a.signed || got.join() !== want.join()) return void (wrong[i] ??= `${obs.name} serves ${got.join(', ') || a.status}, expected ${want.join(', ')}`);
      }
    });
    return wrong.find((w) => w !== undefined);
  } finally {
    pool.close();
  }
}

/** Services whose activate dir holds the certificate of leaves[i % leaves.length] (each leaf read once). */
export async function countPromoted(services: FleetService[], leaves: LeafPaths[]): Promise<number> {
  const wanted = await Promise.all(leaves.map(async (l) => (await readFile(l.cert, 'utf8')).trim()));
  let ok = 0;
  await eachLimit(services, 16, async (s, i) => {
    const active = await readFile(join(s.activateDir, 'cert.pem'), 'utf8').catch(() => '');
    if (active.includes(wanted[i % wanted.length]!)) ok++;
  });
  return ok;
}

/** A `dig -f` batch file asking every name what dane-hook asks (no recursion, DO bit). */
export async function digBatchFile(dir: string, bind: BindServer, names: string[]): Promise<string> {
  const file = join(dir, 'dig-batch.txt');
  await writeFile(file, names.map((n) => `@127.0.0.1 -p ${bind.port} +norec +dnssec +short +split=0 TLSA ${n}`).join('\n') + '\n');
  return file;
}

/** The TLSA record lines in dig's output. */
export const tlsaLines = (digOut: string): string[] => digOut.split('\n').filter((l) => /^\d \d \d [0-9A-F]+$/i.test(l.trim()));
