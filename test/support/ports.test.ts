// Test servers never share a port: named and unbound bind with SO_REUSEPORT, so two of them on one
// port both start and the kernel splits the queries. freePort() reserves ports across test
// processes; the starters check after start that only their own server answers on the port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { startBind } from './bind.js';
import { startUnbound } from './unbound.js';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort, idServer, reservePort, sharedWith } from './ports.js';

const portsModule = new URL('./ports.js', import.meta.url).href;

/** Another test process that takes a port with freePort() and holds it until its stdin ends. */
async function holder(): Promise<{ port: number; kill(): Promise<void>; exit(): Promise<void> }> {
  const code = `const { freePort } = await import(${JSON.stringify(portsModule)});
console.log(await freePort());
process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
  const proc = execa(process.execPath, ['--input-type=module', '-e', code], { stdin: 'pipe', reject: false, buffer: false });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    void proc.then((r) => reject(new Error(`holder exited (${r.exitCode}): ${String(r.stderr)}`)));
  });
  return {
    port,
    kill: async () => (proc.kill('SIGKILL'), void (await proc)), // no exit handler runs: the reservation is left stale
    exit: async () => (proc.stdin?.end(), void (await proc)),
  };
}

test('freePort: a port reserved by a live test process is skipped; a dead one\'s reservation is cleared', async () => {
  const live = await holder();
  assert.ok(Number.isInteger(live.port) && live.port > 0, `holder printed ${live.port}`);
  assert.equal(reservePort(live.port), false, 'a live process holds it');
  await live.kill();
  assert.equal(reservePort(live.port), false, 'stale: removed, but not reused at once');
  assert.equal(reservePort(live.port), true, 'then free to take');

  const tidy = await holder();
  assert.equal(reservePort(tidy.port), false);
  await tidy.exit();
  assert.equal(reservePort(tidy.port), true, 'a normal exit releases its reservations');
});

test('startBind: two named started at once on the same port end up on two ports, each alone', async () => {
  const port = await freePort();
  const [a, b] = await Promise.all([
    startBind({ port, zone: 'a.test', signed: false }),
    startBind({ port, zone: 'b.test', signed: false }),
  ]);
  try {
    assert.notEqual(a.port, b.port, `both on ${a.port}: the kernel splits queries between them`);
    // Each dig is a fresh source port; a sharer would answer REFUSED for a zone it does not serve.
    for (const [s, zone] of [[a, 'a.test.'], [b, 'b.test.']] as const) {
      const answers = await Promise.all(Array.from({ length: 16 }, () => s.dig(['+norec', '+tcp', 'SOA', zone])));
      answers.push(...(await Promise.all(Array.from({ length: 8 }, () => s.dig(['+norec', 'SOA', zone])))));
      for (const out of answers) assert.match(out, /status: NOERROR/, `${zone} at ${s.address}:\n${out}`);
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('startUnbound: two unbound started at once on the same port end up on two ports', async () => {
  const bind = await startBind({ zone: 'u.test', signed: false });
  try {
    const port = await freePort();
    const [a, b] = await Promise.all([startUnbound(bind, { port }), startUnbound(bind, { port })]);
    try {
      assert.notEqual(a.port, b.port, `both on ${a.port}: the kernel splits queries between them`);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  } finally {
    await bind.stop();
  }
});

// CI hung here for an hour: a server stopping on a shared port closed connections without an
// answer, and the id.server probe only had an idle timeout, which a closed socket never fires.
test('id.server probe settles when the server closes without answering, or never answers (times out of the test instead of hanging on the old probe)', { timeout: 15000 }, async () => {
  const sockets = new Set<import('node:net').Socket>();
  const closer = createServer((c) => c.end());
  const silent = createServer((c) => void sockets.add(c)); // holds the connection open, says nothing
  const listen = (s: typeof closer) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));
  const [closerPort, silentPort] = [await listen(closer), await listen(silent)];
  try {
    assert.equal(await idServer(closerPort), '(closed without an answer)');
    assert.equal(await idServer(silentPort, 300), '(timeout)');
    const why = await sharedWith(closerPort, 'ours', 'a test server', 4);
    assert.match(why ?? '', /shared with another server \(id\.server answered \(closed without an answer\), ours is ours\)/);
  } finally {
    for (const c of sockets) c.destroy();
    closer.close();
    silent.close();
  }
});

// dig binds its UDP source port with SO_REUSEPORT, as the test servers do: a source port inside the
// ephemeral range could be a server's port, and dig then reads its own query as the answer.
test('freePort hands out ports below the ephemeral range, which no client is given as a source port', async () => {
  const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    assert.ok(port > 1024 && port < low, `port ${port} is inside the ephemeral range from ${low}`);
  }
});
