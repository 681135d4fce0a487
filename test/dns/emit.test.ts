// The emit backend hands the changes over, never changes DNS; dns/render.ts renders them. Each
// format is checked by the tool that reads it:
// the nsupdate script by real nsupdate against real named, the zone fragment by named-checkzone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { emitBackend } from '../../src/dns/emit.js';
import { renderChanges } from '../../src/dns/render.js';
import { observeTlsa } from '../../src/dns/observer.js';
import { startBind } from '../support/bind.js';
import { UserError } from '../../src/errors.js';
import type { EmitFormat, RecordChange } from '../../src/dns/types.js';
import type { TlsaRecord } from '../../src/tlsa/record.js';

const hex = (n = 32) => randomBytes(n).toString('hex');
const oldRec: TlsaRecord = { usage: 3, selector: 1, matching: 1, data: hex() };
const newRec: TlsaRecord = { usage: 2, selector: 0, matching: 2, data: hex(64) };
const NAME = '_25._tcp.mail.example.test.';
const changes: RecordChange[] = [
  { op: 'add', name: NAME, ttl: 2, record: newRec },
  { op: 'delete', name: NAME, ttl: 2, record: oldRec },
];

function sink(): { write(s: string): void; text: string } {
  return {
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
}

async function emitted(format: EmitFormat, extra: { server?: { host: string; port: number } } = {}): Promise<string> {
  const out = sink();
  const backend = emitBackend((list, zone) => out.write(renderChanges(list, format, { zone, server: extra.server })));
  assert.equal(backend.name, 'emit');
  assert.equal(backend.applies, false);
  await backend.apply(changes, { zone: 'example.test' });
  return out.text;
}

test('emit nsupdate: the script real nsupdate applies to real named', async () => {
  const bind = await startBind({ ttl: 2, extraRecords: [`_25._tcp.mail IN TLSA 3 1 1 ${oldRec.data}`] });
  try {
    const server = { host: '127.0.0.1', port: bind.port };
    const script = await emitted('nsupdate', { server });
    assert.equal(
      script,
      `server 127.0.0.1 ${bind.port}\nzone example.test.\nupdate add ${NAME} 2 IN TLSA 2 0 2 ${newRec.data}\nupdate delete ${NAME} IN TLSA 3 1 1 ${oldRec.data}\nsend\n`,
    );
    const serial = await bind.serial();
    assert.equal(await bind.serial(), serial, 'emit changed nothing');
    await execa('nsupdate', ['-k', bind.tsigKeyFile, '-t', '3'], { input: script });
    const obs = await observeTlsa(NAME, [server]);
    assert.deepEqual(obs.answers[0]!.records, [newRec]);
    // without a server the script has no server line
    assert.match(await emitted('nsupdate'), /^zone example\.test\.\nupdate add /);
  } finally {
    await bind.stop();
  }
});

test('emit zone: a fragment named-checkzone accepts; it adds the new record, the delete is a comment', async () => {
  const text = await emitted('zone');
  assert.equal(text, `; add\n${NAME} 2 IN TLSA 2 0 2 ${newRec.data}\n; delete ${NAME} 2 IN TLSA 3 1 1 ${oldRec.data}\n`);
  const dir = await mkdtemp(join(tmpdir(), 'dane-hook-emit-'));
  try {
    const file = join(dir, 'zone.db');
    await writeFile(file, `$TTL 60\n@ IN SOA ns1 hostmaster 1 60 60 3600 60\n@ IN NS ns1\nns1 IN A 127.0.0.1\n${text}`);
    const r = await execa('named-compilezone', ['-q', '-o', '-', 'example.test', file]);
    const tlsa = r.stdout.split('\n').filter((l) => /\sTLSA\s/.test(l));
    assert.equal(tlsa.length, 1);
    const [owner, ttl, klass, type, ...rdata] = tlsa[0]!.trim().split(/\s+/);
    assert.deepEqual([owner, ttl, klass, type, ...rdata.slice(0, 3)], [NAME, '2', 'IN', 'TLSA', '2', '0', '2']);
    assert.equal(rdata.slice(3).join('').toLowerCase(), newRec.data); // compilezone splits long hex
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('emit json: one array of {op, name, ttl, usage, selector, matching, data}', async () => {
  const list = JSON.parse(await emitted('json'));
  assert.deepEqual(list, [
    { op: 'add', name: NAME, ttl: 2, usage: 2, selector: 0, matching: 2, data: newRec.data },
    { op: 'delete', name: NAME, ttl: 2, usage: 3, selector: 1, matching: 1, data: oldRec.data },
  ]);
  assert.equal(renderChanges([], 'json', { zone: 'example.test' }), '[]\n');
  assert.equal(renderChanges([], 'zone', { zone: 'example.test' }), '');
});

test('emit: a bad change anywhere in the batch prints nothing at all', async () => {
  for (const format of ['nsupdate', 'zone', 'json'] as const) {
    const out = sink();
    const bad: RecordChange[] = [changes[0]!, { ...changes[1]!, name: `x\n${NAME}` }];
    const backend = emitBackend((list, zone) => out.write(renderChanges(list, format, { zone })));
    await assert.rejects(backend.apply(bad, { zone: 'example.test' }), UserError);
    await assert.rejects(backend.apply([{ ...changes[0]!, name: 'mail.example.org' }], { zone: 'example.test' }), /not inside zone example\.test\./);
    assert.equal(out.text, '');
  }
});
