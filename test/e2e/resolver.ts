// A validating unbound for the e2e tests: trust anchor = the DS of the test zone's key, a stub to
// the test named, and the zone's TTL honoured (records are cached up to 1 s, as a real resolver
// would), so the probe sees what a DANE client behind a cache sees.
// (test/support/unbound.ts, if another helper lands it, does the same job for other tests.)
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BindServer } from '../support/bind.js';
import { freePort, serverToken, sharedWith } from '../support/ports.js';
import { requireTool } from '../support/tools.js';
import { stopProcess } from '../support/process.js';

export interface Resolver {
  port: number;
  address: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startResolver(bind: BindServer): Promise<Resolver> {
  const dir = await mkdtemp(join(tmpdir(), 'dane-hook-unbound-'));
  const zone = bind.zone;
  let proc: ResultPromise | undefined;
  const chunks: string[] = [];
  const stop = async () => {
    await stopProcess(proc);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const keys = (await readdir(join(bind.dir, 'keys'))).filter((f) => f.endsWith('.key'));
    if (keys.length === 0) throw new Error(`no DNSSEC key in ${bind.dir}/keys: is the zone signed?`);
    const ds = await execa(requireTool('dnssec-dsfromkey'), ['-2', ...keys.map((k) => join(bind.dir, 'keys', k))]);
    await writeFile(join(dir, 'ta.ds'), `${ds.stdout}\n`);
    for (let attempt = 0; attempt < 4; attempt++) {
      const port = await freePort();
      const identity = serverToken();
      await writeFile(join(dir, 'unbound.conf'), `server:
    interface: 127.0.0.1
    port: ${port}
    identity: "${identity}"
    hide-identity: no
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "${dir}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    outgoing-interface: 127.0.0.1
    module-config: "validator iterator"
    trust-anchor-file: "${dir}/ta.ds"
    local-zone: "." refuse
    local-zone: "${zone}" transparent
    local-zone: "test." transparent
    num-threads: 1
stub-zone:
    name: "${zone}"
    stub-addr: 127.0.0.1@${bind.port}
remote-control:
    control-enable: no
`);
      chunks.length = 0;
      proc = execa(requireTool('unbound'), ['-d', '-c', join(dir, 'unbound.conf')], { reject: false, stdin: 'ignore', all: true, buffer: false });
      proc.all?.on('data', (d: Buffer) => chunks.push(d.toString()));
      for (let i = 0; i < 160 && proc.exitCode === null; i++) {
        const r = await execa('dig', ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', 'SOA', zone], { reject: false });
        if (/status: NOERROR/.test(r.stdout) && /flags:[^;]* ad[ ;]/.test(r.stdout)) {
          // SO_REUSEPORT: another unbound (or named) may have bound this port too; then try another
          const why = await sharedWith(port, identity, `unbound on 127.0.0.1:${port}`);
          if (!why) return { port, address: `127.0.0.1:${port}`, stop };
          chunks.push(`${why}\n`);
          break;
        }
        await sleep(50);
      }
      const text = chunks.join('');
      if (/is shared with another server/.test(text)) {
        await stopProcess(proc);
        continue;
      }
      if (proc.exitCode === null) throw new Error(`unbound on ${port} did not validate ${zone} within 8 s:\n${text.slice(-2000)}`);
      if (!/address already in use|can't bind/i.test(text)) throw new Error(`unbound exited (${proc.exitCode}):\n${text.slice(-2000)}`);
    }
    throw new Error('unbound: ports kept being taken');
  } catch (e) {
    await stop();
    throw e;
  }
}
