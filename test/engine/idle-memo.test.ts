// The memo of idle services (engine/idle-memo.ts) against a real signed named with TSIG: a second
// no-op advance takes every service's decision from the memo, with the same reports; each input
// that changed (what a server serves, the state file, the settings, the certificate file, the
// clock, the memo file itself) makes that service decide again, and the run then does what it
// must (publishes again, deploys the unreported renewal). --json output never comes from it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../support/bind.js';
import { makeLeaf, makePki, spkiHash, type LeafPaths, type Pki } from '../support/pki.js';
import { runCli } from '../support/cli.js';
import { checkServed, fleet, pointAll, pointLineage, writeFleetConfig, type FleetService } from '../support/fleet.js';
import { loadConfig } from '../../src/config/settings.js';
import type { ServiceSettings } from '../../src/config/types.js';
import { runServices, type ManyResult } from '../../src/engine/many.js';
import { MEMO_MAX_MS, memoPath } from '../../src/engine/idle-memo.js';
import { forText } from '../../src/cli/commands/run-common.js';
import { writeFileAtomic } from '../../src/state/atomic.js';
import type { RunOptions } from '../../src/engine/types.js';

const N = 4;
const TTL = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the memo of idle services (real signed named, TSIG)', () => {
  let bind: BindServer;
  let pki: Pki;
  let dir: string;
  let services: FleetService[];
  let gens: LeafPaths[][];
  let config: string;
  let stateDir: string;
  let settings: ServiceSettings[];

  /** One advance over every service as the CLI runs it (text output: reports kept short). */
  async function advance(opts: RunOptions = {}, given = settings, json = false) {
    let replayed: string[] = [];
    const results = await runServices(stateDir, given.map((s) => ({ settings: s, trigger: { kind: 'advance' as const } })), { ...opts, onMemo: (ids) => (replayed = ids) }, undefined, json ? undefined : forText);
    for (const r of results) assert.equal(r.error, undefined, String(r.error));
    return { replayed: replayed.sort(), reports: results.map((r: ManyResult) => r.report!) };
  }

  /** Runs until every service is idle with a settled state file (a run that wrote one keeps no memo of it). */
  async function settle(): Promise<void> {
    await advance();
    await sleep(2100);
    await advance();
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-memo-'));
    [bind, pki] = await Promise.all([startBind({ zone: 'memo.test', ttl: TTL }), makePki(join(dir, 'pki'), { kinds: ['ec-p256'] })]);
    const make = (g: number) => Promise.all(Array.from({ length: 2 }, (_, k) => makeLeaf(join(dir, `gen${g}`, `k${k}`), pki.intermediate, pki.root, { kind: 'ec-p256', host: `mx${k}.memo.test` })));
    gens = [await make(1), await make(2)];
    services = fleet(dir, N, bind.zone);
    await pointAll(services, gens[0]!);
    config = await writeFleetConfig(dir, bind, services, TTL);
    stateDir = join(dir, 'state');
    settings = loadConfig(config).config!.services;
    await sleep(2100); // certificate files older than the stamp's 2 s (io/file-stamp.ts)
    const r = await runCli(['deploy', '--quiet', '--config', config]);
    assert.equal(r.exitCode, 0, r.stderr);
    const keys = await Promise.all(gens[0]!.map((l) => spkiHash(l.cert)));
    const ca = await spkiHash(pki.intermediate.cert);
    for (let t = 0; t < 40 && (await checkServed(bind, services, keys, ca)); t++) await sleep(250);
    // Every record ready (2 x TTL) and every state file older than 2 s: the services are idle.
    await sleep(2 * TTL * 1000 + 2100);
  });
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a second no-op run takes every decision from the memo, with the same reports', async () => {
    const first = await advance();
    assert.deepEqual(first.replayed, []);
    const memo = JSON.parse(await readFile(memoPath(stateDir), 'utf8')) as { entries: Record<string, unknown> };
    assert.deepEqual(Object.keys(memo.entries).sort(), settings.map((s) => s.id).sort());
    const second = await advance();
    assert.deepEqual(second.replayed, settings.map((s) => s.id).sort());
    // As every output shows them (JSON drops the keys the memo's JSON left out: undefined ones).
    assert.deepEqual(JSON.parse(JSON.stringify(second.reports)), JSON.parse(JSON.stringify(first.reports)));
    for (const r of second.reports) assert.deepEqual([r.steps, r.warnings, r.exitCode], [[], [], 0]);
  });

  test('a record gone from the server: that service decides again and publishes it again', async () => {
    const s = services[1]!;
    const served = await bind.dig(['+short', 'TLSA', s.names[0]!]);
    const line = served.split('\n').find((l) => l.startsWith('2 1 1'))!;
    await bind.nsupdate([`update delete ${s.names[0]} TLSA ${line}`]);
    for (let t = 0; t < 40 && (await bind.dig(['+short', 'TLSA', s.names[0]!])).includes('2 1 1'); t++) await sleep(250);
    const r = await advance();
    assert.deepEqual(r.replayed, settings.map((x) => x.id).filter((id) => id !== s.id).sort());
    const mine = r.reports.find((x) => x.service === s.id)!;
    assert.deepEqual(mine.steps.map((st) => `${st.kind} ${'name' in st ? st.name : ''}`), [`publish ${s.names[0]}`]);
    for (let t = 0; t < 40 && !(await bind.dig(['+short', 'TLSA', s.names[0]!])).includes('2 1 1'); t++) await sleep(250);
  });

  test('a state file written again (the same text), settings changed, or the certificate file renewed: decided again', async () => {
    await sleep(2 * TTL * 1000); // the record published again is ready
    await settle();
    assert.equal((await advance()).replayed.length, N);
    // The state file rewritten with the same bytes: a new inode; the decision is the same.
    const statePath = join(stateDir, 'services', services[0]!.id, 'state.json');
    writeFileAtomic(statePath, await readFile(statePath), 0o600);
    // Settings changed: another record set for one service (its state then changes too).
    const changed = settings.map((s, i) => (i === 2 ? { ...s, dns: { ...s.dns, authServers: [{ host: '127.0.0.1', port: bind.port }] } } : s));
    // The certificate file another one (a renewal: the CLI's renewal check then deploys it, below).
    await pointLineage(services[3]!.lineage, gens[1]![1]!);
    const r = await advance({}, changed);
    assert.deepEqual(r.replayed, [services[1]!.id]);
    assert.deepEqual(r.reports.find((x) => x.service === services[0]!.id)!.steps, []);
    await pointLineage(services[3]!.lineage, gens[0]![1]!); // the same file as before: the same stamp
  });

  test('the clock past the memo time, or set back before it: every service decided again', async () => {
    await settle();
    assert.equal((await advance()).replayed.length, N);
    assert.deepEqual((await advance({ now: () => Date.now() + MEMO_MAX_MS + 60_000 })).replayed, []);
    assert.deepEqual((await advance({ now: () => Date.now() - 600_000 })).replayed, []);
    // That run's decisions stood only until the records' readyAt it saw ahead (now, for this clock).
    assert.deepEqual((await advance()).replayed, []);
    assert.equal((await advance()).replayed.length, N);
  });

  test('a damaged memo is rebuilt, an edited entry is not trusted; --json (full reports) never replays', async () => {
    await writeFile(memoPath(stateDir), '{"format":1,"code":');
    assert.deepEqual((await advance()).replayed, []);
    assert.equal((await advance()).replayed.length, N);
    // An entry edited (its hashes still right): a readiness that is not one, or a time past the cap.
    type Doc = { entries: Record<string, { readiness: unknown; at: number; until: number }> };
    const edit = async (f: (d: Doc) => void) => {
      const doc = JSON.parse(await readFile(memoPath(stateDir), 'utf8')) as Doc;
      f(doc);
      await writeFile(memoPath(stateDir), JSON.stringify(doc));
    };
    await edit((d) => (d.entries[services[0]!.id]!.readiness = { inService: 'yes' }));
    assert.deepEqual((await advance()).replayed, services.slice(1).map((x) => x.id).sort());
    await advance();
    let at = 0;
    await edit((d) => {
      const e = d.entries[services[1]!.id]!;
      e.until = e.at + 10 * MEMO_MAX_MS;
      at = e.at;
    });
    assert.deepEqual((await advance({ now: () => at + MEMO_MAX_MS + 1000 })).replayed, []);
    await advance();
    assert.equal((await advance()).replayed.length, N);
    const full = await advance({}, settings, true);
    assert.deepEqual(full.replayed, []);
    assert.ok(full.reports.every((r) => (r.combos ?? []).length > 0), 'full reports carry every combination');
  });

  test('through the CLI: --verbose says how many were replayed; a renewal no hook reported is deployed', async () => {
    await settle();
    // The bundle's memo is its own (another build may decide otherwise): the first run makes it.
    assert.match((await runCli(['advance', '--config', config, '--verbose'])).stderr, new RegExp(`0 of ${N} services`));
    const quiet = await runCli(['advance', '--config', config, '--verbose']);
    assert.equal(quiet.exitCode, 0, quiet.stderr);
    assert.match(quiet.stderr, new RegExp(`${N} of ${N} services were as the last run left them`));
    await pointLineage(services[0]!.lineage, gens[1]![0]!);
    const renewed = await runCli(['advance', '--config', config, '--verbose']);
    assert.equal(renewed.exitCode, 0, renewed.stderr);
    assert.match(renewed.stderr, new RegExp(`${N - 1} of ${N} services were as the last run left them`));
    assert.match(renewed.stderr, /that no deploy hook reported: deploying it now/);
  });
});
