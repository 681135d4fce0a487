// Config that lets services collide is refused, naming each place: one activate dir for two
// services, an activate dir equal to, inside or around the state dir, one state id for two.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSettings } from '../../src/config/index.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-collide-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const svc = (port: number, extra: Record<string, unknown> = {}) => ({ tlsaNames: [`_${port}._tcp.mx.example.com`], id: `s${port}`, ...extra });
const build = (raw: unknown) => buildSettings({ config: { file: join(dir, 'c.json'), raw } });

test('two services with one activate dir (or one inside the other): refused, both named', () => {
  const r = build({ stateDir: join(dir, 'state'), services: [svc(25, { activateDir: join(dir, 'a') }), svc(465, { activateDir: join(dir, 'a/') })] });
  assert.equal(r.config, undefined);
  assert.deepEqual(r.errors, [`config ${join(dir, 'c.json')}: services[1].activateDir ${join(dir, 'a')} is also (or holds) the activate dir of services[0]: each service needs its own`]);
  const nested = build({ stateDir: join(dir, 'state'), services: [svc(25, { activateDir: join(dir, 'a') }), svc(465, { activateDir: join(dir, 'a', 'b') })] });
  assert.equal(nested.errors.length, 1, nested.errors.join('\n'));
});

test('an activate dir equal to, inside or around the state dir: refused', () => {
  for (const activateDir of [join(dir, 'state'), join(dir, 'state', 'active'), dir]) {
    const r = build({ stateDir: join(dir, 'state'), services: [svc(25, { activateDir })] });
    assert.equal(r.errors.length, 1, activateDir);
    assert.match(r.errors[0]!, /services\[0\]\.activateDir .* the state dir /);
  }
  // Flags: the flag is named.
  const f = buildSettings({ flags: { service: { tlsaNames: ['_25._tcp.mx.example.com'], activateDir: 'st/active' }, dns: {}, stateDir: 'st' }, cwd: dir });
  assert.match(f.errors[0]!, /^--activate-dir .*inside the state dir/);
});

test('siblings are fine: a state dir and activate dirs beside it', () => {
  const r = build({ stateDir: join(dir, 'state'), services: [svc(25, { activateDir: join(dir, 'state-active') }), svc(465, { activateDir: join(dir, 'a2') })] });
  assert.deepEqual(r.errors, []);
});

test('one state id for two services (given or derived): refused', () => {
  const given = build({ stateDir: join(dir, 'state'), services: [svc(25), svc(465, { id: 's25' })] });
  assert.match(given.errors[0]!, /services\[1\] has the same id "s25" as services\[0\]/);
  const derived = build({ stateDir: join(dir, 'state'), services: [{ tlsaNames: ['_25._tcp.mx.example.com'] }, { tlsaNames: ['_465._tcp.mx.example.com'] }] });
  assert.match(derived.errors[0]!, /same id "mx\.example\.com"/);
});

test('inside and around are told by whole folders: a trailing slash or a shared prefix changes nothing', () => {
  assert.equal(build({ stateDir: `${join(dir, 'state')}/`, services: [svc(25, { activateDir: join(dir, 'state', 'x') })] }).errors.length, 1);
  assert.equal(build({ stateDir: join(dir, 'state'), services: [svc(25, { activateDir: `${dir}/` })] }).errors.length, 1);
  assert.deepEqual(build({ stateDir: join(dir, 'ab'), services: [svc(25, { activateDir: join(dir, 'a') }), svc(465, { activateDir: join(dir, 'abc') })] }).errors, []);
});
