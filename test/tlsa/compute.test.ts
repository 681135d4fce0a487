// Which certificate each usage names, keys without certificates, and matching a record against a
// chain: checked against openssl's reference digests and `ldns-dane verify`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import { recordForKey, recordMatchesChain, recordsForChain, tlsaFor } from '../../src/tlsa/compute.js';
import { loadChain, loadMaterial } from '../../src/tlsa/load.js';
import { EMPTY_DIGESTS, recordText, type TlsaRecord } from '../../src/tlsa/record.js';
import { makeIntermediate, makePki, renewLeaf, type LeafPaths, type Pki } from '../support/pki.js';
import { requireTool } from '../support/tools.js';
import { opensslSpki, referenceAssociation } from './reference.js';

let dir: string;
let pki: Pki;
let leaf: LeafPaths;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-hook-compute-'));
  pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p256', 'rsa'] });
  leaf = pki.leaves['ec-p256'];
});
after(() => rm(dir, { recursive: true, force: true }));

const digestOf = async (certFile: string): Promise<string> => referenceAssociation(await opensslSpki(certFile), 1);

/** `ldns-dane -n -c CHAIN -t RR verify`: exit 0 when the offline chain satisfies the record. */
async function ldnsVerifies(chainFile: string, record: TlsaRecord): Promise<boolean> {
  const rr = join(dir, 'verify.rr');
  await writeFile(rr, `_25._tcp.${leaf.host}. 3600 IN TLSA ${recordText(record)}\n`);
  const r = await execa(requireTool('ldns-dane'), ['-n', '-s', '-c', chainFile, '-t', rr, 'verify', leaf.host, '25'], { reject: false });
  return r.exitCode === 0;
}

describe('which certificates a usage names', () => {
  test('usage 3 and 1 name the leaf; 2 and 0 each CA certificate after it', async () => {
    const certs = loadChain(leaf.fullchainWithRoot);
    const [leafHash, intHash, rootHash] = await Promise.all([leaf.cert, pki.intermediate.cert, pki.root.cert].map(digestOf));
    assert.deepEqual(recordsForChain(certs, { usage: 3, selector: 1, matching: 1 }).map((r) => r.data), [leafHash]);
    assert.deepEqual(recordsForChain(certs, { usage: 1, selector: 1, matching: 1 }).map((r) => r.data), [leafHash]);
    assert.deepEqual(recordsForChain(certs, { usage: 2, selector: 1, matching: 1 }).map((r) => r.data), [intHash, rootHash]);
    assert.deepEqual(recordsForChain(certs, { usage: 0, selector: 1, matching: 1 }).map((r) => r.data), [intHash, rootHash]);
  });

  test('a file holding one CA certificate (certbot chain.pem) gives that certificate for usage 2', async () => {
    const [r] = recordsForChain(loadChain(leaf.chain), { usage: 2, selector: 1, matching: 1 });
    assert.equal(r!.data, await digestOf(pki.intermediate.cert));
  });

  test('the same CA twice in a bundle gives one record', async () => {
    const certs = loadChain(leaf.fullchain);
    assert.equal(recordsForChain([...certs, certs[1]!], { usage: 2, selector: 1, matching: 1 }).length, 1);
  });

  test('an empty chain is refused', () => {
    assert.throws(() => recordsForChain([], { usage: 3, selector: 1, matching: 1 }), UserError);
  });
});

describe('keys and CSRs', () => {
  test('selector 1 works for a key alone, selector 0 is refused naming the file', async () => {
    const key = loadMaterial(leaf.key);
    assert.equal(tlsaFor(key, { usage: 3, selector: 1, matching: 2 })[0]!.data, await referenceAssociation(await opensslSpki(leaf.cert), 2));
    for (const file of [leaf.key, leaf.pub, leaf.csr]) {
      assert.throws(() => tlsaFor(loadMaterial(file), { usage: 3, selector: 0, matching: 1 }), (e: Error) => e instanceof UserError && e.message.includes(file) && e.message.includes('needs a certificate'));
    }
    assert.throws(() => recordForKey(key.spki, { usage: 3, selector: 0, matching: 1 }), UserError);
  });

  test('the empty-input digest is never produced', () => {
    assert.throws(() => recordForKey(Buffer.alloc(0), { usage: 3, selector: 1, matching: 1 }), /empty/);
    assert.throws(() => recordForKey(Buffer.alloc(0), { usage: 3, selector: 1, matching: 2 }), /empty/);
    assert.ok(![...EMPTY_DIGESTS].includes(recordForKey(Buffer.from([0]), { usage: 3, selector: 1, matching: 1 }).data));
  });
});

describe('recordMatchesChain agrees with ldns-dane verify', () => {
  test('new key, same key, and a sibling intermediate', async () => {
    const newKey = await renewLeaf(pki, leaf, join(dir, 'renew-new-key'));
    const sameKey = await renewLeaf(pki, leaf, join(dir, 'renew-same-key'), { reuseKey: true });
    const sibling = await makeIntermediate(pki, 'intermediate-2');
    const otherIssuer = await renewLeaf(pki, leaf, join(dir, 'renew-other-issuer'), { reuseKey: true, issuer: sibling });
    const records = [
      ...recordsForChain(loadChain(leaf.fullchain), { usage: 3, selector: 1, matching: 1 }),
      ...recordsForChain(loadChain(leaf.fullchain), { usage: 3, selector: 0, matching: 1 }),
      ...recordsForChain(loadChain(leaf.fullchain), { usage: 2, selector: 1, matching: 1 }),
      ...recordsForChain(loadChain(leaf.fullchain), { usage: 2, selector: 0, matching: 2 }),
    ];
    const expected: Record<string, boolean[]> = {
      // 3 1 1, 3 0 1, 2 1 1, 2 0 2
      [leaf.fullchain]: [true, true, true, true],
      [newKey.fullchain]: [false, false, true, true],
      [sameKey.fullchain]: [true, false, true, true],
      [otherIssuer.fullchain]: [true, false, false, false],
    };
    for (const [chainFile, want] of Object.entries(expected)) {
      const certs = loadChain(chainFile);
      for (const [i, record] of records.entries()) {
        const ours = recordMatchesChain(record, certs);
        assert.equal(ours, want[i], `${recordText(record).slice(0, 12)} vs ${chainFile}`);
        assert.equal(ours, await ldnsVerifies(chainFile, record), `ldns-dane disagrees: ${recordText(record).slice(0, 12)} vs ${chainFile}`);
      }
    }
    assert.equal(recordMatchesChain(records[0]!, []), false);
    // Upper-case data in a record read back from DNS still matches.
    assert.ok(recordMatchesChain({ ...records[0]!, data: records[0]!.data.toUpperCase() }, loadChain(leaf.fullchain)));
  });
});
