// Two services on one TLSA name, one per key type (two certbot lineages, --key-type rsa and
// ecdsa), served from one endpoint by a real `openssl s_server -cert RSA -dcert ECDSA`: the probe
// asks for each service's own key type, check judges the name against both services, --id selects.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../support/bind.js';
import { startUnbound, type UnboundServer } from '../support/unbound.js';
import { startTlsServer, type TlsServer } from '../support/tls-server.js';
import { makePki, spkiHash, type Pki } from '../support/pki.js';
import { runCli } from '../support/cli.js';
import { presentedChain } from '../../src/tls/probe.js';

const NAME = '_443._tcp.mx.example.test';

describe('one name, an RSA and an ECDSA service on one endpoint (real named, unbound, s_server -dcert)', () => {
  let dir: string;
  let bind: BindServer;
  let unbound: UnboundServer;
  let pki: Pki;
  let tls: TlsServer;
  let config: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-shared-'));
    [bind, pki] = await Promise.all([startBind({ ttl: 1 }), makePki(join(dir, 'pki'), { kinds: ['rsa', 'ec-p256'], host: 'mx.example.test' })]);
    const [rsa, ec] = [pki.leaves.rsa, pki.leaves['ec-p256']];
    [unbound, tls] = await Promise.all([
      startUnbound(bind),
      startTlsServer({ cert: rsa.cert, key: rsa.key, chain: rsa.chain, second: { cert: ec.cert, key: ec.key, chain: ec.chain } }),
    ]);
    await bind.nsupdate([
      `update add ${NAME}. 1 IN TLSA 3 1 1 ${await spkiHash(rsa.cert)}`,
      `update add ${NAME}. 1 IN TLSA 3 1 1 ${await spkiHash(ec.cert)}`,
      `update add ${NAME}. 1 IN TLSA 2 1 1 ${await spkiHash(pki.intermediate.cert)}`,
    ]);
    config = join(dir, 'config.json');
    const service = (id: string, leaf: typeof rsa) => ({ id, tlsaNames: [NAME], cert: leaf.cert, chain: leaf.chain, key: leaf.key, connect: tls.address });
    await writeFile(config, JSON.stringify({ stateDir: join(dir, 'state'), dns: { authServers: [bind.address] }, services: [service('mx-rsa', rsa), service('mx-ec', ec)] }));
  });
  after(async () => {
    await Promise.all([tls?.stop(), unbound?.stop()]);
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the probe gets the certificate of the key type it asks for', async () => {
    const keyOf = (certs: Buffer[]) => new X509Certificate(certs[0]!).publicKey.asymmetricKeyType;
    assert.equal(keyOf(await presentedChain(tls.address, 'none', { keyType: 'rsa' })), 'rsa');
    assert.equal(keyOf(await presentedChain(tls.address, 'none', { keyType: 'ec' })), 'ec');
    const rsaLeaf = new X509Certificate(await readFile(pki.leaves.rsa.cert)).raw;
    assert.ok((await presentedChain(tls.address, 'none', { keyType: 'rsa' }))[0]!.equals(rsaLeaf));
  });

  test('check: both services OK (each judged on its own certificate; the other record is not stale)', async () => {
    const r = await runCli(['check', '--config', config, '--resolver', unbound.address, '--json']);
    const report = JSON.parse(r.stdout) as { state: string; services: { service: string; endpoints: { findings: { code: string }[]; announced: { role: string }[] }[] }[] };
    assert.equal(report.state, 'OK', r.stdout);
    assert.equal(r.exitCode, 0);
    assert.deepEqual(report.services.map((s) => s.service).sort(), ['mx-ec', 'mx-rsa']);
    for (const s of report.services) {
      assert.deepEqual(s.endpoints[0]!.findings, []);
      assert.match(s.endpoints[0]!.announced.map((a) => a.role).join(), /chain of service mx-(rsa|ec)/);
    }
  });

  test('--id selects the service in check and status; an unknown id is an error naming the known ones', async () => {
    const one = await runCli(['check', '--config', config, '--resolver', unbound.address, '--id', 'mx-rsa', '--json']);
    assert.deepEqual((JSON.parse(one.stdout) as { services: { service: string }[] }).services.map((s) => s.service), ['mx-rsa']);
    const status = await runCli(['status', '--config', config, '--id', 'mx-ec', '--offline', '--json']);
    assert.equal(status.exitCode, 0, status.stderr);
    assert.deepEqual((JSON.parse(status.stdout) as { services: { service: string }[] }).services.map((s) => s.service), ['mx-ec']);
    const bad = await runCli(['status', '--config', config, '--id', 'nope', '--offline']);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /--id "nope" is not a service in config .*\(services: mx-rsa, mx-ec\)/);
  });
});
