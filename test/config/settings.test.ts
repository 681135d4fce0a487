// Config file + flags -> settings: a good config, every kind of bad one (all problems at once),
// flags alone, and flags over a config.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { addServiceOptions, hookArgs, settingsFromArgs, sourceFromArgs } from '../../src/cli/service-options.js';
import { buildSettings, findServices, loadConfig } from '../../src/config/index.js';
import { UserError } from '../../src/errors.js';
import type { CertFiles } from '../../src/acme/types.js';

let dir: string;
let tsig: string;
let issuers: string;
const NO_DEFAULT = '/nonexistent/dane-hook/config.json';

const p311 = { usage: 3, selector: 1, matching: 1 };
const p211 = { usage: 2, selector: 1, matching: 1 };

async function writeConfig(name: string, value: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return file;
}

function errorLines(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UserError, `not a UserError: ${String(err)}`);
    return err.message.split('\n');
  }
  assert.fail('no error');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-hook-config-'));
  await mkdir(join(dir, 'keys'));
  tsig = join(dir, 'keys', 'tsig.key');
  await writeFile(tsig, 'key "dane" { algorithm hmac-sha256; secret "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"; };\n');
  issuers = join(dir, 'issuers.pem');
  await writeFile(issuers, '');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const GOOD = () => ({
  stateDir: 'state',
  dns: { backend: 'nsupdate', server: '127.0.0.1:5300', tsigKey: 'keys/tsig.key', zone: 'Example.COM.', authServers: ['ns1.example.com', '192.0.2.1:53', '[2001:db8::1]:5353'], emitFormat: 'nsupdate' },
  defaults: { ttl: 600, records: ['3 1 1', 'DANE-TA SPKI SHA2-256'] },
  services: [
    {
      id: 'mx', lineage: '/etc/letsencrypt/live/mx.example.com', tlsaNames: ['_25._tcp.mx.example.com', '_465._tcp.MX.example.com.'],
      activateDir: '/etc/dane-hook/active/mx', reload: 'systemctl reload postfix', extraCa: ['issuers.pem'], connect: '127.0.0.1:25', starttls: 'smtp',
    },
    { tlsaNames: ['_443._tcp.www.example.com'], records: ['3 1 1'], ttl: 300, cert: '/srv/www/cert.pem', key: '/srv/www/key.pem', dns: { authServers: ['ns2.example.com'] } },
  ],
});

describe('config file', () => {
  test('a good config: paths from the file dir, names absolute, defaults and per-service dns merged', async () => {
    const file = await writeConfig('good.json', GOOD());
    const r = loadConfig(file);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, []);
    const c = r.config!;
    assert.equal(c.stateDir, join(dir, 'state'));
    const [mx, www] = c.services;
    assert.deepEqual(mx, {
      id: 'mx',
      tlsaNames: ['_25._tcp.mx.example.com.', '_465._tcp.mx.example.com.'],
      records: [p311, p211],
      ttl: 600,
      dns: {
        backend: 'nsupdate', server: { host: '127.0.0.1', port: 5300 }, tsigKeyFile: tsig, zone: 'example.com.',
        authServers: [{ host: 'ns1.example.com', port: 53 }, { host: '192.0.2.1', port: 53 }, { host: '2001:db8::1', port: 5353 }], emitFormat: 'nsupdate',
      },
      extraCaFiles: [issuers],
      source: { lineage: '/etc/letsencrypt/live/mx.example.com' },
      activateDir: '/etc/dane-hook/active/mx',
      reload: 'systemctl reload postfix',
      connect: '127.0.0.1:25',
      starttls: 'smtp',
    });
    assert.equal(www!.id, 'www.example.com');
    assert.deepEqual(www!.records, [p311]);
    assert.equal(www!.ttl, 300);
    assert.deepEqual(www!.dns.authServers, [{ host: 'ns2.example.com', port: 53 }]);
    assert.equal(www!.dns.zone, 'example.com.');
    assert.deepEqual(www!.source, { cert: '/srv/www/cert.pem', key: '/srv/www/key.pem' });
  });

  test('every problem is reported at once, one line each, naming the file and the JSON path', async () => {
    const bad = GOOD() as any;
    bad.stateDirr = '/x';
    bad.dns.server = '127.0.0.1:99999';
    bad.dns.tsigKey = 'keys/missing.key';
    bad.dns.backend = 'bind';
    bad.defaults.ttl = -5;
    bad.services[0].tlsaNames[1] = '_25._tcp.mx\nexample.com';
    bad.services[0].tlsaName = ['x'];
    bad.services[0].records = ['3 1 9', '3 1 1', '3 1 1'];
    bad.services[0].connect = 'localhost';
    bad.services[0].starttls = 'smtps';
    bad.services[0].extraCa = ['nope.pem'];
    bad.services[0].id = 'MX/1';
    bad.services[1].tlsaNames = ['_443._tcp.www.example.org', 'www.example.com'];
    bad.services[1].dns.zone = 'example.com';
    bad.services.push({ records: ['3 1 1'] }, 'not an object', { id: 'mx2', tlsaNames: ['_25._tcp.mx2.example.com'], ttl: '1h', records: '3 1 1' });
    const file = await writeConfig('bad.json', bad);
    const r = loadConfig(file);
    assert.equal(r.config, undefined);
    for (const e of r.errors) {
      assert.ok(e.startsWith(`config ${file}: `), e);
      assert.ok(!e.includes('\n'), e);
    }
    const expect = [
      /: stateDirr is not a known setting: did you mean "stateDir"\?$/,
      /: dns\.server: DNS server '127\.0\.0\.1:99999' has an invalid port/,
      new RegExp(`: dns\\.tsigKey: ${join(dir, 'keys', 'missing.key').replace(/[.]/g, '\\.')} does not exist$`),
      /: dns\.backend "bind" is not one of emit, nsupdate, exec, powerdns$/,
      /: defaults\.ttl '-5' is not valid/,
      /: services\[0\]\.tlsaNames\[1\] "_25\._tcp\.mx\\nexample\.com" contains a control character$/,
      /: services\[0\]\.tlsaName is not a known setting: did you mean "tlsaNames"\?$/,
      /: services\[0\]\.records\[0\]: matching type '9' is out of range/,
      /: services\[0\]\.connect "localhost" is not HOST:PORT/,
      /: services\[0\]\.starttls "smtps" is not one of smtp, imap/,
      /: services\[0\]\.extraCa\[0\]: .*nope\.pem does not exist$/,
      /: services\[0\]\.id "MX\/1" is not a valid id/,
      /: services\[1\]\.tlsaNames\[1\] "www\.example\.com" is not a TLSA owner name/,
      /: services\[2\]\.tlsaNames is missing/,
      /: services\[3\] must be an object$/,
      /: services\[4\]\.ttl '1h' is not valid/,
      /: services\[4\]\.records must be a list of strings/,
    ];
    for (const re of expect) assert.ok(r.errors.some((e) => re.test(e)), `no error matches ${re}:\n${r.errors.join('\n')}`);
    // The duplicate record is an error of its own, not hidden by the bad one before it.
    assert.ok(r.errors.some((e) => e.includes('services[0].records[2] "3 1 1" is listed twice')), r.errors.join('\n'));
  });

  test('rules across fields: names outside the zone, shared ids, unsafe choices warned', async () => {
    const file = await writeConfig('rules.json', {
      dns: { server: '127.0.0.1', zone: 'example.com' },
      services: [
        { tlsaNames: ['_25._tcp.mx.example.org'] },
        { tlsaNames: ['_25._tcp.a.example.com'], records: ['3 0 1'], nextKey: '/k' },
        { tlsaNames: ['_443._tcp.a.example.com'] },
      ],
    });
    const r = loadConfig(file);
    assert.ok(r.errors.some((e) => e.endsWith('services[0].tlsaNames[0] "_25._tcp.mx.example.org." is not in zone example.com.')), r.errors.join('\n'));
    assert.ok(r.errors.some((e) => e.includes('services[2] has the same id "a.example.com" as services[1]')), r.errors.join('\n'));
    assert.equal(r.errors.length, 2, r.errors.join('\n'));
    assert.ok(r.warnings.some((w) => w.includes('dns.tsigKey is not set')));
    assert.ok(r.warnings.some((w) => w.includes('"3 0 1" pins the whole certificate')));
    assert.ok(r.warnings.some((w) => w.includes('"3 0 1" cannot be published ahead for the next key')));
  });

  test('malformed JSON names the line and column; structure errors say what is expected', async () => {
    const broken = await writeConfig('broken.json', '{\n  "services": [\n    { "tlsaNames": ["_25._tcp.mx.example.com"], }\n  ]\n}\n');
    const lines = errorLines(() => loadConfig(broken));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`^config ${broken}: line 3 column 49: not valid JSON`));
    const truncated = await writeConfig('truncated.json', '{ "services": [');
    assert.match(errorLines(() => loadConfig(truncated))[0]!, /line 1 column 16: not valid JSON: unexpected end of input$/);
    assert.match(errorLines(() => loadConfig(join(dir, 'absent.json')))[0]!, /absent\.json does not exist$/);
    const arr = await writeConfig('array.json', '[]');
    assert.match(loadConfig(arr).errors[0]!, /array\.json: must hold a JSON object/);
    const empty = await writeConfig('empty.json', { services: [] });
    assert.match(loadConfig(empty).errors[0]!, /services is empty/);
  });

  test('a fleet config of 10,000 services (over 1 MiB) loads; one past 64 MiB is refused in one line', async () => {
    const services = Array.from({ length: 10_000 }, (_, i) => ({ id: `s${i}`, lineage: `/etc/letsencrypt/live/mx${i}.example.com`, tlsaNames: [`_25._tcp.mx${i}.example.com`, `_465._tcp.mx${i}.example.com`] }));
    const fleet = await writeConfig('fleet.json', { dns: { backend: 'emit' }, services });
    const r = loadConfig(fleet);
    assert.deepEqual(r.errors, []);
    assert.equal(r.config?.services?.length, 10_000);
    const huge = await writeConfig('huge.json', `{"services": [], "pad": "${'x'.repeat(64 * 1024 * 1024)}"}`);
    assert.deepEqual(errorLines(() => loadConfig(huge)), [`config ${huge} is larger than 65536 KiB: not a certificate, key or config file`]);
  });
});

describe('settings from flags', () => {
  const parse = (words: string[]) => addServiceOptions(yargs(words).exitProcess(false).fail((m, e) => { throw e ?? new Error(m); })).parseSync();

  test('yargs: repeatable flags collect, positional hook words survive, -q is --quiet', () => {
    const argv = parse(['deploy', '--tlsa-name', '_25._tcp.mx.example.com', '--tlsa-name', '_465._tcp.mx.example.com', '--records', '3 1 1', '-q', '--lineage', '/l', '--', 'deploy_cert', 'mx.example.com', '/k', '/c', '/f', '/ch', '1700000000']);
    assert.deepEqual(argv['tlsa-name'], ['_25._tcp.mx.example.com', '_465._tcp.mx.example.com']);
    assert.deepEqual(argv.records, ['3 1 1']);
    assert.equal(argv.quiet, true);
    assert.deepEqual(sourceFromArgs(argv), { lineage: '/l' });
    assert.deepEqual(hookArgs(argv), ['deploy_cert', 'mx.example.com', '/k', '/c', '/f', '/ch', '1700000000']);
  });

  test('one service from flags alone; defaults 3 1 1 + 2 1 1, TTL 3600; --server implies nsupdate', () => {
    const argv = parse(['deploy', '--tlsa-name', '_25._tcp.mx.example.com', '--server', '127.0.0.1:5300', '--tsig-key', tsig, '--state-dir', 'st', '--auth-server', '127.0.0.1:5301', '--auth-server', '127.0.0.1:5302']);
    const s = settingsFromArgs(argv, {}, { defaultConfigPath: NO_DEFAULT, cwd: dir });
    assert.equal(s.stateDir, join(dir, 'st'));
    assert.equal(s.services.length, 1);
    const svc = s.services[0]!;
    assert.equal(svc.id, 'mx.example.com');
    assert.deepEqual(svc.records, [p311, p211]);
    assert.equal(svc.ttl, 3600);
    assert.equal(svc.dns.backend, 'nsupdate');
    assert.deepEqual(svc.dns.authServers.map((a) => a.port), [5301, 5302]);
    const plain = settingsFromArgs(parse(['deploy', '--tlsa-name', '_25._tcp.mx.example.com']), {}, { defaultConfigPath: NO_DEFAULT });
    assert.equal(plain.services[0]!.dns.backend, 'emit');
    assert.equal(plain.stateDir, '/var/lib/dane-hook');
  });

  test('bad flags: every problem, named by its flag; nothing without --tlsa-name or a config', () => {
    const lines = errorLines(() => settingsFromArgs(parse(['deploy', '--tlsa-name', 'mx.example.com', '--tlsa-name', '_25._tcp.a b', '--records', '3 1', '--ttl', 'soon', '--server', 'a:b:c', '--tsig-key', join(dir, 'nokey')]), {}, { defaultConfigPath: NO_DEFAULT }));
    assert.equal(lines.length, 6, lines.join('\n'));
    for (const flag of ['--tlsa-name "mx.example.com"', '--tlsa-name "_25._tcp.a b"', '--records: record parameters', "--ttl 'soon'", '--server: DNS server', '--tsig-key:']) {
      assert.ok(lines.some((l) => l.startsWith(flag)), `no line starts with ${flag}:\n${lines.join('\n')}`);
    }
    assert.match(errorLines(() => settingsFromArgs(parse(['deploy', '--ttl', '60']), {}, { defaultConfigPath: NO_DEFAULT }))[0]!, /no config file and no --tlsa-name/);
    // status may run without any service
    assert.deepEqual(settingsFromArgs(parse(['status']), {}, { defaultConfigPath: NO_DEFAULT, needService: false }).services, []);
  });

  test('flags override the config: the only service, or the one chosen by --id; DNS flags for all', async () => {
    const file = await writeConfig('two.json', GOOD());
    const s = settingsFromArgs(parse(['deploy', '--config', file, '--id', 'www.example.com', '--ttl', '60', '--server', '127.0.0.1:5399', '--lineage', '/etc/letsencrypt/live/www']), {});
    const [mx, www] = s.services;
    assert.equal(www!.ttl, 60);
    assert.deepEqual(www!.source, { cert: '/srv/www/cert.pem', key: '/srv/www/key.pem', lineage: '/etc/letsencrypt/live/www' });
    assert.equal(mx!.ttl, 600);
    assert.deepEqual([mx!.dns.server, www!.dns.server], [{ host: '127.0.0.1', port: 5399 }, { host: '127.0.0.1', port: 5399 }]);
    // $DANE_HOOK_CONFIG stands in for --config
    assert.equal(settingsFromArgs(parse(['status']), { DANE_HOOK_CONFIG: file }).services.length, 2);
    // a service flag with several services and no --id is ambiguous; an unknown --id is an error
    assert.match(errorLines(() => settingsFromArgs(parse(['deploy', '--config', file, '--ttl', '60']), {}))[0]!, /--ttl set one service, but config .* has 2: choose it with --id \(services: mx, www\.example\.com\)/);
    assert.match(errorLines(() => settingsFromArgs(parse(['deploy', '--config', file, '--id', 'smtp']), {}))[0]!, /--id "smtp" is not a service in config/);
    // certificate-file flags alone do not need --id: they are matched to a service later
    assert.equal(settingsFromArgs(parse(['deploy', '--config', file, '--lineage', '/x']), {}).services[0]!.source.lineage, '/etc/letsencrypt/live/mx.example.com');
    const one = await writeConfig('one.json', { services: [{ tlsaNames: ['_25._tcp.mx.example.com'] }] });
    const single = settingsFromArgs(parse(['deploy', '--config', one, '--records', '3 1 1', '--extra-ca', issuers]), {});
    assert.deepEqual(single.services[0]!.records, [p311]);
    assert.deepEqual(single.services[0]!.extraCaFiles, [issuers]);
    // a new service next to the configured ones, when --id is new and --tlsa-name given
    const added = settingsFromArgs(parse(['deploy', '--config', one, '--id', 'imap', '--tlsa-name', '_993._tcp.mx.example.com']), {});
    assert.deepEqual(added.services.map((x) => x.id), ['mx.example.com', 'imap']);
  });
});

describe('findServices', () => {
  test('by lineage first, then by the certificate names against the TLSA hosts (wildcards one label)', () => {
    const r = buildSettings({
      config: {
        file: '/etc/dane-hook/config.json',
        raw: {
          services: [
            { id: 'mx', tlsaNames: ['_25._tcp.mx.example.com'], lineage: '/etc/letsencrypt/live/mx' },
            { id: 'imap', tlsaNames: ['_993._tcp.mx.example.com'] },
            { id: 'www', tlsaNames: ['_443._tcp.www.example.com'], cert: '/srv/www.pem', key: '/srv/www.key' },
          ],
        },
      },
    });
    const settings = r.config!;
    const files = (f: Partial<CertFiles>): CertFiles => ({ client: 'flags', cert: '/c', key: '/k', domains: [], ...f });
    assert.deepEqual(findServices(settings, files({ lineage: '/etc/letsencrypt/live/mx', domains: ['mx.example.com'] })).map((s) => s.id), ['mx']);
    assert.deepEqual(findServices(settings, files({ domains: ['mx.example.com'] })).map((s) => s.id), ['mx', 'imap']);
    assert.equal(findServices(settings, files({ cert: '/srv/www.pem' }))[0]!.id, 'www');
    assert.equal(findServices(settings, files({ domains: ['*.example.com'] }))[0]!.id, 'mx');
    assert.equal(findServices(settings, files({ domains: ['*.com'] }))[0], undefined);
    assert.equal(findServices(settings, files({ domains: ['other.example.com'] }))[0], undefined);
  });
});
