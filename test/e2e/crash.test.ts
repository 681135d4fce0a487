// Fault injection, black box: the built CLI is killed with SIGKILL by strace at every rename,
// every fsync (each file write reaching its temp file), every spawn (fork of nsupdate or the reload
// command) and at the link of its lock into place, during a staged deploy of a renewal and during the
// advance that promotes it, in both activate-dir forms (symlink and real folder), against a real
// named. After each kill the timer alone (advance --wait, with the service's lineage configured)
// must converge, also when the deploy was killed before it recorded the renewal: the renewed chain in service, in the activate
// dir with its own key, its record published, the old one withdrawn, no lock or temp file left.
// In the symlink form the activate dir must never, even right at the kill, pair a certificate with
// another chain's key (the real folder form can: status and the README say so).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { startBind, type BindServer } from '../support/bind.js';
import { makePki, renewLeaf, spkiHash, type LeafPaths } from '../support/pki.js';
import { CLI, runCli, type CliResult } from '../support/cli.js';
import { requireTool } from '../support/tools.js';

type Form = 'symlink' | 'folder';
type Scenario = 'deploy' | 'advance';

interface Point {
  scenario: Scenario;
  form: Form;
  /** strace syscall name and the invocation number on the main thread; or the lock's link into place. */
  syscall: string;
  n: number;
}

const TEMP = /^\..+\.\d+\.[0-9a-f]{8}\.tmp$|\.tmp-\d+$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs fn over items with at most `width` at a time; results in item order. */
async function pool<T, R>(items: T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

describe('kill -9 at every write, rename and spawn of a deploy and an advance (strace, real named)', () => {
  let bind: BindServer;
  let dir: string;
  let v1: LeafPaths;
  let v2: LeafPaths;
  let strace: string;
  let port = 1000;

  before(async () => {
    strace = requireTool('strace');
    dir = await mkdtemp(join(tmpdir(), 'dane-crash-'));
    let pki;
    [bind, pki] = await Promise.all([startBind({ ttl: 1, signed: false }), makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: 'mx.example.test' })]);
    v1 = pki.leaves['ec-p256'];
    v2 = await renewLeaf(pki, v1, join(dir, 'v2'));
  });
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** One service per kill point: its own TLSA name, state dir and activate dir. */
  function service(form: Form) {
    const p = port++;
    const base = join(dir, `${form}-${p}`);
    const name = `_${p}._tcp.mx.example.test`;
    const active = join(base, 'active');
    const flags = ['--tlsa-name', name, '--records', '3 1 1', '--ttl', '1', '--dns', 'nsupdate', '--server', bind.address, '--tsig-key', bind.tsigKeyFile, '--state-dir', join(base, 'state'), '--activate-dir', active, '--reload', 'true'];
    return { base, name, active, state: join(base, 'state'), flags, form };
  }
  type Service = ReturnType<typeof service>;

  const must = (r: CliResult, what: string) => assert.ok(r.exitCode === 0, `${what}: exit ${r.exitCode}\n${r.stderr}`);

  /** Where the scenario starts: v1 in service; for advance also v2 deployed and its record ready. */
  async function baseline(s: Service, scenario: Scenario): Promise<void> {
    await mkdir(s.base, { recursive: true });
    if (s.form === 'folder') await mkdir(s.active);
    must(await runCli(['deploy', ...s.flags, '--lineage', v1.dir]), 'baseline deploy v1');
    if (scenario === 'advance') must(await runCli(['deploy', ...s.flags, '--lineage', v2.dir]), 'baseline deploy v2');
  }

  const args = (s: Service, scenario: Scenario) => (scenario === 'deploy' ? ['deploy', ...s.flags, '--lineage', v2.dir] : ['advance', ...s.flags]);

  /** Runs the CLI under strace; returns the syscall names the main thread made, in order. */
  async function traced(s: Service, scenario: Scenario, inject?: { syscall: string; n: number }): Promise<{ calls: string[]; killed: boolean }> {
    const out = join(s.base, `strace-${inject?.syscall ?? 'pilot'}-${inject?.n ?? 0}.txt`);
    const opts = inject === undefined
      ? ['-e', 'trace=rename,renameat,renameat2,fsync,clone,clone3,vfork']
      : inject.syscall === 'lock-link'
        ? ['-f', '-e', 'trace=link,linkat', '-e', `inject=link,linkat:signal=KILL:when=${inject.n}`] // -f: the lock is linked into place on a libuv pool thread, the run's first link
        : ['-e', `trace=${inject.syscall}`, '-e', `inject=${inject.syscall}:signal=KILL:when=${inject.n}`];
    await execa(strace, ['-qq', '-o', out, ...opts, process.execPath, CLI, ...args(s, scenario)], { reject: false, input: '', timeout: 60_000 });
    const text = readFileSync(out, 'utf8');
    const calls = text.split('\n').flatMap((l) => /^(\w+)\(/.exec(l)?.slice(1) ?? []);
    return { calls, killed: /killed by SIGKILL/.test(text) };
  }

  /** The activate dir as a service would read it: its cert's leaf id, and whether the key is that cert's. */
  function activated(s: Service): { leaf?: string; paired: boolean } {
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = readFileSync(join(s.active, 'cert.pem'));
      key = readFileSync(join(s.active, 'privkey.pem'));
    } catch {
      return { paired: true }; // nothing there yet: nothing a service could pair wrongly
    }
    const x = new X509Certificate(cert);
    const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' });
    const paired = spki(x.publicKey).equals(spki(createPublicKey(createPrivateKey(key))));
    return { leaf: createHash('sha256').update(x.raw).digest('hex'), paired };
  }

  function leftovers(root: string): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (TEMP.test(e.name) || e.name === 'lock' || e.name.endsWith('.takeover')) out.push(p);
        if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
      }
    };
    walk(root);
    return out.filter((p) => !p.includes('strace-'));
  }

  async function converge(s: Service, scenario: Scenario): Promise<void> {
    // Only the timer: certbot never repeats a deploy hook, so `advance` with the service's
    // configured lineage must notice a renewal the killed deploy did not record, and finish.
    void scenario;
    must(await runCli(['advance', ...s.flags, '--lineage', v2.dir, '--wait', '--max-wait', '30'], { timeoutMs: 45_000 }), 'advance --wait');
  }

  async function assertConverged(s: Service, label: string, v1Hash: string, v2Hash: string, v2Id: string): Promise<void> {
    const a = activated(s);
    assert.equal(a.leaf, v2Id, `${label}: the renewed chain is in the activate dir`);
    assert.ok(a.paired, `${label}: with its own key`);
    const tlsa = (await bind.dig(['+short', '+split=0', 'TLSA', `${s.name}.`])).toLowerCase();
    assert.ok(tlsa.includes(v2Hash), `${label}: the renewed key's record is published: ${tlsa}`);
    assert.ok(!tlsa.includes(v1Hash), `${label}: the old key's record is withdrawn: ${tlsa}`);
    const state = JSON.parse(readFileSync(join(s.state, 'services', 'mx.example.test', 'state.json'), 'utf8'));
    assert.equal(state.rollover.inService?.id, v2Id, `${label}: the state has the renewed chain in service`);
    assert.equal(state.rollover.pending, undefined, `${label}: nothing pending`);
    assert.deepEqual(leftovers(s.base), [], `${label}: no lock or temp file left`);
  }

  for (const scenario of ['deploy', 'advance'] as const) {
    for (const form of ['symlink', 'folder'] as const) {
      test(`${scenario}, activate dir as a ${form}: every kill point converges`, { timeout: 900_000 }, async () => {
        const [v1Hash, v2Hash] = await Promise.all([spkiHash(v1.cert), spkiHash(v2.cert)]);
        const v2Id = createHash('sha256').update(new X509Certificate(readFileSync(v2.cert)).raw).digest('hex');
        // A pilot run counts the main thread's renames, fsyncs and forks: one kill point each.
        const pilot = service(form);
        await baseline(pilot, scenario);
        if (scenario === 'advance') await sleep(2500);
        const { calls } = await traced(pilot, scenario);
        await assertConverged(pilot, 'pilot', v1Hash, v2Hash, v2Id).catch(async () => {
          await converge(pilot, scenario);
          await assertConverged(pilot, 'pilot after advance', v1Hash, v2Hash, v2Id);
        });
        const counts = new Map<string, number>();
        for (const c of calls) counts.set(c, (counts.get(c) ?? 0) + 1);
        assert.ok((counts.get('rename') ?? 0) >= 3, `the pilot renamed files: ${[...counts].join(' ')}`);
        if (scenario === 'advance') assert.ok((counts.get('clone') ?? 0) >= 2, `the pilot spawned nsupdate and the reload: ${[...counts].join(' ')}`);
        const points: Point[] = [{ scenario, form, syscall: 'lock-link', n: 1 }];
        for (const [syscall, count] of counts) if (syscall !== 'clone3') for (let n = 1; n <= count; n++) points.push({ scenario, form, syscall, n });

        const pairedAtKill: string[] = [];
        const notKilled: string[] = [];
        // Every point's service is set up first (and, for advance, its renewal left to become
        // ready while the others are set up), then killed and rerun, four at a time.
        const services = await pool(points, 4, async () => {
          const s = service(form);
          await baseline(s, scenario);
          return s;
        });
        if (scenario === 'advance') await sleep(2500);
        await pool(points, 4, async (p, i) => {
          const s = services[i]!;
          const label = `${scenario}/${form} killed at ${p.syscall} #${p.n}`;
          const r = await traced(s, scenario, p);
          if (!r.killed) notKilled.push(label);
          if (!activated(s).paired) pairedAtKill.push(label);
          await converge(s, scenario);
          await assertConverged(s, label, v1Hash, v2Hash, v2Id);
        });
        assert.deepEqual(notKilled, [], 'every kill point was reached');
        if (form === 'symlink') assert.deepEqual(pairedAtKill, [], 'the symlink form never pairs a certificate with another key');
        else if (pairedAtKill.length > 0) process.stderr.write(`# real folder form, mismatched pair right at the kill (converged after): ${pairedAtKill.join('; ')}\n`);
        process.stderr.write(`# ${scenario}/${form}: ${points.length} kill points (${[...counts].filter(([c]) => c !== 'clone3').map(([c, n]) => `${n} ${c}`).join(', ')}, 1 lock link), all converged\n`);
      });
    }
  }
});
