// Negative controls for the DANE probe the e2e tests rely on: "the probe never failed" only means
// something if the probe does fail when a DANE client would. Same stack, certificates from
// test/support/pki.ts (no ACME needed here).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { makeIntermediate, makeLeaf, makePki, type Pki } from '../support/pki.js';
import { startProbe, verifyDane } from '../support/probe.js';
import { assertProbeClean, HOST, spkiHash, startStack, type Stack } from './stack.js';

describe('e2e: the DANE probe catches what a DANE client would refuse (negative controls)', () => {
  let s: Stack;
  let pki: Pki;
  before(async () => {
    s = await startStack('probe');
    pki = await makePki(join(s.dir, 'pki'), { kinds: ['ec-p256'], host: HOST });
    const leaf = pki.leaves['ec-p256'];
    const r = await s.cli(['deploy', ...s.flags(), '--cert', leaf.cert, '--chain', leaf.chain, '--key', leaf.key]);
    assert.equal(r.exitCode, 0, r.stderr);
  });
  after(async () => s?.stop());

  test('positive control: the right records verify, via 3 1 1 and via 2 1 1 alone', async () => {
    const leaf = pki.leaves['ec-p256'];
    const ee = `3 1 1 ${await spkiHash(leaf.cert)}`;
    const ta = `2 1 1 ${await spkiHash(pki.intermediate.cert)}`;
    assert.equal((await verifyDane(s.served.port, HOST, [ee])).kind, 'ok');
    const viaTa = await verifyDane(s.served.port, HOST, [ta]);
    assert.equal(viaTa.kind, 'ok', viaTa.detail);
    assert.match(viaTa.matched ?? '', /TA certificate/);
    const probe = s.probe();
    await probe.waitFor((c) => c.kind === 'ok', 15_000);
    await assertProbeClean(probe, [await spkiHash(leaf.cert)]);
  });

  test('a wrong record in DNS: every check fails and the "never fails" assertion fails', async () => {
    const bad = `_25._tcp.bad.${HOST.split('.').slice(1).join('.')}`;
    await s.bind.nsupdate([`update add ${bad}. 1 IN TLSA 3 1 1 ${'ab'.repeat(32)}`]);
    const probe = startProbe({ resolverPort: s.resolver.port, tlsaName: bad, host: HOST, port: s.served.port });
    const failed = await probe.waitFor((c) => c.kind !== 'ok', 15_000, 'a failure');
    assert.equal(failed.kind, 'dane', failed.detail);
    assert.deepEqual(failed.records, [`3 1 1 ${'ab'.repeat(32)}`], 'the record came from the resolver');
    await assert.rejects(assertProbeClean(probe, []), /dane/);
  });

  test('no TLSA record (NXDOMAIN) is a failure too', async () => {
    const probe = startProbe({ resolverPort: s.resolver.port, tlsaName: `_26._tcp.${HOST}`, host: HOST, port: s.served.port });
    const failed = await probe.waitFor((c) => c.kind !== 'ok', 15_000, 'a failure');
    assert.equal(failed.kind, 'dns');
    // The failure keeps the resolver's answer: rcode, flags and the NSEC that proves the denial.
    assert.match(failed.answer ?? '', /status: NXDOMAIN/);
    assert.match(failed.answer ?? '', /^;; flags: .*\bad\b/m);
    assert.match(failed.answer ?? '', /\sIN\s+NSEC\s/);
    await assert.rejects(assertProbeClean(probe, []), /the resolver's answer:\n.*status: NXDOMAIN/);
  });

  test('a chain switched in before its records are published (what dane-hook prevents) is caught', async () => {
    const probe = s.probe();
    await probe.waitFor((c) => c.kind === 'ok', 15_000, 'a verified handshake first');
    // Another issuer, so the published 2 1 1 does not cover it either; swapped behind dane-hook's back.
    const other = await makeIntermediate(pki, 'other-issuer');
    const rogue = await makeLeaf(join(s.dir, 'rogue'), other, pki.root, { kind: 'ec-p256', host: HOST });
    await rm(s.activeDir, { recursive: true, force: true });
    await mkdir(s.activeDir);
    await Promise.all([['cert', rogue.cert], ['chain', rogue.chain], ['privkey', rogue.key]].map(([n, f]) => copyFile(f!, join(s.activeDir, `${n}.pem`))));
    const [cmd, ...args] = s.served.reloadCommand.split(' ');
    await execa(cmd!, args);
    const failed = await probe.waitFor((c) => c.kind !== 'ok', 15_000, 'the early switch caught');
    assert.equal(failed.kind, 'dane', failed.detail);
    assert.equal(failed.servedSpki, await spkiHash(rogue.cert));
    assert.ok(failed.records.includes(`3 1 1 ${await spkiHash(pki.leaves['ec-p256'].cert)}`), `records: ${failed.records}`);
    await assert.rejects(assertProbeClean(probe, []), /dane/);
  });
});

