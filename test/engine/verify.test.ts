// advance withdraws stale records only once the live endpoint presents the chain in service:
// a reload that failed keeps them (exit 8). Real named, real openssl s_server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../support/bind.js';
import { makeIntermediate, makePki, renewLeaf, type Pki, spkiHash } from '../support/pki.js';
import { startTlsServer, type TlsServer } from '../support/tls-server.js';
import { runCli } from '../support/cli.js';

const NAME = '_443._tcp.www.example.test';
let bind: BindServer;
let pki: Pki;
let dir: string;
const servers: TlsServer[] = [];


before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-verify-'));
  [bind, pki] = await Promise.all([startBind({ ttl: 1 }), makePki(join(dir, 'pki'), { kinds: ['ed25519', 'rsa', 'ec-p256'], host: 'www.example.test' })]);
});
after(async () => {
  for (const s of servers) await s.stop();
  await bind?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a service still presenting the old chain holds the withdrawal (exit 8); once it presents the new one, advance withdraws', async () => {
  const first = pki.leaves.ed25519;
  const stateDir = join(dir, 'state');
  const active = join(dir, 'active');
  const oldServer = await startTlsServer({ cert: first.cert, key: first.key, chain: first.chain });
  servers.push(oldServer);
  const base = ['--tlsa-name', NAME, '--ttl', '1', '--server', bind.address, '--tsig-key', bind.tsigKeyFile, '--state-dir', stateDir, '--activate-dir', active, '--starttls', 'none'];
  const d1 = await runCli(['deploy', ...base, '--connect', oldServer.address, '--cert', first.cert, '--chain', first.chain, '--key', first.key]);
  assert.equal(d1.exitCode, 0, d1.stderr);

  const issuer = await makeIntermediate(pki, 'other');
  const renewed = await renewLeaf(pki, first, join(dir, 'renewed'), { issuer });
  const d2 = await runCli(['deploy', ...base, '--connect', oldServer.address, '--cert', renewed.cert, '--chain', renewed.chain, '--key', renewed.key]);
  assert.equal(d2.exitCode, 0, d2.stderr);

  // The reload "fails": the server keeps presenting the first chain.
  const held = await runCli(['advance', ...base, '--connect', oldServer.address, '--wait', '--max-wait', '20'], { timeoutMs: 40_000 });
  assert.equal(held.exitCode, 8, held.stderr);
  assert.match(held.stderr, /still presents another certificate/);
  assert.doesNotMatch(held.stderr, /: withdraw /, 'held withdrawals are not reported as done');
  const during = (await bind.dig(['+short', '+split=0', 'TLSA', `${NAME}.`])).toLowerCase();
  assert.ok(during.includes(await spkiHash(first.cert)), 'old record kept while the old chain is presented');
  // status says the withdrawals wait for the live check, and why the last run held them.
  const st = await runCli(['status', ...base, '--connect', oldServer.address, '--json']);
  assert.equal(st.exitCode, 0, st.stderr);
  const steps: string[] = JSON.parse(st.stdout).services[0].nextSteps;
  assert.ok(steps.some((s) => /^verify /.test(s)), steps.join('\n'));
  assert.ok(steps.filter((s) => /^withdraw /.test(s)).every((s) => s.endsWith('(only once the verify above succeeds)')), steps.join('\n'));
  assert.ok(steps.some((s) => /^held: the last run kept these withdrawals back: .*still presents another certificate/.test(s)), steps.join('\n'));

  const newServer = await startTlsServer({ cert: renewed.cert, key: renewed.key, chain: renewed.chain });
  servers.push(newServer);
  const done = await runCli(['advance', ...base, '--connect', newServer.address]);
  assert.equal(done.exitCode, 0, done.stderr);
  const after = (await bind.dig(['+short', '+split=0', 'TLSA', `${NAME}.`])).toLowerCase();
  assert.ok(!after.includes(await spkiHash(first.cert)), after);
  assert.ok(after.includes(await spkiHash(renewed.cert)), after);
});

test('an endpoint serving an RSA and an ECDSA certificate (s_server -cert -dcert): the RSA service is verified on its own key type', async () => {
  const rsa = pki.leaves.rsa;
  const ec = pki.leaves['ec-p256'];
  const stateDir = join(dir, 'state-dual');
  const active = join(dir, 'active-dual');
  const base = ['--tlsa-name', '_443._tcp.dual.example.test', '--ttl', '1', '--server', bind.address, '--tsig-key', bind.tsigKeyFile, '--state-dir', stateDir, '--activate-dir', active, '--starttls', 'none'];
  // The ECDSA certificate comes first: a client offering every algorithm gets it, not the RSA one.
  const before = await startTlsServer({ cert: ec.cert, key: ec.key, chain: ec.chain, second: { cert: rsa.cert, key: rsa.key, chain: rsa.chain } });
  servers.push(before);
  const d1 = await runCli(['deploy', ...base, '--connect', before.address, '--cert', rsa.cert, '--chain', rsa.chain, '--key', rsa.key]);
  assert.equal(d1.exitCode, 0, d1.stderr);
  const renewed = await renewLeaf(pki, rsa, join(dir, 'renewed-rsa'), { issuer: await makeIntermediate(pki, 'other-rsa') });
  const d2 = await runCli(['deploy', ...base, '--connect', before.address, '--cert', renewed.cert, '--chain', renewed.chain, '--key', renewed.key]);
  assert.equal(d2.exitCode, 0, d2.stderr);
  const reloaded = await startTlsServer({ cert: ec.cert, key: ec.key, chain: ec.chain, second: { cert: renewed.cert, key: renewed.key, chain: renewed.chain } });
  servers.push(reloaded);
  const done = await runCli(['advance', ...base, '--connect', reloaded.address, '--wait', '--max-wait', '20'], { timeoutMs: 40_000 });
  assert.equal(done.exitCode, 0, done.stderr);
  const rrset = (await bind.dig(['+short', '+split=0', 'TLSA', '_443._tcp.dual.example.test.'])).toLowerCase();
  assert.ok(!rrset.includes(await spkiHash(rsa.cert)), `the old RSA record is withdrawn: ${rrset}`);
  assert.ok(rrset.includes(await spkiHash(renewed.cert)), rrset);
});
