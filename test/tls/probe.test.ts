// presentedChain against real TLS peers on loopback: openssl s_server for implicit TLS, and the
// test STARTTLS server for SMTP, IMAP, POP3, FTP and XMPP, itself cross-checked with
// `openssl s_client -starttls PROTO` so the dialogue is the one real clients speak.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { presentedChain, ProbeError } from '../../src/tls/probe.js';
import { leafProbe } from '../../src/tls/presented-leaf.js';
import { defaultStartTls } from '../../src/tls/starttls.js';
import { makePki, openssl, type LeafPaths, type Pki, spkiHash } from '../support/pki.js';
import { opensslDane, startStartTlsServer, startTlsServer, type Protocol } from '../support/tls-server.js';
import { freePort } from '../support/bind.js';

const HOST = 'mx.example.test';


describe('presentedChain against real TLS peers', () => {
  let dir: string;
  let pki: Pki;
  let leaf: LeafPaths;
  let leafDer: Buffer;
  let intermediateDer: Buffer;
  let rr: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-probe-'));
    pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: HOST });
    leaf = pki.leaves['ec-p256'];
    leafDer = await readFile(leaf.certDer);
    intermediateDer = await openssl(['x509', '-in', pki.intermediate.cert, '-outform', 'der']);
    rr = `3 1 1 ${await spkiHash(leaf.cert)}`;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('implicit TLS (openssl s_server): leaf then intermediate, as sent', async () => {
    const server = await startTlsServer({ cert: leaf.cert, key: leaf.key, chain: leaf.chain });
    try {
      const chain = await presentedChain(server.address, 'none', { servername: HOST });
      assert.equal(chain.length, 2);
      assert.ok(chain[0]!.equals(leafDer));
      assert.ok(chain[1]!.equals(intermediateDer));
    } finally {
      await server.stop();
    }
  });

  test('leafProbe: the presented leaf as the state names chains (SHA-256 of its DER); a bad endpoint throws before any probe', async () => {
    const server = await startTlsServer({ cert: leaf.cert, key: leaf.key, chain: leaf.chain });
    try {
      assert.equal(await leafProbe(server.address, 'none')({ servername: HOST }), createHash('sha256').update(leafDer).digest('hex'));
    } finally {
      await server.stop();
    }
    assert.throws(() => leafProbe('no-port', undefined), /endpoint 'no-port' is not HOST:PORT/);
  });

  for (const protocol of ['smtp', 'imap', 'pop3', 'ftp', 'xmpp'] as Protocol[]) {
    test(`STARTTLS ${protocol}: the chain after the upgrade, and openssl s_client -starttls ${protocol} agrees`, async () => {
      const server = await startStartTlsServer({ protocol, cert: leaf.cert, key: leaf.key, chain: leaf.chain });
      try {
        const chain = await presentedChain(server.address, protocol, { servername: HOST, timeoutMs: 5000 });
        assert.equal(chain.length, 2);
        assert.ok(chain[0]!.equals(leafDer));
        assert.ok(chain[1]!.equals(intermediateDer));
        assert.equal(await opensslDane(server.address, [rr], protocol), 0, 'openssl matches the record over the same dialogue');
        assert.equal(await opensslDane(server.address, [`3 1 1 ${'cd'.repeat(32)}`], protocol), 1, 'and refuses another record');
      } finally {
        await server.stop();
      }
    });
  }

  test('an SMTP server that does not offer STARTTLS is a starttls failure, named', async () => {
    const server = await startStartTlsServer({ protocol: 'smtp', cert: leaf.cert, key: leaf.key, offer: false });
    try {
      await assert.rejects(presentedChain(server.address, 'smtp', { timeoutMs: 5000 }), (e: unknown) => {
        assert.ok(e instanceof ProbeError);
        assert.equal(e.stage, 'starttls');
        assert.match(e.message, /STARTTLS not offered/);
        return true;
      });
    } finally {
      await server.stop();
    }
  });

  test('nothing listening: a connect failure that names the endpoint', async () => {
    const port = await freePort();
    await assert.rejects(presentedChain(`127.0.0.1:${port}`, 'none'), (e: unknown) => e instanceof ProbeError && e.stage === 'connect' && e.message.includes(`127.0.0.1:${port}`) && /ECONNREFUSED/.test(e.message));
  });

  test('a server that never speaks: a timeout, not a hang', async () => {
    const held = new Set<Socket>();
    const silent = createServer((s) => void held.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const t0 = Date.now();
      await assert.rejects(presentedChain(`127.0.0.1:${port}`, 'smtp', { timeoutMs: 300 }), (e: unknown) => e instanceof ProbeError && e.stage === 'timeout');
      assert.ok(Date.now() - t0 < 2000);
    } finally {
      for (const s of held) s.destroy();
      silent.close();
    }
  });

  test('a root in the local trust store that the server does not send is not "presented"', async () => {
    const server = await startTlsServer({ cert: leaf.cert, key: leaf.key, chain: leaf.chain });
    try {
      // NODE_EXTRA_CA_CERTS is read at start-up: a child process with the test root trusted.
      const probe = new URL('../../src/tls/probe.js', import.meta.url).href;
      const script = `
        import { connect } from 'node:tls';
        const { presentedChain } = await import(${JSON.stringify(probe)});
        const ours = (await presentedChain(${JSON.stringify(server.address)}, 'none')).length;
        const s = connect({ host: '127.0.0.1', port: ${server.port}, rejectUnauthorized: false });
        await new Promise((r) => s.once('secureConnect', r));
        let n = 0; const seen = new Set();
        for (let c = s.getPeerCertificate(true); c && c.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) { seen.add(c.fingerprint256); n++; }
        s.destroy();
        console.log(JSON.stringify({ ours, naive: n }));`;
      const r = await execa(process.execPath, ['--input-type=module', '-e', script], { env: { NODE_EXTRA_CA_CERTS: pki.root.cert } });
      const { ours, naive } = JSON.parse(r.stdout) as { ours: number; naive: number };
      assert.equal(naive, 3, 'the default context completes the chain from the trust store (the hazard)');
      assert.equal(ours, 2, 'presentedChain reports only what was sent');
    } finally {
      await server.stop();
    }
  });

  test('STARTTLS defaults by port', () => {
    assert.deepEqual(
      [25, 587, 143, 110, 21, 5222, 5269, 465, 993, 995, 443, 8443].map(defaultStartTls),
      ['smtp', 'smtp', 'imap', 'pop3', 'ftp', 'xmpp', 'xmpp', 'none', 'none', 'none', 'none', 'none'],
    );
  });
});
