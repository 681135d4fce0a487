// A service with an RSA and an ECDSA lineage (issue 11), by hand with --cert/--key: a deployed
// certificate goes to the lineage of its key type; one of the wrong type is refused before any DNS
// change; with --connect each lineage's chain is verified on its own key type, and a lineage whose
// chain is not presented keeps its stale records while the other's go. Real named, real s_server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../support/bind.js';
import { makePki, renewLeaf, type LeafPaths, type Pki, spkiHash } from '../support/pki.js';
import { startTlsServer, type TlsServer } from '../support/tls-server.js';
import { runCli, stderrLines } from '../support/cli.js';

const NAME = '_443._tcp.www.example.test';
let bind: BindServer;
let pki: Pki;
let dir: string;
const servers: TlsServer[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-lineages-'));
  [bind, pki] = await Promise.all([startBind({ ttl: 2 }), makePki(join(dir, 'pki'), { kinds: ['rsa', 'ec-p256'], host: 'www.example.test' })]);
});
after(async () => {
  for (const s of servers) await s.stop();
  await bind?.stop();
  await rm(dir, { recursive: true, force: true });
});

const tlsa = async () => (await bind.dig(['+short', '+split=0', 'TLSA', `${NAME}.`])).toLowerCase();
const files = (l: LeafPaths) => ['--cert', l.cert, '--chain', l.chain, '--key', l.key];
const serve = async (rsa: LeafPaths, ec: LeafPaths) => {
  const s = await startTlsServer({ cert: rsa.cert, key: rsa.key, chain: rsa.chain, second: { cert: ec.cert, key: ec.key, chain: ec.chain } });
  servers.push(s);
  return s;
};

/** A config with one service of two lineages, connecting to `connect`. */
async function config(name: string, connect: string, lineages: { keyType: string; cert: string; key: string; chain: string }[], tlsaName = NAME, id = 'www'): Promise<string> {
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify({
    stateDir: join(dir, `state-${name}`),
    dns: { backend: 'nsupdate', server: bind.address, tsigKey: bind.tsigKeyFile },
    services: [{ id, tlsaNames: [tlsaName], ttl: 2, activateDir: join(dir, `active-${name}`), connect, starttls: 'none', lineages }],
  }));
  return file;
}
const source = (keyType: string, l: LeafPaths) => ({ keyType, cert: l.cert, key: l.key, chain: l.chain });

test('a certificate named by a lineage of another key type is refused in one line, before any DNS change', async () => {
  const rsa = pki.leaves.rsa;
  const ec = pki.leaves['ec-p256'];
  // The ECDSA files are written as the rsa lineage (and the RSA ones as ecdsa).
  const c = await config('swapped', '127.0.0.1:1', [source('rsa', ec), source('ecdsa', rsa)]);
  const r = await runCli(['deploy', '--config', c, ...files(ec)]);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.deepEqual(stderrLines(r), [`dane-hook: ${ec.cert} holds a ec-p256 certificate, but it is the lineage of key type rsa of service www: fix its "keyType" in the config`]);
  assert.equal((await tlsa()).trim(), '', 'nothing published');
});

test('each lineage is verified on its own key type: the one still presenting its old chain keeps its records, the other withdraws', async () => {
  const rsa1 = pki.leaves.rsa;
  const ec1 = pki.leaves['ec-p256'];
  const first = await serve(rsa1, ec1);
  const c = await config('verify', first.address, [source('rsa', rsa1), source('ecdsa', ec1)]);
  for (const l of [rsa1, ec1]) {
    const d = await runCli(['deploy', '--config', c, ...files(l)]);
    assert.equal(d.exitCode, 0, d.stderr);
  }
  const settle = await runCli(['advance', '--config', c, '--wait', '--max-wait', '20'], { timeoutMs: 40_000 });
  assert.equal(settle.exitCode, 0, settle.stderr);
  const st = await runCli(['status', '--config', c, '--json']);
  const views = JSON.parse(st.stdout).services as { service: string; inService?: { id: string } }[];
  assert.deepEqual(views.map((v) => v.service), ['www/rsa', 'www/ecdsa']);
  assert.ok(views.every((v) => v.inService), 'both lineages in service');

  const rsa2 = await renewLeaf(pki, rsa1, join(dir, 'rsa2'));
  const ec2 = await renewLeaf(pki, ec1, join(dir, 'ec2'));
  for (const l of [rsa2, ec2]) {
    const d = await runCli(['deploy', '--config', c, ...files(l)]);
    assert.equal(d.exitCode, 0, d.stderr);
  }
  // The service "reloaded" only the RSA certificate: it presents the new RSA and the old ECDSA chain.
  const half = await serve(rsa2, ec1);
  const c2 = await config('verify', half.address, [source('rsa', rsa1), source('ecdsa', ec1)]);
  const held = await runCli(['advance', '--config', c2, '--wait', '--max-wait', '20'], { timeoutMs: 40_000 });
  assert.equal(held.exitCode, 8, held.stderr);
  assert.match(held.stderr, /ecdsa: .*still presents other certificates? than the one in service/);
  const during = await tlsa();
  assert.ok(!during.includes(await spkiHash(rsa1.cert)), `the old RSA record is withdrawn: ${during}`);
  for (const l of [rsa2, ec1, ec2]) assert.ok(during.includes(await spkiHash(l.cert)), `${l.cert} kept: ${during}`);

  const whole = await serve(rsa2, ec2);
  const c3 = await config('verify', whole.address, [source('rsa', rsa1), source('ecdsa', ec1)]);
  const done = await runCli(['advance', '--config', c3]);
  assert.equal(done.exitCode, 0, done.stderr);
  const rrset = (await tlsa()).trim().split('\n').map((l) => l.split(' ').slice(0, 3).join(' ') + ' ' + l.split(' ').slice(3).join('')).sort();
  const want = [`2 1 1`, `3 1 1 ${await spkiHash(ec2.cert)}`, `3 1 1 ${await spkiHash(rsa2.cert)}`];
  assert.equal(rrset.length, 3, `one shared 2 1 1 and the two current keys: ${rrset.join(', ')}`);
  assert.ok(rrset[0]!.startsWith(want[0]!) && rrset.includes(want[1]!) && rrset.includes(want[2]!), rrset.join('\n'));
  // check judges each lineage on its own key type: both OK.
  const check = await runCli(['check', '--config', c3, '--resolver', bind.address]);
  assert.match(check.stdout, /www\/rsa/);
});

test('a service that had one source gets lineages: its chain and records are kept by the lineage of its key type; deploy by hand deploys each lineage', async () => {
  const name = '_443._tcp.adopt.example.test';
  const rsa = pki.leaves.rsa;
  const ec = pki.leaves['ec-p256'];
  const server = await serve(rsa, ec);
  const stateDir = join(dir, 'state-adopt');
  const single = await runCli(['deploy', '--tlsa-name', name, '--ttl', '2', '--server', bind.address, '--tsig-key', bind.tsigKeyFile, '--state-dir', stateDir,
    '--activate-dir', join(dir, 'active-single'), '--starttls', 'none', '--connect', server.address, ...files(rsa)]);
  assert.equal(single.exitCode, 0, single.stderr);
  const c = await config('adopt', server.address, [source('rsa', rsa), source('ecdsa', ec)], name, 'adopt.example.test');
  // No files named: each lineage's configured files are deployed in turn.
  const both = await runCli(['deploy', '--config', c]);
  assert.equal(both.exitCode, 0, both.stderr);
  const state = JSON.parse(await readFile(join(stateDir, 'services', 'adopt.example.test', 'state.json'), 'utf8'));
  assert.equal(state.rollover.owned.length, 0, 'the single rollover moved');
  assert.equal(state.lineages.rsa.inService.id.length, 64, 'the RSA chain stays in service');
  assert.ok(state.lineages.ecdsa.pending, 'the ECDSA chain waits');
  const adv = await runCli(['advance', '--config', c, '--wait', '--max-wait', '20'], { timeoutMs: 40_000 });
  assert.equal(adv.exitCode, 0, adv.stderr);
  // The RSA chain was written into its lineage's activate dir; the ECDSA one promoted into its own.
  for (const [l, leaf] of [['rsa', rsa], ['ecdsa', ec]] as const) {
    assert.equal(await spkiHash(join(dir, 'active-adopt', l, 'cert.pem')), await spkiHash(leaf.cert), `${l} activate dir`);
  }
  const rrset = await bind.dig(['+short', '+split=0', 'TLSA', `${name}.`]);
  for (const leaf of [rsa, ec]) assert.ok(rrset.toLowerCase().includes(await spkiHash(leaf.cert)), rrset);
});

test('a lineage removed from the config: with --connect its records stay while the endpoint presents it, then go; a record the other lineage needs is handed over', async () => {
  const name = '_443._tcp.retire.example.test';
  const dig = async () => (await bind.dig(['+short', '+split=0', 'TLSA', `${name}.`])).toLowerCase();
  const rsa = pki.leaves.rsa;
  const ec = pki.leaves['ec-p256'];
  const both = await serve(rsa, ec);
  const c = await config('retire', both.address, [source('rsa', rsa), source('ecdsa', ec)], name, 'retire');
  for (const l of [rsa, ec]) {
    const d = await runCli(['deploy', '--config', c, ...files(l)]);
    assert.equal(d.exitCode, 0, d.stderr);
  }
  const settle = await runCli(['advance', '--config', c, '--wait', '--max-wait', '20'], { timeoutMs: 40_000 });
  assert.equal(settle.exitCode, 0, settle.stderr);
  const [rsaHash, ecHash] = [await spkiHash(rsa.cert), await spkiHash(ec.cert)];
  assert.equal((await dig()).trim().split('\n').length, 3, 'a shared 2 1 1 and both keys');

  // The RSA lineage leaves the config, but the endpoint still presents the RSA certificate.
  const ecOnly = await config('retire', both.address, [source('ecdsa', ec)], name, 'retire');
  const held = await runCli(['advance', '--config', ecOnly]);
  assert.equal(held.exitCode, 8, held.stderr);
  assert.match(held.stderr, /rsa: the lineage is no longer configured, but .* still presents its certificate/);
  assert.ok((await dig()).includes(rsaHash), 'the RSA record stays while RSA clients may still get that certificate');

  const ecServer = await startTlsServer({ cert: ec.cert, key: ec.key, chain: ec.chain });
  servers.push(ecServer);
  const c2 = await config('retire', ecServer.address, [source('ecdsa', ec)], name, 'retire');
  const done = await runCli(['advance', '--config', c2]);
  assert.equal(done.exitCode, 0, done.stderr);
  const served = (await dig()).trim().split('\n');
  assert.ok(!served.join().includes(rsaHash), `the RSA record is withdrawn: ${served.join('; ')}`);
  assert.equal(served.length, 2, `the 2 1 1 and the ECDSA key stay: ${served.join('; ')}`);
  assert.ok(served.some((l) => l.replace(/ /g, '').endsWith(ecHash)) && served.some((l) => l.startsWith('2 1 1')), served.join('; '));
  // The 2 1 1 the RSA lineage had published is now the ECDSA lineage's, and the RSA slot is gone.
  const state = JSON.parse(await readFile(join(dir, 'state-retire', 'services', 'retire', 'state.json'), 'utf8'));
  assert.deepEqual(Object.keys(state.lineages), ['ecdsa']);
  assert.ok(state.lineages.ecdsa.owned.some((o: { record: { usage: number } }) => o.record.usage === 2), JSON.stringify(state.lineages.ecdsa.owned));
  const again = await runCli(['advance', '--config', c2]);
  assert.equal(again.exitCode, 0, again.stderr);
  assert.equal(again.stderr.trim(), 'retire: nothing to do', 'no warning once the lineage is retired');
  assert.equal((await dig()).trim().split('\n').length, 2);
});

test('advance deploys a lineage\'s renewal that no hook reported; a second advance does not deploy it again; an idle one writes nothing', async () => {
  const name = '_443._tcp.unreported.example.test';
  const rsa = pki.leaves.rsa;
  // The ECDSA lineage's configured files, renewed in place later (as certbot does with no deploy hook run).
  const ecDir = join(dir, 'unreported-ec');
  await mkdir(ecDir);
  const place = async (l: LeafPaths) => {
    for (const f of ['cert', 'key', 'chain'] as const) await copyFile(l[f], join(ecDir, `${f}.pem`));
  };
  const ec1 = pki.leaves['ec-p256'];
  await place(ec1);
  const configured = { keyType: 'ecdsa', cert: join(ecDir, 'cert.pem'), key: join(ecDir, 'key.pem'), chain: join(ecDir, 'chain.pem') };
  const server = await serve(rsa, ec1);
  const c = await config('unreported', server.address, [source('rsa', rsa), configured], name, 'unreported.example.test');
  const both = await runCli(['deploy', '--config', c]);
  assert.equal(both.exitCode, 0, both.stderr);
  const settle = await runCli(['advance', '--config', c, '--wait', '--max-wait', '20'], { timeoutMs: 40_000 });
  assert.equal(settle.exitCode, 0, settle.stderr);
  assert.doesNotMatch(settle.stderr, /no deploy hook reported/, 'the deployed certificates are known');
  // Nothing to do: the timer's advance reads the state and leaves the file as it was (no write, no fsync).
  const statePath = join(dir, 'state-unreported', 'services', 'unreported.example.test', 'state.json');
  const before = { text: await readFile(statePath, 'utf8'), ino: (await stat(statePath)).ino };
  const idle = await runCli(['advance', '--config', c]);
  assert.equal(idle.exitCode, 0, idle.stderr);
  assert.deepEqual({ text: await readFile(statePath, 'utf8'), ino: (await stat(statePath)).ino }, before, 'an idle advance rewrote the state file');

  const ec2 = await renewLeaf(pki, ec1, join(dir, 'unreported-ec2'));
  await place(ec2);
  const adv = await runCli(['advance', '--config', c]);
  assert.equal(adv.exitCode, 0, adv.stderr);
  assert.match(adv.stderr, /dane-hook: warning: unreported\.example\.test\/ecdsa: .*cert\.pem holds a certificate .* that no deploy hook reported: deploying it now/);
  const rrset = (await bind.dig(['+short', '+split=0', 'TLSA', `${name}.`])).toLowerCase();
  assert.ok(rrset.includes(await spkiHash(ec2.cert)), `the renewed ECDSA key is published: ${rrset}`);
  for (const l of [rsa, ec1]) assert.ok(rrset.includes(await spkiHash(l.cert)), `${l.cert} stays while the new one waits: ${rrset}`);
  const again = await runCli(['advance', '--config', c]);
  assert.equal(again.exitCode, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /no deploy hook reported/, 'a known certificate is not deployed twice');
});
