// Zone discovery against real named: the zone of a deep name, its negative TTL (checked against
// dig's SOA), signed or not, its name servers and their addresses.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBind, freePort, type BindServer } from '../support/bind.js';
import { discoverZone, resolveNameServers } from '../../src/dns/zone.js';
import { DnsError } from '../../src/errors.js';
import type { ServerAddress } from '../../src/dns/types.js';

const at = (port: number): ServerAddress => ({ host: '127.0.0.1', port });

describe('discoverZone (real named)', () => {
  let signed: BindServer;
  let unsigned: BindServer;
  before(async () => {
    [signed, unsigned] = await Promise.all([
      startBind({
        ttl: 2,
        soaMinimum: 1,
        extraRecords: ['mail IN A 127.0.0.1', 'ns2 IN AAAA ::1', '@ IN NS ns2', '@ IN NS ns.outside.invalid.', 'child IN NS ns.child', 'ns.child IN A 127.0.0.9'],
      }),
      startBind({ ttl: 1, signed: false, zone: 'sub.plain.test' }),
    ]);
  });
  after(async () => Promise.all([signed?.stop(), unsigned?.stop()]));

  test('a name deep under the apex (empty non-terminals, NXDOMAIN) finds the zone', async () => {
    const info = await discoverZone('_25._tcp.a.b.c.mail.EXAMPLE.test', at(signed.port));
    assert.equal(info.zone, 'example.test.');
    // min(SOA TTL, SOA MINIMUM), both read from dig's own view of the SOA
    const soa = (await signed.dig(['+norec', '+noall', '+answer', 'SOA', 'example.test.'])).trim().split(/\s+/);
    assert.equal(info.negativeTtl, Math.min(Number(soa[1]), Number(soa[10])));
    assert.equal(info.negativeTtl, 1);
    assert.equal(info.signed, true);
    assert.deepEqual(info.nameServers, ['ns.outside.invalid.', 'ns1.example.test.', 'ns2.example.test.']);
    // the apex itself and an existing name
    assert.equal((await discoverZone('example.test.', at(signed.port))).zone, 'example.test.');
    assert.equal((await discoverZone('mail.example.test', at(signed.port))).zone, 'example.test.');
  });

  test('an unsigned zone below a name the server does not serve', async () => {
    const info = await discoverZone('_443._tcp.www.sub.plain.test', at(unsigned.port));
    assert.deepEqual(info, { zone: 'sub.plain.test.', negativeTtl: 1, signed: false, nameServers: ['ns1.sub.plain.test.'] });
  });

  test('name servers: in-zone glue asked of the server, at the given port', async () => {
    const info = await discoverZone('example.test', at(signed.port));
    const inZone = { ...info, nameServers: info.nameServers.filter((n) => n.endsWith('example.test.')) };
    assert.deepEqual(await resolveNameServers(inZone, at(signed.port)), [
      { host: '127.0.0.1', port: signed.port },
      { host: '::1', port: signed.port },
    ]);
    assert.deepEqual(await resolveNameServers(inZone, at(signed.port), 53), [
      { host: '127.0.0.1', port: 53 },
      { host: '::1', port: 53 },
    ]);
    // a name server name nobody can resolve is an error, not a silently shorter list
    await assert.rejects(resolveNameServers(info, at(signed.port)), /name server ns\.outside\.invalid\. of zone example\.test\. has no address/);
  });

  test('a delegated child, a server for nothing, a server down', async () => {
    await assert.rejects(discoverZone('_25._tcp.x.child.example.test', at(signed.port)), /is in zone child\.example\.test\., delegated away/);
    await assert.rejects(discoverZone('www.elsewhere.test', at(signed.port)), (e: unknown) => {
      assert.ok(e instanceof DnsError);
      assert.match(e.message, /is not authoritative for any zone containing www\.elsewhere\.test\./);
      return true;
    });
    await assert.rejects(discoverZone('www.example.test', at(await freePort()), { retries: 0 }), /connection refused/);
    await assert.rejects(discoverZone('bad name.example.test', at(signed.port)), /is not a valid DNS name/);
  });
});
