import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServer, formatServer } from '../../src/dns/address.js';
import { UserError } from '../../src/errors.js';

test('parseServer: the forms users write', () => {
  assert.deepEqual(parseServer('192.0.2.1'), { host: '192.0.2.1', port: 53 });
  assert.deepEqual(parseServer('192.0.2.1:5300'), { host: '192.0.2.1', port: 5300 });
  assert.deepEqual(parseServer('ns1.example.org.:5353'), { host: 'ns1.example.org', port: 5353 });
  assert.deepEqual(parseServer('ns1.example.org', 5300), { host: 'ns1.example.org', port: 5300 });
  assert.deepEqual(parseServer('[2001:db8::1]:5300'), { host: '2001:db8::1', port: 5300 });
  assert.deepEqual(parseServer('[2001:db8::1]'), { host: '2001:db8::1', port: 53 });
  assert.deepEqual(parseServer('2001:db8::1'), { host: '2001:db8::1', port: 53 });
  assert.deepEqual(parseServer(' ::1 '), { host: '::1', port: 53 });
});

test('parseServer: bad input is a one-line UserError naming the value', () => {
  for (const bad of ['', ' ', 'host:0', 'host:65536', 'host:53x', 'host:', '[192.0.2.1]:53', '2001:db8::1:99999x', 'a b', 'x\nserver 10.0.0.1', '999.1.1.1', '-bad.example', '[::1]:x']) {
    assert.throws(() => parseServer(bad), (e: unknown) => {
      assert.ok(e instanceof UserError, `${JSON.stringify(bad)} gave ${String(e)}`);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  }
  assert.throws(() => parseServer('ns1:99999'), /invalid port '99999'/);
});

test('formatServer brackets IPv6', () => {
  assert.equal(formatServer({ host: '::1', port: 53 }), '[::1]:53');
  assert.equal(formatServer({ host: '127.0.0.1', port: 5300 }), '127.0.0.1:5300');
});
