// A TLSA name below a zone cut: the parent's server also serves the child zone, so an update sent
// to the parent would be accepted and never served (hidden under the delegation). The run must
// say so, exit 2 and change nothing, whether --zone names the parent or the parent was found first
// for another name. Real named (the zone tree of test/support/zones.ts), emit backend.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startZoneTree, type ZoneTree } from '../support/zones.js';
import { runCli } from '../support/cli.js';

const EX = 'examples/mx-1';

describe('zone cut below the zone an update would go to (real named)', () => {
  let tree: ZoneTree;
  let dir: string;
  before(async () => {
    tree = await startZoneTree({ children: [{ label: 'child', records: ['mx IN A 127.0.0.1'], signing: 'valid', ds: 'right' }], parentRecords: ['mx IN A 127.0.0.1'] });
    dir = await mkdtemp(join(tmpdir(), 'dane-zone-cut-'));
  });
  after(async () => {
    await tree?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const deploy = (extra: string[], state: string) =>
    runCli(['deploy', '--dns', 'emit', '--server', tree.address, '--ttl', '60', '--state-dir', join(dir, state), '--cert', `${EX}/cert.pem`, '--chain', `${EX}/chain.pem`, '--key', `${EX}/privkey.pem`, ...extra]);

  test('--zone naming the parent of the name\'s zone: exit 2, nothing emitted', async () => {
    const r = await deploy(['--zone', 'example.test', '--tlsa-name', '_25._tcp.mx.child.example.test'], 'a');
    assert.equal(r.exitCode, 2, r.stderr);
    assert.equal(r.stdout, '', 'no update emitted');
    assert.match(r.stderr, /TLSA name _25\._tcp\.mx\.child\.example\.test\.? is in zone child\.example\.test\., not example\.test\. .*--zone child\.example\.test/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  test('a second name under the cut, after the parent was found for the first name: exit 2, nothing emitted', async () => {
    const r = await deploy(['--tlsa-name', '_25._tcp.mx.example.test', '--tlsa-name', '_25._tcp.mx.child.example.test'], 'b');
    assert.equal(r.exitCode, 2, r.stderr);
    assert.equal(r.stdout, '', 'no update emitted');
    assert.match(r.stderr, /_25\._tcp\.mx\.child\.example\.test\.? is in zone child\.example\.test\., not example\.test\. .*as a service of their own/);
  });

  test('the right zone given: the update goes to it', async () => {
    const r = await deploy(['--zone', 'child.example.test', '--tlsa-name', '_25._tcp.mx.child.example.test'], 'c');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /zone child\.example\.test\.?\n/);
    assert.match(r.stdout, /update add _25\._tcp\.mx\.child\.example\.test\.? 60 IN TLSA 3 1 1 /);
  });
});
