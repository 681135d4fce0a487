// `dane-hook check` end to end through the built CLI, all real and on loopback: a signed BIND
// with a secondary, a validating unbound, openssl s_server (implicit TLS) and the test STARTTLS
// SMTP server. Each verdict is cross-checked with openssl s_client as the DANE client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { execa } from 'execa';
import { requireTool } from '../support/tools.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, freePort, type BindServer } from '../support/bind.js';
import { startUnbound, type UnboundServer } from '../support/unbound.js';
import { opensslDane, startStartTlsServer, startTlsServer, type TlsServer } from '../support/tls-server.js';
import { makePki, openssl, renewLeaf, type LeafPaths, type Pki, spkiHash } from '../support/pki.js';
import { runCli, type CliResult } from '../support/cli.js';

const NAME = '_443._tcp.mx.example.test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function certHash(cert: string): Promise<string> {
  const der = await openssl(['x509', '-in', cert, '-outform', 'der']);
  return (await openssl(['dgst', '-sha256', '-r'], der)).toString().split(' ')[0]!;
}

interface Checked extends CliResult {
  json: { state: string; exitCode: number; summary: string; services: { endpoints: { findings: { code: string; severity: string; message: string }[]; matchedBy: string[] }[] }[] };
  codes: string[];
}

/** Runs check twice, as text and as JSON; both must agree on the exit code. */
async function check(args: string[]): Promise<Checked> {
  const [text, asJson] = await Promise.all([runCli(['check', ...args]), runCli(['check', ...args, '--json'])]);
  assert.equal(asJson.exitCode, text.exitCode, `${text.stdout}\n${text.stderr}`);
  const json = JSON.parse(asJson.stdout) as Checked['json'];
  const codes = json.services.flatMap((s) => s.endpoints.flatMap((e) => e.findings.map((f) => f.code))).sort();
  return { ...text, json, codes };
}

/** The TLSA RRset as the validating resolver serves it, for openssl's -dane_tlsa_rrdata. */
async function validated(bind: BindServer, unbound: UnboundServer, name = NAME): Promise<{ ad: boolean; records: string[] }> {
  const out = await bind.dig(['+dnssec', '+split=0', 'TLSA', `${name}.`], unbound.port);
  const records = out.split('\n').filter((l) => /\sIN\s+TLSA\s/.test(l) && !l.startsWith(';')).map((l) => l.split(/\s+TLSA\s+/)[1]!.trim().toLowerCase());
  return { ad: /flags:[^;]*\bad\b/.test(out), records };
}

async function synced(bind: BindServer): Promise<void> {
  for (let i = 0; i < 100 && (await bind.serial()) !== (await bind.serial(bind.secondaryPort)); i++) await sleep(50);
}

describe('dane-hook check against a signed zone, a validating resolver and live TLS', () => {
  let dir: string;
  let bind: BindServer;
  let unbound: UnboundServer;
  let pki: Pki;
  let leaf: LeafPaths;
  let tls: TlsServer;
  let stateDir: string;
  let ee: string;
  let ta: string;

  const service = (cert = leaf) => [
    '--tlsa-name', NAME, '--ttl', '1', '--dns', 'nsupdate', '--server', bind.address, '--tsig-key', bind.tsigKeyFile,
    '--auth-server', bind.address, '--auth-server', bind.secondaryAddress!, '--state-dir', stateDir, '--cert', cert.cert, '--chain', cert.chain, '--key', cert.key,
  ];
  const checkArgs = (over: string[] = [], cert = leaf) => [...service(cert), '--resolver', unbound.address, '--connect', tls.address, '--timeout', '5', ...over];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-check-'));
    stateDir = join(dir, 'state');
    [bind, pki] = await Promise.all([startBind({ ttl: 1, secondary: true }), makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: 'mx.example.test' })]);
    leaf = pki.leaves['ec-p256'];
    [unbound, tls] = await Promise.all([startUnbound(bind), startTlsServer({ cert: leaf.cert, key: leaf.key, chain: leaf.chain })]);
    ee = `3 1 1 ${await spkiHash(leaf.cert)}`;
    ta = `2 1 1 ${await spkiHash(pki.intermediate.cert)}`;
    const deployed = await runCli(['deploy', ...service()]);
    assert.equal(deployed.exitCode, 0, deployed.stderr);
    await synced(bind);
  });
  after(async () => {
    await Promise.all([tls?.stop(), unbound?.stop()]);
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('all agree: DANE OK (exit 0), and openssl s_client verifies each validated record', async () => {
    const r = await check(checkArgs());
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.stdout.split('\n')[0]!, /^DANE OK - mx\.example\.test: 1 name, chain matched by (3 1 1, 2 1 1|2 1 1, 3 1 1) \| days_left=\d+\.\d;6;2$/, 'the 30-day test certificates get 1/5 and 1/15 of their lifetime');
    const v = await validated(bind, unbound);
    assert.ok(v.ad, 'unbound validated the RRset');
    assert.deepEqual(v.records.sort(), [ta, ee].sort());
    for (const rr of v.records) assert.equal(await opensslDane(tls.address, [rr]), 0, `openssl accepts ${rr}`);
    assert.deepEqual(r.json.services[0]!.endpoints[0]!.matchedBy.sort(), [ta, ee].sort());
    // Readiness per combination, as the rollover counts it (issue 7: "3 1 1 ready, 2 1 1 ready").
    assert.match(r.stdout, new RegExp(`\\n  chain in service [0-9a-f]{12}: 3 1 1 (ready|ready at \\S+|not served everywhere), 2 1 1 (ready|ready at \\S+|not served everywhere)\\n`), r.stdout);
    const readiness = (r.json.services[0] as { readiness?: { role: string; readiness: string }[] }).readiness;
    assert.deepEqual(readiness?.map((c) => c.role), ['chain in service']);
  });

  test('--format prometheus and --textfile: promtool parses the exposition; a stale record is a 0 match', async () => {
    const stale = `3 1 1 ${'ab'.repeat(32)}`;
    await bind.nsupdate([`update add ${NAME}. 1 IN TLSA ${stale}`]);
    await synced(bind);
    try {
      const textfile = join(dir, 'textfile', 'dane.prom');
      const r = await runCli(['check', ...checkArgs(), '--format', 'prometheus', '--textfile', textfile]);
      assert.equal(r.exitCode, 1, r.stdout + r.stderr); // still the monitoring-plugin code: WARNING
      // Prometheus' own parser and linter (promtool reads the exposition on stdin).
      const lint = await execa(requireTool('promtool'), ['check', 'metrics'], { input: r.stdout, reject: false });
      assert.equal(lint.exitCode, 0, `${lint.stdout}${lint.stderr}\n${r.stdout}`);
      assert.equal(await readFile(textfile, 'utf8'), r.stdout, 'the textfile holds what was printed');
      assert.deepEqual(await readdir(join(dir, 'textfile')), ['dane.prom'], 'no temp file left beside it');
      const series = (metric: string) => r.stdout.split('\n').filter((l) => l.startsWith(`${metric}{`));
      const rec = (text: string) => {
        const [usage, selector, matching, data] = text.split(' ');
        return `name="${NAME}.",usage="${usage}",selector="${selector}",matching="${matching}",data="${data}"`;
      };
      assert.deepEqual(series('dane_hook_check_state'), ['dane_hook_check_state{service="mx.example.test"} 1']);
      assert.deepEqual(
        series('dane_hook_tlsa_record_matches').sort(),
        [`{service="mx.example.test",${rec(ee)}} 1`, `{service="mx.example.test",${rec(ta)}} 1`, `{service="mx.example.test",${rec(stale)}} 0`].map((s) => `dane_hook_tlsa_record_matches${s}`).sort(),
      );
      const notAfter = Date.parse((await openssl(['x509', '-in', leaf.cert, '-noout', '-enddate'])).toString().split('=')[1]!.trim()) / 1000;
      assert.deepEqual(series('dane_hook_certificate_expiry_timestamp_seconds'), [`dane_hook_certificate_expiry_timestamp_seconds{service="mx.example.test",name="${NAME}.",connect="${tls.address}"} ${notAfter}`]);
      assert.deepEqual(series('dane_hook_auth_servers_agree'), [`dane_hook_auth_servers_agree{service="mx.example.test",name="${NAME}."} 1`]);
      assert.deepEqual(series('dane_hook_auth_servers'), [`dane_hook_auth_servers{service="mx.example.test",name="${NAME}."} 2`]);
      // The exit code and the textfile also come with the plugin's text on stdout (--textfile alone).
      const plain = await runCli(['check', ...checkArgs(), '--textfile', textfile]);
      assert.equal(plain.exitCode, 1);
      assert.match(plain.stdout, /^DANE WARNING - /);
      const unwritable = await runCli(['check', ...checkArgs(), '--textfile', join(leaf.cert, 'x.prom')]);
      assert.equal(unwritable.exitCode, 3, unwritable.stdout);
      assert.match(unwritable.stdout, /^DANE UNKNOWN - --textfile .*x\.prom: cannot write it/);
    } finally {
      await bind.nsupdate([`update delete ${NAME}. IN TLSA ${stale}`]);
      await synced(bind);
    }
  });

  test('a stale record: WARNING (exit 1); openssl agrees it matches nothing', async () => {
    const stale = `3 1 1 ${'ab'.repeat(32)}`;
    await bind.nsupdate([`update add ${NAME}. 1 IN TLSA ${stale}`]);
    await synced(bind);
    try {
      const r = await check(checkArgs());
      assert.equal(r.exitCode, 1, r.stdout);
      assert.match(r.stdout.split('\n')[0]!, /^DANE WARNING - .*matches neither the presented chain/);
      assert.deepEqual(r.codes, ['stale']);
      assert.equal(await opensslDane(tls.address, [stale]), 1);
    } finally {
      await bind.nsupdate([`update delete ${NAME}. IN TLSA ${stale}`]);
      await synced(bind);
    }
  });

  test('the presented chain matched by no record: CRITICAL (exit 2); openssl refuses the same RRset', async () => {
    const other = `3 1 1 ${'cd'.repeat(32)}`;
    await bind.nsupdate([`update delete ${NAME}. IN TLSA ${ee}`, `update delete ${NAME}. IN TLSA ${ta}`, `update add ${NAME}. 1 IN TLSA ${other}`]);
    await synced(bind);
    try {
      const r = await check(checkArgs());
      assert.equal(r.exitCode, 2, r.stdout);
      assert.match(r.stdout.split('\n')[0]!, /^DANE CRITICAL - mx\.example\.test: the chain .* is matched by none of the 1 records/);
      assert.ok(r.codes.includes('no-match'));
      const v = await validated(bind, unbound);
      assert.deepEqual(v.records, [other]);
      assert.equal(await opensslDane(tls.address, v.records), 1);
    } finally {
      await bind.nsupdate([`update delete ${NAME}. IN TLSA ${other}`, `update add ${NAME}. 1 IN TLSA ${ee}`, `update add ${NAME}. 1 IN TLSA ${ta}`]);
      await synced(bind);
    }
  });

  test('the service still presents the old chain while the files hold the renewed one: WARNING', async () => {
    const renewed = await renewLeaf(pki, leaf, join(dir, 'renewed'));
    const r = await check(checkArgs([], renewed));
    assert.equal(r.exitCode, 1, r.stdout);
    assert.deepEqual(r.codes, ['files-differ'], 'the 2 1 1 still matches the renewed chain, so a reload is safe');
    assert.match(r.stdout, /presents mx\.example\.test .* but .*renewed\/cert\.pem holds mx\.example\.test/);
    // The same with --records "3 1 1" only: nothing matches the renewed files, a reload would break DANE.
    await bind.nsupdate([`update delete ${NAME}. IN TLSA ${ta}`]);
    await synced(bind);
    try {
      const only = await check(checkArgs([], renewed));
      assert.deepEqual(only.codes, ['files-differ', 'files-unmatched']);
      assert.equal(await opensslDane(tls.address, [`3 1 1 ${await spkiHash(renewed.cert)}`]), 1, 'openssl: the renewed key is not what is served');
    } finally {
      await bind.nsupdate([`update add ${NAME}. 1 IN TLSA ${ta}`]);
      await synced(bind);
    }
  });

  test('an authoritative server that lags: WARNING naming it', async () => {
    const extra = `3 0 1 ${await certHash(leaf.cert)}`; // matches the served leaf: not stale
    await bind.holdSecondary();
    try {
      await bind.nsupdate([`update add ${NAME}. 1 IN TLSA ${extra}`]);
      const r = await check(checkArgs());
      assert.equal(r.exitCode, 1, r.stdout);
      assert.deepEqual(r.codes, ['auth-disagree']);
      assert.match(r.stdout, new RegExp(`3 0 1 .* not on ${bind.secondaryAddress!.replace(/\./g, '\\.')}`));
      assert.equal(await opensslDane(tls.address, [extra]), 0, 'openssl: the extra record does match the leaf');
    } finally {
      await bind.nsupdate([`update delete ${NAME}. IN TLSA ${extra}`]);
      await bind.releaseSecondary();
    }
  });

  test('SMTP with STARTTLS (--starttls smtp): OK, and openssl s_client -starttls smtp agrees', async () => {
    const smtp = await startStartTlsServer({ protocol: 'smtp', cert: leaf.cert, key: leaf.key, chain: leaf.chain });
    const bare = await startStartTlsServer({ protocol: 'smtp', cert: leaf.cert, key: leaf.key, offer: false });
    try {
      const r = await check([...checkArgs(), '--connect', smtp.address, '--starttls', 'smtp']);
      assert.equal(r.exitCode, 0, r.stdout);
      assert.equal(await opensslDane(smtp.address, [ee], 'smtp'), 0);
      const noTls = await check([...checkArgs(), '--connect', bare.address, '--starttls', 'smtp']);
      assert.equal(noTls.exitCode, 2, noTls.stdout);
      assert.match(noTls.stdout.split('\n')[0]!, /STARTTLS not offered/);
    } finally {
      await Promise.all([smtp.stop(), bare.stop()]);
    }
  });

  test('nothing listening at the endpoint: CRITICAL; the resolver unreachable: UNKNOWN', async () => {
    const port = await freePort();
    const down = await check([...checkArgs(), '--connect', `127.0.0.1:${port}`]);
    assert.equal(down.exitCode, 2, down.stdout);
    assert.deepEqual(down.codes, ['connect']);
    const noResolver = await check([...checkArgs(), '--resolver', `127.0.0.1:${port}`]);
    assert.equal(noResolver.exitCode, 3, noResolver.stdout);
    assert.match(noResolver.stdout.split('\n')[0]!, /^DANE UNKNOWN - .*cannot ask resolver 127\.0\.0\.1:\d+/);
  });

  test('bad input: UNKNOWN (exit 3), one line on stderr, one DANE UNKNOWN line on stdout (monitors read stdout)', async () => {
    for (const bad of [['--warn-days', '-1'], ['--crit-days', '20'], ['--resolver', '1.2.3.4:0'], ['--starttls', 'smtps'], ['--connect', 'no-port']]) {
      const r = await runCli(['check', ...checkArgs(), ...bad]);
      assert.equal(r.exitCode, 3, `${bad.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^DANE UNKNOWN - [^\n]+\n$/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});

describe('dane-hook check against an unsigned zone', () => {
  let dir: string;
  let bind: BindServer;
  let unbound: UnboundServer;
  let tls: TlsServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-check-unsigned-'));
    let pki: Pki;
    [bind, pki] = await Promise.all([startBind({ ttl: 1, signed: false }), makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: 'mx.example.test' })]);
    const leaf = pki.leaves['ec-p256'];
    [unbound, tls] = await Promise.all([startUnbound(bind), startTlsServer({ cert: leaf.cert, key: leaf.key, chain: leaf.chain })]);
    await bind.nsupdate([`update add ${NAME}. 1 IN TLSA 3 1 1 ${await spkiHash(leaf.cert)}`]);
  });
  after(async () => {
    await Promise.all([tls?.stop(), unbound?.stop()]);
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('records that match but are not signed: CRITICAL, DANE not in effect', async () => {
    const r = await check(['--tlsa-name', NAME, '--server', bind.address, '--state-dir', join(dir, 'state'), '--resolver', unbound.address, '--connect', tls.address]);
    assert.equal(r.exitCode, 2, r.stdout);
    assert.match(r.stdout.split('\n')[0]!, /^DANE CRITICAL - mx\.example\.test: the zone of _443\._tcp\.mx\.example\.test\. is not DNSSEC-signed/);
    assert.deepEqual(r.codes, ['unsigned']);
    assert.equal(r.json.services[0]!.endpoints[0]!.matchedBy.length, 1, 'the record itself matches');
    assert.equal((await validated(bind, unbound)).ad, false, 'dig agrees: no AD flag');
  });
});
