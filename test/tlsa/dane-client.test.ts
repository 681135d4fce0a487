// The records `dane-hook tlsa` prints, given one at a time to a real DANE client: for every key type,
// openssl s_client -dane_tlsa_rrdata verifies the chain a real openssl s_server presents (leaf +
// intermediate) against each usage/selector/matching combination dane-hook computed from the
// fullchain, and refuses the same combinations computed for another key type's certificate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEY_KINDS, makePki, type Pki } from '../support/pki.js';
import { startTlsServer } from '../support/tls-server.js';
import { verifyDane } from '../support/probe.js';
import { runCli } from '../support/cli.js';

const COMBINATIONS = ['3 1 1', '3 1 2', '3 0 1', '3 0 2', '3 1 0', '3 0 0', '2 1 1', '2 0 1', '2 1 2'];

/** dane-hook's records for `file`, one per combination (a fullchain has one CA), in COMBINATIONS order. */
async function records(file: string): Promise<string[]> {
  const r = await runCli(['tlsa', ...COMBINATIONS.flatMap((c) => ['--records', c]), file]);
  assert.equal(r.exitCode, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(' ').slice(0, 3).join(' ')), COMBINATIONS);
  return lines;
}

describe('every key type: dane-hook records against openssl s_client + s_server', () => {
  let dir: string;
  let pki: Pki;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-client-'));
    pki = await makePki(join(dir, 'pki'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const kind of KEY_KINDS) {
    test(`${kind}: each of ${COMBINATIONS.length} combinations verifies the served chain; another key type's do not`, async () => {
      const leaf = pki.leaves[kind];
      const other = pki.leaves[kind === 'ed25519' ? 'ec-p256' : 'ed25519'];
      const server = await startTlsServer({ cert: leaf.cert, key: leaf.key, chain: leaf.chain });
      const [own, theirs] = await Promise.all([records(leaf.fullchain), records(other.fullchain)]);
      try {
        for (const [i, combo] of COMBINATIONS.entries()) {
          const ok = await verifyDane(server.port, leaf.host, [own[i]!]);
          assert.equal(ok.kind, 'ok', `${kind} ${combo}: ${ok.detail}`);
          // A 2 x x of the shared intermediate matches both leaves: only 3 x x tell keys apart.
          if (combo.startsWith('3 ')) {
            const bad = await verifyDane(server.port, leaf.host, [theirs[i]!]);
            assert.equal(bad.kind, 'dane', `${kind} ${combo}: another key's record must not verify`);
          }
        }
      } finally {
        await server.stop();
      }
    });
  }
});
