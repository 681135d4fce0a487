// Every key type, every selector and matching type, every usage: our records against openssl's
// reference pipeline and against ldns-dane, made from real certificates made by openssl.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordsForChain, tlsaFor } from '../../src/tlsa/compute.js';
import { loadMaterial } from '../../src/tlsa/load.js';
import { recordText, type Matching, type Selector, type Usage } from '../../src/tlsa/record.js';
import { KEY_KINDS, makePki, type Pki } from '../support/pki.js';
import { ldnsDaneCreate, opensslCertDer, opensslSpki, referenceAssociation } from './reference.js';

const SELECTORS: Selector[] = [0, 1];
const MATCHINGS: Matching[] = [0, 1, 2];
const USAGES: Usage[] = [0, 1, 2, 3];

let dir: string;
let pki: Pki;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-hook-crosscheck-'));
  pki = await makePki(dir);
});
after(() => rm(dir, { recursive: true, force: true }));

describe('TLSA data against the openssl pipeline', () => {
  for (const kind of KEY_KINDS) {
    test(`${kind}: selectors 0/1 x matching 0/1/2 from cert.pem`, async () => {
      const leaf = pki.leaves[kind];
      const material = loadMaterial(leaf.cert);
      assert.equal(material.keyType, kind);
      const source = { 0: await opensslCertDer(leaf.cert), 1: await opensslSpki(leaf.cert) };
      assert.ok(material.spki.equals(source[1]), 'SPKI bytes differ from openssl x509 -pubkey | pkey -pubin');
      for (const selector of SELECTORS) {
        for (const matching of MATCHINGS) {
          const [ours, ...more] = tlsaFor(material, { usage: 3, selector, matching });
          assert.equal(more.length, 0);
          assert.equal(ours!.data, await referenceAssociation(source[selector], matching), `3 ${selector} ${matching}`);
        }
      }
    });

    test(`${kind}: the private key, public key and CSR give openssl's SPKI digests`, async () => {
      const leaf = pki.leaves[kind];
      const spki = await opensslSpki(leaf.cert);
      for (const file of [leaf.key, leaf.pub, leaf.csr]) {
        for (const matching of MATCHINGS) {
          const [ours] = tlsaFor(loadMaterial(file), { usage: 3, selector: 1, matching });
          assert.equal(ours!.data, await referenceAssociation(spki, matching), `${file} 3 1 ${matching}`);
        }
      }
    });
  }
});

describe('TLSA records against ldns-dane create', () => {
  for (const kind of KEY_KINDS) {
    test(`${kind}: usages 0-3 x selectors x matching types from a full chain with root`, async () => {
      const leaf = pki.leaves[kind];
      const certs = loadMaterial(leaf.fullchainWithRoot).certs;
      assert.equal(certs.length, 3);
      const combos = USAGES.flatMap((usage) => SELECTORS.flatMap((selector) => MATCHINGS.map((matching) => ({ usage, selector, matching }))));
      await Promise.all(combos.map(async ({ usage, selector, matching }) => {
        const ours = recordsForChain(certs, { usage, selector, matching }).map(recordText).sort();
        let theirs: string[];
        if (usage === 1 || usage === 3) {
          theirs = [(await ldnsDaneCreate(leaf.fullchainWithRoot, leaf.host, 25, usage, selector, matching)).rdata];
        } else {
          // ldns-dane names one CA cert per call, counted from the end: 0 the root, 1 the intermediate.
          const pick = async (offset: number): Promise<string> =>
            (await ldnsDaneCreate(leaf.fullchainWithRoot, leaf.host, 25, 2, selector, matching, offset)).rdata.replace(/^2 /, `${usage} `);
          theirs = [await pick(0), await pick(1)];
          if (usage === 0) assert.ok(ours.includes((await ldnsDaneCreate(leaf.fullchainWithRoot, leaf.host, 25, 0, selector, matching)).rdata));
        }
        assert.deepEqual(ours, theirs.sort(), `${usage} ${selector} ${matching}`);
      }));
    });
  }
});
