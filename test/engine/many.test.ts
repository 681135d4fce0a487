// 200 services in one run through the built CLI against a real signed named with TSIG: the first
// `deploy --config` publishes every record (really at named, exact sets) and puts every service in
// service; a no-op advance asks about 1 question per name and writes no state; a renewal (new keys,
// same issuer) is deployed for all in chunks of 64 services, and one advance after 2 x TTL promotes every service and
// withdraws every old record.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { startBind, type BindServer } from '../support/bind.js';
import { makeLeaf, makePki, spkiHash, type LeafPaths, type Pki } from '../support/pki.js';
import { runCli } from '../support/cli.js';
import { checkServed, countPromoted, digBatchFile, fleet, pointAll, tlsaLines, writeFleetConfig, type FleetService } from '../support/fleet.js';

const N = 200;
const TTL = 2;
const KEYS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`${N} services in one run (real signed named, TSIG, real nsupdate)`, () => {
  let bind: BindServer;
  let pki: Pki;
  let dir: string;
  let services: FleetService[];
  let gens: LeafPaths[][];
  let keys: string[][];
  let ca: string;
  let config: string;
  let batch: string;
  const names = () => services.flatMap((s) => s.names);
  const served = async () => tlsaLines((await execa('dig', ['-f', batch])).stdout).length;
  /** Inline signing serves an update a moment after it was taken: look again for a few seconds. */
  const settled = async (k: string[]) => {
    let wrong: string | undefined;
    for (let t = 0; t < 40; t++, await sleep(250)) if (!(wrong = await checkServed(bind, services, k, ca))) return undefined;
    return wrong;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-many-'));
    [bind, pki] = await Promise.all([startBind({ zone: 'fleet.test', ttl: TTL, querylog: true }), makePki(join(dir, 'pki'), { kinds: ['ec-p256'] })]);
    const make = (g: number) => Promise.all(Array.from({ length: KEYS }, (_, k) => makeLeaf(join(dir, `gen${g}`, `k${k}`), pki.intermediate, pki.root, { kind: 'ec-p256', host: `mx${k}.fleet.test` })));
    gens = [await make(1), await make(2)];
    keys = await Promise.all(gens.map((g) => Promise.all(g.map((l) => spkiHash(l.cert)))));
    ca = await spkiHash(pki.intermediate.cert);
    services = fleet(dir, N, bind.zone);
    await pointAll(services, gens[0]!);
    config = await writeFleetConfig(dir, bind, services, TTL);
    batch = await digBatchFile(dir, bind, names());
    // A certificate written less than 2 s before a deploy is not stamped as seen (io/file-stamp.ts):
    // the first advance would stamp it and write. Certificates of a real renewal are older than that.
    await sleep(2100);
  });
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('first deploy --config: every record at named, every service in service', async () => {
    const r = await runCli(['deploy', '--quiet', '--config', config], { timeoutMs: 600_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(await settled(keys[0]!), undefined);
    assert.equal(await served(), names().length * 2, 'dig -f counts 2 records per name');
    assert.equal(await countPromoted(services, gens[0]!), N);
  });

  test('no-op advance: about one question per name, no state written', async () => {
    const stateFile = (s: FleetService) => join(dir, 'state', 'services', s.id, 'state.json');
    const before = await Promise.all(services.map(async (s) => (await stat(stateFile(s))).mtimeMs));
    const q0 = bind.queriesSeen();
    const r = await runCli(['advance', '--quiet', '--config', config], { timeoutMs: 600_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    await sleep(500); // named's log lines come a moment after its answers
    const perName = (bind.queriesSeen() - q0) / names().length;
    assert.ok(perName <= 1.5, `${perName.toFixed(2)} questions per name`);
    const afterAll = await Promise.all(services.map(async (s) => (await stat(stateFile(s))).mtimeMs));
    assert.deepEqual(afterAll, before, 'no state.json rewritten by a run that changed nothing');
  });

  test('renewal of all (new keys, same issuer) in chunks of 64 services: deploy publishes, one advance after 2 x TTL promotes all and withdraws the old records', async () => {
    await pointAll(services, gens[1]!);
    // A bad chunk size is bad input: one line, exit 2, nothing deployed.
    const bad = await runCli(['deploy', '--quiet', '--config', config], { env: { DANE_HOOK_CHUNK: '0' } });
    assert.equal(bad.exitCode, 2, bad.stderr);
    assert.match(bad.stderr, /^dane-hook: .*DANE_HOOK_CHUNK=0 is not a whole number of services.*\n$/);
    assert.equal(await settled(keys[0]!), undefined, 'nothing changed at named');
    // 200 services in chunks of 64: four rounds of prepare, send, finish, and every service still done.
    const env = { DANE_HOOK_CHUNK: '64' };
    const q0 = bind.queriesSeen();
    const d = await runCli(['deploy', '--quiet', '--config', config], { timeoutMs: 600_000, env });
    assert.equal(d.exitCode, 0, d.stderr);
    // A TLSA question per name before the publish and one after it; the zone a publish goes to is
    // read off the first answer (its SOA or signer), not asked again per name (that was 3 per name).
    await sleep(500); // named's log lines come a moment after its answers
    const perName = (bind.queriesSeen() - q0) / names().length;
    assert.ok(perName < 2.5, `${perName.toFixed(2)} questions per name in a renewal deploy`);
    // Both keys' 3 1 1 are out now, and the old chain is still in service (its new 3 1 1 is not ready yet).
    assert.equal(await countPromoted(services, gens[0]!), N, 'old chains still in service');
    await sleep(2 * TTL * 1000 + 1500);
    const a = await runCli(['advance', '--quiet', '--config', config], { timeoutMs: 600_000, env });
    assert.equal(a.exitCode, 0, a.stderr);
    assert.equal(await countPromoted(services, gens[1]!), N, 'every service promoted');
    assert.equal(await settled(keys[1]!), undefined);
    assert.equal(await served(), names().length * 2, 'old 3 1 1 records withdrawn everywhere');
  });
});

// A service whose name the TSIG key may not update (named's update-policy denies it): its changes
// ride in one UPDATE message with its neighbours', named refuses that message whole, and the
// batch sends its groups again one by one, so only that service fails, with one line and the exit
// code it has when run alone.
describe('a service the key may not update, in a batch of 40 (real signed named, update-policy deny)', () => {
  const N = 40;
  const LOCKED = 's7';
  let bind: BindServer;
  let dir: string;
  let services: FleetService[];
  let leaf: LeafPaths;
  let config: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-many-locked-'));
    const pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p256'] });
    leaf = await makeLeaf(join(dir, 'leaf'), pki.intermediate, pki.root, { kind: 'ec-p256', host: 'mx.fleet.test' });
    services = fleet(dir, N, 'fleet.test');
    const locked = services.find((s) => s.id === LOCKED)!;
    bind = await startBind({ zone: 'fleet.test', ttl: TTL, lockedNames: locked.names });
    await pointAll(services, [leaf]);
    config = await writeFleetConfig(dir, bind, services, TTL);
    ca = await spkiHash(pki.intermediate.cert);
    key = await spkiHash(leaf.cert);
  });
  let ca: string;
  let key: string;
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('only the locked service fails (one line, its own exit code); every other one is published and in service', async () => {
    const r = await runCli(['deploy', '--quiet', '--config', config], { timeoutMs: 300_000 });
    const alone = await runCli(['deploy', '--quiet', '--config', config, '--id', LOCKED]);
    assert.notEqual(alone.exitCode, 0);
    assert.equal(r.exitCode, alone.exitCode, `batch: ${r.stderr}\nalone: ${alone.stderr}`);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^dane-hook: ${LOCKED}: nsupdate to 127\\.0\\.0\\.1:\\d+ failed for zone fleet\\.test\\.: REFUSED`));
    assert.equal(alone.stderr.trim().replace(/^dane-hook: (s7: )?/, ''), lines[0]!.replace(/^dane-hook: s7: /, ''), 'the same message alone and in the batch');
    const others = services.filter((s) => s.id !== LOCKED);
    let wrong: string | undefined;
    for (let t = 0; t < 40 && (wrong = await checkServed(bind, others, [key], ca)); t++) await sleep(250);
    assert.equal(wrong, undefined);
    assert.equal(await countPromoted(others, [leaf]), N - 1);
    assert.equal(await countPromoted(services.filter((s) => s.id === LOCKED), [leaf]), 0, 'the locked service is not put in service');
    assert.equal((await bind.dig(['+short', 'TLSA', services.find((s) => s.id === LOCKED)!.names[0]!])).trim(), '');
  });
});
