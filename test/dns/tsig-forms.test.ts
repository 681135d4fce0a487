// TSIG key files in every form BIND's own tools write, through the built CLI against a real named
// (NSEC3-signed) that knows a key of each HMAC algorithm: tsig-keygen -a each, a key name with its
// trailing dot, ddns-confgen's whole output and rndc-confgen's (which nsupdate -k alone cannot read),
// and the files that must be refused at once (exit 2, one line, no DNS change, never the secret):
// several keys in one file, an unknown algorithm, a secret that is not base64. A wrong secret is
// the server's BADSIG (exit 3), again without the secret.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../support/bind.js';
import { makePki, spkiHash, type LeafPaths } from '../support/pki.js';
import { runCli, stderrLines, type CliResult } from '../support/cli.js';
import { checkTsigKeyFile, keyForNsupdate } from '../../src/dns/tsig.js';

const ALGORITHMS = ['hmac-sha256', 'hmac-sha512', 'hmac-sha384', 'hmac-sha224', 'hmac-sha1', 'hmac-md5'];
const secretOf = (file: string): string => /secret "([^"]+)"/.exec(readFileSync(file, 'utf8'))![1]!;

describe('TSIG key file forms (real named with NSEC3, real nsupdate)', () => {
  let dir: string;
  let bind: BindServer;
  let leaf: LeafPaths;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-tsig-'));
    const extraKeys = [...ALGORITHMS.slice(1).map((a) => ({ name: `k-${a}`, algorithm: a })), { name: 'dotted.key.', algorithm: 'hmac-sha256' }];
    let pki;
    [bind, pki] = await Promise.all([startBind({ ttl: 1, nsec3: true, extraKeys }), makePki(join(dir, 'pki'), { kinds: ['ec-p384'], host: 'mx.example.test' })]);
    leaf = pki.leaves['ec-p384'];
  });
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A deploy of the leaf at a fresh name with `key`; returns the run and the name. */
  async function deploy(key: string): Promise<{ r: CliResult; name: string }> {
    const name = `_25._tcp.h${++n}.${bind.zone}`;
    const r = await runCli(['deploy', '--dns', 'nsupdate', '--server', bind.address, '--tsig-key', key, '--state-dir', join(dir, `state-${n}`),
      '--fullchain', leaf.fullchain, '--key', leaf.key, '--records', '3 1 1', '--tlsa-name', name]);
    return { r, name };
  }
  const served = async (name: string): Promise<string> => (await bind.dig(['+norec', '+short', '+split=0', 'TLSA', name])).trim().toLowerCase();

  test('the zone is signed with NSEC3', async () => {
    assert.match(await bind.dig(['+norec', '+dnssec', 'TLSA', `nothing-here.${bind.zone}`]), /\sNSEC3\s/);
  });

  test('tsig-keygen files of every HMAC algorithm, and a key name with a trailing dot, publish the record', async () => {
    const want = `3 1 1 ${await spkiHash(leaf.cert)}`;
    for (const file of [bind.tsigKeyFile, ...bind.extraKeyFiles]) {
      const { r, name } = await deploy(file);
      assert.equal(r.exitCode, 0, `${file}: ${r.stderr}`);
      assert.equal(await served(name), want, file);
    }
    assert.match(readFileSync(bind.extraKeyFiles.at(-1)!, 'utf8'), /key "dotted\.key\."/);
  });

  test("ddns-confgen's and rndc-confgen's whole output (text, update-policy, options around the key) publish the record", async () => {
    // Their real output with the server's key name and secret put in, as a user saves it.
    const secret = secretOf(bind.tsigKeyFile);
    const ddns = execFileSync('ddns-confgen', ['-k', bind.tsigKeyName, '-z', 'example.test'], { encoding: 'utf8' });
    const rndc = execFileSync('rndc-confgen', ['-k', bind.tsigKeyName], { encoding: 'utf8' });
    assert.match(ddns, /update-policy/);
    assert.match(rndc, /options \{/);
    for (const [label, text] of [['ddns-confgen', ddns], ['rndc-confgen', rndc]] as const) {
      const file = join(dir, `${label}.conf`);
      writeFileSync(file, text.replace(/secret "[^"]+"/g, `secret "${secret}"`), { mode: 0o600 });
      // nsupdate -k cannot read it: the key goes to nsupdate on standard input instead.
      assert.deepEqual(keyForNsupdate(file).args, [], label);
      const { r, name } = await deploy(file);
      assert.equal(r.exitCode, 0, `${label}: ${r.stderr}`);
      assert.equal(await served(name), `3 1 1 ${await spkiHash(leaf.cert)}`, label);
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `${label}: the secret is never printed`);
    }
  });

  test('several keys, an unknown algorithm, a secret not in base64: exit 2, one line naming the file, no DNS change, no secret', async () => {
    const secret = secretOf(bind.tsigKeyFile);
    const cases: [string, string, RegExp][] = [
      ['several.key', readFileSync(bind.tsigKeyFile, 'utf8') + readFileSync(bind.extraKeyFiles[0]!, 'utf8'), /holds 2 keys \("tlsa-key", "k-hmac-sha512"\): nsupdate signs with one/],
      ['alg.key', `key "tlsa-key" { algorithm hmac-sha3-256; secret "${secret}"; };\n`, /key "tlsa-key" has algorithm "hmac-sha3-256": use one of hmac-md5, .*hmac-sha512$/],
      ['b64.key', `key "tlsa-key" { algorithm hmac-sha256; secret "${secret.slice(0, -2)}!!"; };\n`, /key "tlsa-key": its secret is not base64$/],
      ['nokey.key', 'options { directory "/tmp"; };\n', /is not a TSIG key file: expected tsig-keygen output/],
    ];
    for (const [file, text, message] of cases) {
      const path = join(dir, file);
      writeFileSync(path, text, { mode: 0o600 });
      const serial = await bind.serial();
      const { r, name } = await deploy(path);
      assert.equal(r.exitCode, 2, `${file}: ${r.stderr}`);
      const lines = stderrLines(r);
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0]!.includes(path), lines[0]);
      assert.match(lines[0]!, message);
      assert.ok(!r.stderr.includes(secret.slice(0, 12)), 'the secret is never printed');
      assert.equal(await served(name), '');
      assert.equal(await bind.serial(), serial, 'no DNS change');
    }
  });

  test('a wrong secret is BADSIG, exit 3, without the secret', async () => {
    const wrong = join(dir, 'wrong.key');
    const other = execFileSync('tsig-keygen', ['-a', 'hmac-sha256', bind.tsigKeyName], { encoding: 'utf8' });
    writeFileSync(wrong, other, { mode: 0o600 });
    const { r, name } = await deploy(wrong);
    assert.equal(r.exitCode, 3, r.stderr);
    assert.match(r.stderr, /NOTAUTH \(BADSIG\): the TSIG key does not match/);
    assert.ok(!r.stderr.includes(secretOf(wrong)) && !r.stdout.includes(secretOf(wrong)));
    assert.equal(await served(name), '');
  });
});

describe('TSIG key file parsing (no server needed)', () => {
  test('comments and strings: a "//" or "#" inside the base64 secret is not a comment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dane-tsig-parse-'));
    try {
      const file = join(dir, 'k.conf');
      writeFileSync(file, '// a comment\n/* key "fake" { algorithm hmac-md5; secret "AAAA"; }; */\n# key "x" {\nkey k1 { secret "ab//cd+/ef=="; algorithm HMAC-SHA256; };\nserver 192.0.2.1 { keys { k1; }; };\n');
      assert.equal(checkTsigKeyFile(file), file);
      assert.deepEqual(keyForNsupdate(file), { args: [], scriptHead: 'key hmac-sha256:k1 ab//cd+/ef==\n' });
      const plain = join(dir, 'plain.key');
      writeFileSync(plain, 'key "k1" {\n\talgorithm hmac-sha256;\n\tsecret "ab//cd+/ef==";\n};\n');
      assert.deepEqual(keyForNsupdate(plain), { args: ['-k', plain], scriptHead: '' }, 'tsig-keygen output still goes by -k');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
