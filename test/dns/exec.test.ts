// The exec backend end to end: the user's command is a real shell script that applies each change
// with real nsupdate to a real named; dane-hook's rollover drives it through the CLI.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../support/bind.js';
import { makePki, renewLeaf, spkiHash, type Pki } from '../support/pki.js';
import { runCli } from '../support/cli.js';
import { execEnv } from '../../src/dns/exec.js';

const NAME = '_25._tcp.mx.example.test';
let bind: BindServer;
let pki: Pki;
let dir: string;
let script: string;
let log: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-exec-'));
  [bind, pki] = await Promise.all([startBind({ ttl: 1 }), makePki(join(dir, 'pki'), { kinds: ['ec-p384'], host: 'mx.example.test' })]);
  script = join(dir, 'provider.sh');
  log = join(dir, 'calls.log');
  // A stand-in "DNS provider API" that is really nsupdate: exit 1 when there is nothing to do.
  await writeFile(
    script,
    `#!/bin/sh
set -eu
echo "$TLSA_OPERATION $TLSA_DOMAIN $TLSA_PORT $TLSA_PROTOCOL $TLSA_USAGE $TLSA_SELECTOR $TLSA_MATCHING $TLSA_TTL $TLSA_ZONE" >> "${log}"
have=$(dig +short +split=0 -p ${bind.port} @127.0.0.1 TLSA "$TLSA_NAME" | tr A-F a-f | grep -c "$TLSA_USAGE $TLSA_SELECTOR $TLSA_MATCHING $TLSA_HASH" || true)
if [ "$TLSA_OPERATION" = publish ]; then
  [ "$have" = 0 ] || exit 1
  printf 'server 127.0.0.1 ${bind.port}\\nupdate add %s %s IN TLSA %s %s %s %s\\nsend\\n' "$TLSA_NAME" "$TLSA_TTL" "$TLSA_USAGE" "$TLSA_SELECTOR" "$TLSA_MATCHING" "$TLSA_HASH" | nsupdate -k "${bind.tsigKeyFile}"
else
  [ "$have" != 0 ] || exit 1
  printf 'server 127.0.0.1 ${bind.port}\\nupdate delete %s IN TLSA %s %s %s %s\\nsend\\n' "$TLSA_NAME" "$TLSA_USAGE" "$TLSA_SELECTOR" "$TLSA_MATCHING" "$TLSA_HASH" | nsupdate -k "${bind.tsigKeyFile}"
fi
`,
  );
  await chmod(script, 0o755);
});
after(async () => {
  await bind?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('execEnv: the alnitak-style contract', () => {
  const env = execEnv({ op: 'add', name: `${NAME}.`, ttl: 300, record: { usage: 3, selector: 1, matching: 1, data: 'ab'.repeat(32) } }, 'example.test.');
  assert.deepEqual(env, {
    TLSA_OPERATION: 'publish', TLSA_USAGE: '3', TLSA_SELECTOR: '1', TLSA_MATCHING: '1', TLSA_HASH: 'ab'.repeat(32), TLSA_PORT: '25',
    TLSA_PROTOCOL: 'tcp', TLSA_DOMAIN: 'mx.example.test', TLSA_NAME: `${NAME}.`, TLSA_TTL: '300', TLSA_ZONE: 'example.test.',
  });
});

test('exec backend: first deploy and a renewal roll over through the user command (real nsupdate behind it)', async () => {
  const st = join(dir, 'state');
  const base = ['--tlsa-name', NAME, '--records', '3 1 1', '--ttl', '1', '--dns', 'exec', '--exec', script, '--auth-server', bind.address, '--state-dir', st, '--activate-dir', join(dir, 'active')];
  const a = pki.leaves['ec-p384'];
  const r1 = await runCli(['deploy', ...base, '--cert', a.cert, '--key', a.key]);
  assert.equal(r1.exitCode, 0, r1.stderr);
  const tlsa = async () => (await bind.dig(['+short', '+split=0', 'TLSA', `${NAME}.`])).toLowerCase();
  assert.ok((await tlsa()).includes(await spkiHash(a.cert)));
  const b = await renewLeaf(pki, a, join(dir, 'b'));
  assert.equal((await runCli(['deploy', ...base, '--cert', b.cert, '--key', b.key])).exitCode, 0);
  const done = await runCli(['advance', '--state-dir', st, '--wait', '--max-wait', '20'], { timeoutMs: 40_000 });
  assert.equal(done.exitCode, 0, done.stderr);
  const end = await tlsa();
  assert.ok(!end.includes(await spkiHash(a.cert)) && end.includes(await spkiHash(b.cert)), end);
  const calls = (await readFile(log, 'utf8')).trim().split('\n');
  assert.deepEqual(calls.map((l) => l.split(' ')[0]), ['publish', 'publish', 'delete']);
  assert.equal(calls[0], 'publish mx.example.test 25 tcp 3 1 1 1 example.test.');
});

test('exec backend: a failing command is a DNS error (exit 3) naming the command and the change', async () => {
  const fail = join(dir, 'fail.sh');
  await writeFile(fail, '#!/bin/sh\necho "API said: 403 forbidden" >&2\nexit 7\n');
  await chmod(fail, 0o755);
  const a = pki.leaves['ec-p384'];
  const r = await runCli(['deploy', '--tlsa-name', '_26._tcp.mx.example.test', '--dns', 'exec', '--exec', fail, '--auth-server', bind.address, '--state-dir', join(dir, 'st2'), '--cert', a.cert, '--key', a.key]);
  assert.equal(r.exitCode, 3, r.stderr);
  assert.match(r.stderr, /exec backend .*fail\.sh' failed to publish _26\._tcp\.mx\.example\.test\. TLSA 3 1 1: exit 7 \(API said: 403 forbidden\)/);
});
