// Output formats: zone lines that BIND's named-compilezone reads back to the same records and
// that match ldns-dane's own lines; nsupdate lines; JSON; names checked before use.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import { tlsaFor } from '../../src/tlsa/compute.js';
import { formatRecords, type NamedRecord } from '../../src/tlsa/format.js';
import { loadMaterial } from '../../src/tlsa/load.js';
import { makePki, type Pki } from '../support/pki.js';
import { requireTool } from '../support/tools.js';
import { ldnsDaneCreate } from './reference.js';

let dir: string;
let pki: Pki;
let rrs: NamedRecord[];
const NAME = '_25._tcp.mx.example.com.';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-hook-format-'));
  pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p384'] });
  const m = loadMaterial(pki.leaves['ec-p384'].fullchain);
  rrs = [
    ...tlsaFor(m, { usage: 3, selector: 1, matching: 1 }),
    ...tlsaFor(m, { usage: 2, selector: 1, matching: 2 }),
    ...tlsaFor(m, { usage: 3, selector: 0, matching: 0 }),
  ].map((record) => ({ name: NAME, ttl: 300, record, source: 'fullchain.pem' }));
});
after(() => rm(dir, { recursive: true, force: true }));

const words = (s: string): string => s.trim().split(/\s+/).join(' ');

describe('formats', () => {
  test('rdata: "U S M hex" lines only', () => {
    const out = formatRecords(rrs, 'rdata');
    assert.match(out, /^(?:[0-3] [01] [0-2] [0-9a-f]+\n){3}$/);
  });

  test('zone lines equal ldns-dane create output and named-compilezone reads them back unchanged', async () => {
    const leaf = pki.leaves['ec-p384'];
    const zone = formatRecords([{ ...rrs[0]!, ttl: 3600 }], 'zone');
    const theirs = await ldnsDaneCreate(leaf.fullchain, leaf.host, 25, 3, 1, 1);
    assert.equal(words(zone), `${theirs.name} ${theirs.ttl} IN TLSA ${theirs.rdata}`);

    const file = join(dir, 'example.com.zone');
    const head = 'example.com. 300 IN SOA ns.example.com. h.example.com. 1 3600 600 86400 300\nexample.com. 300 IN NS ns.example.com.\nns.example.com. 300 IN A 192.0.2.1\n';
    await writeFile(file, head + formatRecords(rrs, 'zone'));
    const r = await execa(requireTool('named-compilezone'), ['-q', '-s', 'full', '-o', '-', 'example.com', file]);
    const back = r.stdout.split('\n').filter((l) => /\sTLSA\s/.test(l)).map(words).sort();
    const expected = rrs.map((rr) => {
      // BIND prints TLSA hex in upper case, split in groups: compare the record, not the spelling.
      const { usage, selector, matching, data } = rr.record;
      return `${NAME} 300 IN TLSA ${usage} ${selector} ${matching} ${data}`;
    });
    const normal = (l: string): string => {
      const [n, t, c, ty, u, s, m, ...hex] = l.split(' ');
      return `${n} ${t} ${c} ${ty} ${u} ${s} ${m} ${hex.join('').toLowerCase()}`;
    };
    assert.deepEqual(back.map(normal).sort(), expected.sort());
  });

  test('nsupdate: one "update add" line per record, nothing else', () => {
    const lines = formatRecords(rrs, 'nsupdate').trimEnd().split('\n');
    assert.equal(lines.length, rrs.length);
    for (const [i, l] of lines.entries()) {
      const r = rrs[i]!.record;
      assert.equal(l, `update add ${NAME} 300 IN TLSA ${r.usage} ${r.selector} ${r.matching} ${r.data}`);
    }
  });

  test('json: objects with name, ttl, parameters, data and source; null name when none', () => {
    const parsed = JSON.parse(formatRecords([...rrs.slice(0, 1), { ttl: 60, record: rrs[1]!.record }], 'json'));
    assert.deepEqual(parsed[0], { name: NAME, ttl: 300, ...rrs[0]!.record, source: 'fullchain.pem' });
    assert.deepEqual(parsed[1], { name: null, ttl: 60, ...rrs[1]!.record, source: null });
  });

  test('zone and nsupdate need a name; names and TTLs are checked before anything is formatted', () => {
    const bare = rrs.map((rr) => ({ ...rr, name: undefined }));
    assert.throws(() => formatRecords(bare, 'zone'), UserError);
    assert.throws(() => formatRecords(bare, 'nsupdate'), UserError);
    assert.throws(() => formatRecords([{ ...rrs[0]!, name: 'mx.example.com\nupdate delete example.com' }], 'nsupdate'), /not a valid DNS name/);
    assert.throws(() => formatRecords([{ ...rrs[0]!, name: 'a b.example' }], 'zone'), /not a valid DNS name/);
    assert.throws(() => formatRecords([{ ...rrs[0]!, ttl: -1 }], 'zone'), /TTL/);
    assert.equal(formatRecords([], 'rdata'), '');
  });
});
