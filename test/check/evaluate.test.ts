// The pure verdict of `dane-hook check`: real certificates from openssl, records hashed by openssl,
// expiry dates read by openssl; the evaluation sees no network.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateEndpoint, evaluateService, worstOf, EXIT_OF, type EndpointFacts, type Thresholds } from '../../src/check/evaluate.js';
import { buildReport } from '../../src/check/report.js';
import type { ServerAnswer } from '../../src/dns/types.js';
import { parseRecord, type TlsaRecord } from '../../src/tlsa/record.js';
import { makeIntermediate, makeLeaf, makePki, openssl, renewLeaf, type LeafPaths, type Pki } from '../support/pki.js';

const T: Thresholds = { warnDays: 14, critDays: 3 };
const DAY = 86_400_000;
const NAME = '_25._tcp.mx.example.test.';

async function spki311(cert: string): Promise<TlsaRecord> {
  const pub = await openssl(['x509', '-in', cert, '-noout', '-pubkey']);
  const der = await openssl(['pkey', '-pubin', '-outform', 'der'], pub);
  return parseRecord(`3 1 1 ${(await openssl(['dgst', '-sha256', '-r'], der)).toString().split(' ')[0]}`);
}
const as211 = (r: TlsaRecord): TlsaRecord => ({ ...r, usage: 2 });
const der = async (pem: string) => openssl(['x509', '-in', pem, '-outform', 'der']);
const notAfter = async (pem: string) => new Date((await openssl(['x509', '-in', pem, '-noout', '-enddate'])).toString().trim().replace(/^notAfter=/, '')).getTime();
const auth = (server: string, records: TlsaRecord[], signed = true): ServerAnswer => ({ server, status: records.length ? 'ok' : 'nodata', records, signed, ttl: 60 });
const codes = (f: { findings: { code: string }[] }) => f.findings.map((x) => x.code).sort();

describe('evaluate (pure)', () => {
  let dir: string;
  let pki: Pki;
  let leaf: LeafPaths;
  let renewed: LeafPaths;
  let chain: Buffer[];
  let newChain: Buffer[];
  let ee: TlsaRecord;
  let ta: TlsaRecord;
  let newEe: TlsaRecord;
  let now: number;
  let facts: (over?: Partial<EndpointFacts>) => EndpointFacts;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-eval-'));
    pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: 'mx.example.test' });
    leaf = pki.leaves['ec-p256'];
    renewed = await renewLeaf(pki, leaf, join(dir, 'renewed'));
    chain = [await readFile(leaf.certDer), await der(pki.intermediate.cert)];
    newChain = [await readFile(renewed.certDer), chain[1]!];
    [ee, newEe] = await Promise.all([spki311(leaf.cert), spki311(renewed.cert)]);
    ta = as211(await spki311(pki.intermediate.cert));
    // The intermediate outlives nothing here (both 30 days): judge expiry against the leaf's date.
    now = (await notAfter(leaf.cert)) - 20 * DAY;
    facts = (over = {}) => ({
      name: NAME,
      connect: '127.0.0.1:25',
      presented: { certs: chain },
      resolver: { resolver: '127.0.0.1:53', status: 'ok', ad: true, records: [ee, ta] },
      auth: [auth('a:53', [ee, ta]), auth('b:53', [ta, ee])],
      zoneSigned: true,
      files: { source: 'fullchain.pem', certs: chain },
      expected: [],
      ...over,
    });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('all agree: OK, matched by both records', () => {
    const v = evaluateEndpoint(facts(), now, T);
    assert.equal(v.severity, 'OK', JSON.stringify(v.findings));
    assert.deepEqual(v.matchedBy.map((r) => r.slice(0, 5)).sort(), ['2 1 1', '3 1 1']);
    assert.deepEqual(v.findings, []);
    assert.equal(v.leaf?.subject, 'mx.example.test');
  });

  test('a record matching nothing is stale: WARNING', () => {
    const stale = parseRecord(`3 1 1 ${'ab'.repeat(32)}`);
    const v = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee, ta, stale] }, auth: [auth('a', [ee, ta, stale])] }), now, T);
    assert.equal(v.severity, 'WARNING');
    assert.deepEqual(codes(v), ['stale']);
    assert.deepEqual(v.stale, [`3 1 1 ${'ab'.repeat(32)}`]);
  });

  test('a record the resolver still caches after every authoritative server withdrew it is not stale (it expires by itself)', () => {
    const old = parseRecord(`3 1 1 ${'ab'.repeat(32)}`);
    const cached = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee, ta, old] }, auth: [auth('a', [ee, ta]), auth('b', [ee, ta])] }), now, T);
    assert.deepEqual(codes(cached), []);
    // Still served by one authoritative server: stale.
    const oneServes = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee, ta, old] }, auth: [auth('a', [ee, ta]), auth('b', [ee, ta, old])] }), now, T);
    assert.deepEqual(codes(oneServes), ['auth-disagree', 'stale']);
    // An authoritative server that did not answer: what it serves is unknown, so still stale.
    const unknown = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee, ta, old] }, auth: [auth('a', [ee, ta]), { server: 'b', status: 'error', records: [], signed: false }] }), now, T);
    assert.ok(codes(unknown).includes('stale'), codes(unknown).join(','));
  });

  test('records announced for the pending chain or the next key are not stale', () => {
    const v = evaluateEndpoint(
      facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee, ta, newEe] }, auth: [auth('a', [ee, ta, newEe])], expected: [{ role: 'next key', records: [newEe] }] }),
      now,
      T,
    );
    assert.equal(v.severity, 'OK', JSON.stringify(v.findings));
    assert.deepEqual(v.announced.map((a) => a.role), ['next key']);
  });

  test('the presented chain matched by no record: CRITICAL', () => {
    const v = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [newEe] }, auth: [auth('a', [newEe])], files: undefined }), now, T);
    assert.equal(v.severity, 'CRITICAL');
    assert.ok(codes(v).includes('no-match'));
  });

  test('a 2 1 1 does not match a server that sends its leaf alone (the CA must be sent)', () => {
    const v = evaluateEndpoint(facts({ presented: { certs: [chain[0]!] }, resolver: { resolver: 'r', status: 'ok', ad: true, records: [ta] }, auth: [auth('a', [ta])], files: undefined }), now, T);
    assert.ok(codes(v).includes('no-match'), JSON.stringify(v.findings));
  });

  test('no AD flag: CRITICAL no-ad; an unsigned zone: CRITICAL unsigned (no-ad not repeated)', () => {
    const noAd = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: false, records: [ee, ta] } }), now, T);
    assert.equal(noAd.severity, 'CRITICAL');
    assert.deepEqual(codes(noAd), ['no-ad']);
    const unsigned = evaluateEndpoint(facts({ zoneSigned: false, resolver: { resolver: 'r', status: 'ok', ad: false, records: [ee, ta] }, auth: [auth('a', [ee, ta], false)] }), now, T);
    assert.deepEqual(codes(unsigned), ['unsigned']);
  });

  test('resolver failures: SERVFAIL is CRITICAL, an unreachable resolver UNKNOWN, no records CRITICAL', () => {
    const sf = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'servfail', ad: false, records: [], error: 'SERVFAIL' } }), now, T);
    assert.deepEqual([sf.severity, codes(sf)], ['CRITICAL', ['servfail']]);
    const down = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'error', ad: false, records: [], error: 'timed out' } }), now, T);
    assert.deepEqual([down.severity, codes(down)], ['UNKNOWN', ['resolver']]);
    const none = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'nxdomain', ad: true, records: [] }, auth: [auth('a', [])] }), now, T);
    assert.deepEqual([none.severity, codes(none)], ['CRITICAL', ['no-records']]);
  });

  test('authoritative servers that disagree or fail: WARNING, naming the server', () => {
    const lag = evaluateEndpoint(facts({ auth: [auth('a:53', [ee, ta, newEe]), auth('b:53', [ee, ta])], expected: [{ role: 'pending chain', records: [newEe] }] }), now, T);
    assert.equal(lag.severity, 'WARNING');
    assert.deepEqual(codes(lag), ['auth-disagree']);
    assert.match(lag.findings[0]!.message, /not on b:53/);
    const down = evaluateEndpoint(facts({ auth: [auth('a:53', [ee, ta]), { server: 'b:53', status: 'error', records: [], signed: false, error: 'timed out' }] }), now, T);
    assert.deepEqual([down.severity, codes(down)], ['WARNING', ['auth-error']]);
    const bare = evaluateEndpoint(facts({ auth: [auth('a:53', [ee, ta], false)] }), now, T);
    assert.deepEqual(codes(bare), ['auth-unsigned']);
  });

  test('files on disk hold another chain: WARNING, and a reload would break DANE when no record matches them', () => {
    const v = evaluateEndpoint(facts({ files: { source: 'live/fullchain.pem', certs: newChain }, resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee] }, auth: [auth('a', [ee])] }), now, T);
    assert.equal(v.severity, 'WARNING');
    assert.deepEqual(codes(v), ['files-differ', 'files-unmatched']);
    const sameIssuer = evaluateEndpoint(facts({ files: { source: 'live/fullchain.pem', certs: newChain } }), now, T);
    assert.deepEqual(codes(sameIssuer), ['files-differ'], 'the 2 1 1 still matches the renewed chain');
    const ready = evaluateEndpoint(facts({ files: { source: 'f', certs: newChain }, resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee, ta, newEe] }, auth: [auth('a', [ee, ta, newEe])] }), now, T);
    assert.deepEqual(codes(ready), ['files-differ'], 'the new record is for the files: not stale');
    const unreadable = evaluateEndpoint(facts({ files: { source: 'f', error: 'f does not exist' } }), now, T);
    assert.deepEqual(codes(unreadable), ['files']);
  });

  test('expiry: OK above --warn-days, WARNING below, CRITICAL below --crit-days and once expired', async () => {
    const end = await notAfter(leaf.cert);
    const at = (daysLeft: number) => evaluateEndpoint(facts({ presented: { certs: [chain[0]!, chain[1]!] } }), end - daysLeft * DAY, T);
    const leafOnly = (v: ReturnType<typeof at>) => v.findings.filter((f) => f.message.startsWith('certificate ')).map((f) => `${f.severity} ${f.code}`);
    assert.deepEqual(leafOnly(at(20)), []);
    assert.deepEqual(leafOnly(at(14.01)), []);
    assert.deepEqual(leafOnly(at(13.9)), ['WARNING expires']);
    assert.deepEqual(leafOnly(at(2.5)), ['CRITICAL expires']);
    assert.deepEqual(leafOnly(at(-1)), ['CRITICAL expired']);
    assert.equal(at(13.9).severity, 'WARNING');
    assert.equal(evaluateEndpoint(facts(), end - 1 * DAY, { warnDays: 0, critDays: 0 }).findings.length, 0, 'thresholds 0 turn it off');
  });

  test('expiry defaults scale with the lifetime: a 6-day certificate is OK at 3 days left, WARNING at 1, CRITICAL at 5 h', async () => {
    const six = await makeLeaf(join(dir, 'six-day'), pki.intermediate, pki.root, { kind: 'ec-p256', host: 'mx.example.test', days: 6 });
    const sixChain = [await readFile(six.certDer), chain[1]!];
    const end = await notAfter(six.cert);
    const at = (msLeft: number, t: Thresholds = {}) => evaluateEndpoint(facts({ presented: { certs: sixChain }, files: undefined, resolver: undefined, auth: [] }), end - msLeft, t);
    const leafOnly = (v: ReturnType<typeof at>) => v.findings.filter((f) => f.message.startsWith('certificate ')).map((f) => `${f.severity} ${f.code}`);
    assert.deepEqual(leafOnly(at(3 * DAY)), [], 'the 14/3-day defaults would make this CRITICAL');
    assert.deepEqual(leafOnly(at(DAY)), ['WARNING expires']);
    assert.match(at(DAY).findings.find((f) => f.code === 'expires')!.message, /expires in 1 d \(.*; warning below 1 d 4 h \(1\/5 of its 6 d lifetime\)\)$/);
    assert.deepEqual(leafOnly(at(5 * 3600_000)), ['CRITICAL expires']);
    assert.match(at(5 * 3600_000).findings.find((f) => f.code === 'expires')!.message, /critical below 9 h 36 min \(1\/15 of its 6 d lifetime\)\)$/);
    // Given flags keep working as days, whatever the lifetime.
    assert.deepEqual(leafOnly(at(3 * DAY, { warnDays: 14 })), ['WARNING expires']);
    assert.match(at(3 * DAY, { warnDays: 14 }).findings.find((f) => f.code === 'expires')!.message, /warning below 14 days\)$/);
    assert.deepEqual(leafOnly(at(3 * DAY, { warnDays: 14, critDays: 3.5 })), ['CRITICAL expires']);
    // The 30-day leaf (a 64- or 45-day certificate behaves alike): 6 and 2 days by default.
    const end30 = await notAfter(leaf.cert);
    const at30 = (daysLeft: number) => evaluateEndpoint(facts(), end30 - daysLeft * DAY, {});
    assert.deepEqual(leafOnly(at30(13)), []);
    assert.deepEqual(leafOnly(at30(5)), ['WARNING expires']);
    assert.deepEqual(leafOnly(at30(1.5)), ['CRITICAL expires']);
    // The summary's performance data carries the thresholds of the leaf nearest expiry.
    const report = buildReport([evaluateService('mx', [facts({ presented: { certs: sixChain }, files: undefined })], end - 3 * DAY, {})], {});
    assert.match(report.summary, /\| days_left=3\.0;1\.2;0\.4$/);
  });

  test('no connection: CRITICAL, and nothing is called stale without a chain to compare', () => {
    const v = evaluateEndpoint(facts({ presented: { error: 'ECONNREFUSED' }, resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee, parseRecord(`3 1 1 ${'ab'.repeat(32)}`)] } }), now, T);
    assert.equal(v.severity, 'CRITICAL');
    assert.deepEqual(codes(v), ['connect']);
  });

  test('severity order and exit codes: CRITICAL > UNKNOWN > WARNING > OK', () => {
    assert.equal(worstOf(['OK', 'WARNING', 'UNKNOWN']), 'UNKNOWN');
    assert.equal(worstOf(['UNKNOWN', 'CRITICAL', 'WARNING']), 'CRITICAL');
    assert.equal(worstOf([]), 'OK');
    assert.deepEqual(EXIT_OF, { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 });
  });

  test('the summary line: DANE OK with the matching parameters, or the worst finding first', () => {
    const ok = buildReport([evaluateService('mx', [facts(), facts({ name: '_465._tcp.mx.example.test.' })], now, T)], T);
    assert.match(ok.summary, /^DANE OK - mx: 2 names, chain matched by (3 1 1, 2 1 1|2 1 1, 3 1 1) \| days_left=20\.0;14;3$/);
    assert.equal(ok.exitCode, 0);
    const bad = buildReport([evaluateService('mx', [facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [newEe] }, auth: [auth('a', [newEe])] })], now, T)], T);
    assert.match(bad.summary, /^DANE CRITICAL - mx: the chain 127\.0\.0\.1:25 presents \(mx\.example\.test\) is matched by none/);
    assert.equal(bad.exitCode, 2);
  });

  test('DANE-TA needs the leaf to name the host: ta-name, and no match (CRITICAL)', () => {
    const v = evaluateEndpoint(facts({ host: 'other.example.test', resolver: { resolver: 'r', status: 'ok', ad: true, records: [ta] }, auth: [auth('a', [ta])], files: undefined }), now, T);
    assert.equal(v.severity, 'CRITICAL');
    assert.deepEqual(codes(v), ['no-match', 'ta-name']);
    assert.match(v.findings[0]!.message, /does not name other\.example\.test/);
    const named = evaluateEndpoint(facts({ host: 'mx.example.test', resolver: { resolver: 'r', status: 'ok', ad: true, records: [ta] }, auth: [auth('a', [ta])] }), now, T);
    assert.equal(named.severity, 'OK', JSON.stringify(named.findings));
  });

  test('DANE-TA needs the chain signed up to the anchor, not only the anchor in it: ta-chain', async () => {
    const sibling = await makeIntermediate(pki, 'sibling-eval');
    const foreign = await der(sibling.cert);
    // The leaf, then a CA certificate that did not issue it but is pinned by the record.
    const v = evaluateEndpoint(facts({ presented: { certs: [chain[0]!, foreign] }, resolver: { resolver: 'r', status: 'ok', ad: true, records: [as211(await spki311(sibling.cert))] }, auth: [], files: undefined }), now, T);
    assert.deepEqual(codes(v), ['no-match', 'ta-chain']);
    assert.match(v.findings.find((f) => f.code === 'ta-chain')!.message, /names another issuer/);
  });

  test('unassigned parameters are unusable: CRITICAL alone, WARNING beside a match, never a crash of the summary', () => {
    const odd = [{ ...ee, selector: 2 }, { ...ee, matching: 3 }, { ...ee, usage: 255 }] as unknown as TlsaRecord[];
    const alone = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: odd }, auth: [], files: undefined }), now, T);
    assert.deepEqual(codes(alone), ['no-match', 'unusable', 'unusable', 'unusable']);
    assert.match(alone.findings.find((f) => f.code === 'no-match')!.message, /none of the 3 records .* is usable/);
    const beside = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee, ...odd] }, auth: [] }), now, T);
    assert.deepEqual([beside.severity, codes(beside)], ['WARNING', ['unusable', 'unusable', 'unusable']]);
    const report = buildReport([evaluateService('mx', [facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee, ...odd] }, auth: [] })], now, T)], T);
    assert.match(report.summary, /^DANE WARNING - mx: /);
  });

  test('defects named: a digest of the wrong length, the digest of empty input, a 3 0 x of another certificate', () => {
    const shortOne = { ...ee, data: ee.data.slice(0, -2) };
    const empty = { ...ee, data: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' };
    const oldCert = { usage: 3, selector: 0, matching: 1, data: 'ab'.repeat(32) } as TlsaRecord;
    const v = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee, shortOne, empty, oldCert] }, auth: [] }), now, T);
    assert.deepEqual(codes(v), ['digest-length', 'ee-cert', 'empty-digest']);
    assert.match(v.findings.find((f) => f.code === 'digest-length')!.message, /holds 31 bytes/);
    assert.match(v.findings.find((f) => f.code === 'ee-cert')!.message, /breaks at every renewal/);
  });

  test('usages 0/1: unusable on SMTP; elsewhere validated against the trust store given', async () => {
    const pkixEe = { ...ee, usage: 1 } as TlsaRecord;
    const one = (over: Partial<EndpointFacts>) => evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [pkixEe] }, auth: [], files: undefined, host: 'mx.example.test', ...over }), now, T);
    assert.deepEqual(codes(one({ smtp: true })), ['no-match', 'unusable']);
    assert.deepEqual(codes(one({ trustStore: [] })), ['no-match', 'pkix']);
    assert.deepEqual(codes(one({})), ['no-match', 'pkix'], 'no trust store: not verified');
    const trusted = one({ trustStore: [await der(pki.root.cert)] });
    assert.equal(trusted.severity, 'OK', JSON.stringify(trusted.findings));
    const pkixTa = { ...ta, usage: 0 } as TlsaRecord;
    const viaTa = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [pkixTa] }, auth: [], host: 'mx.example.test', trustStore: [await der(pki.root.cert)] }), now, T);
    assert.equal(viaTa.severity, 'OK', JSON.stringify(viaTa.findings));
    assert.deepEqual(codes(one({ trustStore: [await der(pki.root.cert)], host: 'www.example.test' })), ['no-match', 'pkix'], 'PKIX checks the name');
  });

  test('more than 12 records at a name: WARNING large-rrset', () => {
    const many = Array.from({ length: 12 }, (_, i) => ({ ...newEe, data: (i + 16).toString(16).repeat(32) }));
    const v = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee, ...many] }, auth: [], expected: [{ role: 'next key', records: many }] }), now, T);
    assert.deepEqual(codes(v), ['large-rrset']);
    const twelve = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee, ...many.slice(1)] }, auth: [], expected: [{ role: 'next key', records: many }] }), now, T);
    assert.deepEqual(codes(twelve), []);
  });

  test('a CNAME followed by the resolver is shown, and judged at its target', () => {
    const v = evaluateEndpoint(facts({ resolver: { resolver: 'r', status: 'ok', ad: true, records: [ee, ta], cname: ['_dane.example.test.'] } }), now, T);
    assert.equal(v.severity, 'OK');
    assert.deepEqual(v.via, ['_dane.example.test.']);
  });
});

