// A real zone tree for tests on one named (loopback, free port): a signed parent with child zones
// that are signed with the right DS, unsigned (no DS), signed with expired RRSIGs, or signed under
// a DS of another key; optionally a second named serving an older copy of one child (a lagging
// secondary). Zones are signed once, before named starts, with dnssec-keygen/dnssec-signzone, so
// each case is fixed zone content. The parent's KSK is in KEYS_DIR for startUnbound's anchor.
import { execa, type ResultPromise } from 'execa';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, serverToken, sharedWith } from './ports.js';
import { stopProcess } from './process.js';
import { requireTool } from './tools.js';

export interface ChildZone {
  /** Relative to the parent: 'good' for good.example.test. */
  label: string;
  /** Zone-file lines (names relative to the child). */
  records: string[];
  /** valid: signed now; expired: RRSIGs that expired in 2020; none: unsigned. */
  signing: 'valid' | 'expired' | 'none';
  /** right: the child's own DS in the parent; wrong: a DS of an unrelated key; none: no DS. */
  ds: 'right' | 'wrong' | 'none';
  /** Lines the second server serves instead (an older copy of the zone, same keys). */
  lagging?: string[];
}

export interface ZoneTree {
  /** The parent zone, absolute: 'example.test.' */
  zone: string;
  dir: string;
  port: number;
  address: string;
  /** The second server, when a child has `lagging`. */
  secondAddress?: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function keygen(dir: string, zone: string): Promise<string> {
  const r = await execa(requireTool('dnssec-keygen'), ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', '-f', 'KSK', '-n', 'ZONE', zone]);
  return join(dir, `${r.stdout.trim()}.key`);
}

const soa = (zone: string) => [`$ORIGIN ${zone}.`, '$TTL 60', `@ IN SOA ns1.${zone}. hostmaster.${zone}. ( 1 60 60 3600 60 )`, `  IN NS ns1.${zone}.`, `ns1 IN A 127.0.0.1`];

/** Writes `zone` signed by `keyFile` (one key signs all: -z) into `out`; expired: 2020 validity. */
async function signed(dir: string, zone: string, lines: string[], keyFile: string | undefined, expired: boolean, out: string): Promise<void> {
  const text = [...soa(zone), ...lines, ''].join('\n');
  if (!keyFile) return writeFile(out, text);
  const src = `${out}.src`;
  await writeFile(src, `${text}${await readFile(keyFile, 'utf8')}\n`);
  // -P: the post-signing verification would (rightly) reject expired signatures.
  const dates = expired ? ['-P', '-s', '20200101000000', '-e', '20200201000000'] : [];
  // -d: its dsset-ZONE files go to the test's dir, not the current one.
  await execa(requireTool('dnssec-signzone'), ['-q', '-z', '-d', dir, '-K', join(dir, 'keys'), '-o', `${zone}.`, '-f', out, ...dates, src, keyFile.replace(/\.key$/, '')]);
}

function conf(dir: string, port: number, serverId: string, zones: { name: string; file: string }[]): string {
  return `options {
    server-id "${serverId}";
    directory "${dir}";
    pid-file none;
    session-keyfile none;
    listen-on port ${port} { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    notify no;
};
controls { };
${zones.map((z) => `zone "${z.name}" { type primary; file "${z.file}"; };`).join('\n')}
`;
}

async function startNamed(dir: string, name: string, zones: { name: string; file: string }[], probe: string): Promise<{ proc: ResultPromise; port: number }> {
  let log = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const serverId = serverToken();
    const file = join(dir, `${name}.conf`);
    await writeFile(file, conf(dir, port, serverId, zones));
    const proc = execa(requireTool('named'), ['-g', '-c', file, '-n', '1'], { reject: false, stdin: 'ignore', all: true, buffer: false });
    const chunks: string[] = [];
    proc.all?.on('data', (d: Buffer) => chunks.push(d.toString()));
    for (let i = 0; i < 160 && proc.exitCode === null; i++) {
      await sleep(50);
      const r = await execa('dig', ['@127.0.0.1', '-p', String(port), '+norec', '+time=1', '+tries=1', 'SOA', probe], { reject: false });
      if (!/status: NOERROR/.test(r.stdout)) continue;
      // SO_REUSEPORT: another named (or unbound) may have bound this port too; then try another
      const why = await sharedWith(port, serverId, `named (${name}) on 127.0.0.1:${port}`);
      if (!why) return { proc, port };
      chunks.push(`${why}\n`);
      break;
    }
    log = chunks.join('');
    await stopProcess(proc);
    if (!/address in use|unable to listen|is shared with another server/i.test(log)) break;
  }
  throw new Error(`named (${name}) did not start:\n${log.slice(-2000)}`);
}

export async function startZoneTree(opts: { parent?: string; children: ChildZone[]; parentRecords?: string[] }): Promise<ZoneTree> {
  const parent = (opts.parent ?? 'example.test').replace(/\.$/, '');
  const dir = await mkdtemp(join(tmpdir(), 'dane-hook-zones-'));
  const procs: ResultPromise[] = [];
  try {
    await mkdir(join(dir, 'keys'));
    await mkdir(join(dir, 'other'));
    const parentKey = await keygen(join(dir, 'keys'), parent);
    const delegations: string[] = [];
    const zones: { name: string; file: string }[] = [];
    const lagging: { name: string; file: string }[] = [];
    for (const c of opts.children) {
      const name = `${c.label}.${parent}`;
      const key = c.signing === 'none' ? undefined : await keygen(join(dir, 'keys'), name);
      delegations.push(`${c.label} IN NS ns1.${parent}.`);
      const dsKey = c.ds === 'right' ? key : c.ds === 'wrong' ? await keygen(join(dir, 'other'), name) : undefined;
      if (dsKey) delegations.push((await execa(requireTool('dnssec-dsfromkey'), ['-2', dsKey])).stdout.trim());
      const file = join(dir, `${name}.db`);
      await signed(dir, name, c.records, key, c.signing === 'expired', file);
      zones.push({ name, file });
      if (c.lagging) {
        const old = join(dir, `${name}.lagging.db`);
        await signed(dir, name, c.lagging, key, c.signing === 'expired', old);
        lagging.push({ name, file: old });
      }
    }
    const parentFile = join(dir, `${parent}.db`);
    await signed(dir, parent, [...(opts.parentRecords ?? []), ...delegations], parentKey, false, parentFile);
    const primary = await startNamed(dir, 'primary', [{ name: parent, file: parentFile }, ...zones], parent);
    procs.push(primary.proc);
    let second: { proc: ResultPromise; port: number } | undefined;
    if (lagging.length > 0) {
      second = await startNamed(dir, 'second', lagging, lagging[0]!.name);
      procs.push(second.proc);
    }
    return {
      zone: `${parent}.`,
      dir,
      port: primary.port,
      address: `127.0.0.1:${primary.port}`,
      secondAddress: second ? `127.0.0.1:${second.port}` : undefined,
      stop: async () => {
        await Promise.all(procs.map((p) => stopProcess(p)));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await Promise.all(procs.map((p) => stopProcess(p)));
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
