// A real validating resolver for tests: unbound on 127.0.0.1 and a free port, stub-zoned to a
// test BIND, with the zone's own DS as trust anchor (dnssec-dsfromkey -2 on its KSK). Answers
// for a signed zone carry the AD flag; an unsigned zone has no anchor and resolves insecure.
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BindServer } from './bind.js';
import { freePort, serverToken, sharedWith } from './ports.js';
import { requireTool } from './tools.js';
import { stopProcess } from './process.js';

export interface UnboundServer {
  port: number;
  /** '127.0.0.1:PORT' */
  address: string;
  dir: string;
  stop(): Promise<void>;
}

/** What unbound needs of the zone's server: its zone, port and key directory (DIR/keys). */
export type AuthoritativeZone = Pick<BindServer, 'zone' | 'port' | 'dir'>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** DS records (SHA-256) of the zone's key-signing keys, from BIND's key directory. */
async function trustAnchor(bind: AuthoritativeZone): Promise<string> {
  const keysDir = join(bind.dir, 'keys');
  const files = (await readdir(keysDir).catch(() => [] as string[])).filter((f) => f.startsWith(`K${bind.zone}`) && f.endsWith('.key'));
  const ds: string[] = [];
  for (const f of files) {
    const text = await readFile(join(keysDir, f), 'utf8');
    if (!/\bDNSKEY\s+257\b/.test(text)) continue; // a ZSK is no anchor
    ds.push((await execa(requireTool('dnssec-dsfromkey'), ['-2', join(keysDir, f)])).stdout.trim());
  }
  return ds.join('\n');
}

function config(o: { dir: string; port: number; identity: string; zone: string; bindPort: number; anchor: boolean; stubs: string[] }): string {
  return `server:
    interface: 127.0.0.1
    port: ${o.port}
    identity: "${o.identity}"
    hide-identity: no
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "${o.dir}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    outgoing-interface: 127.0.0.1
    module-config: "validator iterator"
    ${o.anchor ? `trust-anchor-file: "${o.dir}/ta.ds"` : ''}
    local-zone: "." refuse
    local-zone: "${o.zone}" transparent
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
${[o.zone, ...o.stubs].map((z) => `stub-zone:\n    name: "${z}"\n    stub-addr: 127.0.0.1@${o.bindPort}\n`).join('')}remote-control:
    control-enable: no
`;
}

async function ready(port: number, zone: string, signed: boolean): Promise<boolean> {
  const r = await execa('dig', ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', 'SOA', zone], { reject: false });
  return /status: NOERROR/.test(r.stdout) && (!signed || /flags:[^;]*\bad\b/.test(r.stdout));
}

/**
 * `stubs`: child zones on the same server. Without a stub of their own, unbound would ask the
 * glue address of a child's NS on port 53 once it has learnt the delegation.
 * `port`: try this port first (the harness's own test); a taken or shared one is replaced by a free one.
 */
export async function startUnbound(bind: AuthoritativeZone, opts: { stubs?: string[]; port?: number } = {}): Promise<UnboundServer> {
  requireTool('unbound');
  const dir = await mkdtemp(join(tmpdir(), 'dane-hook-unbound-'));
  const anchor = await trustAnchor(bind);
  if (anchor) await writeFile(join(dir, 'ta.ds'), `${anchor}\n`);
  let lastLog = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = attempt === 0 && opts.port ? opts.port : await freePort();
    const identity = serverToken();
    await writeFile(join(dir, 'unbound.conf'), config({ dir, port, identity, zone: bind.zone, bindPort: bind.port, anchor: anchor !== '', stubs: opts.stubs ?? [] }));
    const proc: ResultPromise = execa(requireTool('unbound'), ['-d', '-c', join(dir, 'unbound.conf')], { reject: false, stdin: 'ignore', all: true, buffer: false });
    const log: string[] = [];
    proc.all?.on('data', (d: Buffer) => log.push(d.toString()));
    const stop = () => stopProcess(proc);
    const deadline = Date.now() + 8000;
    let shared = false;
    while (Date.now() < deadline && proc.exitCode === null) {
      await sleep(50);
      if (await ready(port, bind.zone, anchor !== '')) {
        // SO_REUSEPORT: another unbound (or named) may have bound this port too; then try another
        const why = await sharedWith(port, identity, `unbound on 127.0.0.1:${port}`);
        if (!why) return { port, address: `127.0.0.1:${port}`, dir, stop: async () => (await stop(), await rm(dir, { recursive: true, force: true })) };
        log.push(`${why}\n`);
        shared = true;
        break;
      }
    }
    lastLog = log.join('');
    await stop();
    if (!shared && !/address already in use|could not open ports/i.test(lastLog)) break;
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`unbound did not become ready for ${bind.zone}:\n${lastLog.slice(-2000)}`);
}
