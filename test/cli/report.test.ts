// The text report: what a person reads after deploy/advance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reportText } from '../../src/cli/report.js';
import type { RunReport } from '../../src/engine/run.js';

const base: RunReport = { service: 'mx', trigger: 'deploy', steps: [], applied: true, warnings: [], unsafe: false, readiness: {}, held: [], exitCode: 0 };

test('a chain promoted in this run is not said to wait for its records', () => {
  const r: RunReport = { ...base, steps: [{ kind: 'promote', chainId: 'ab'.repeat(32), immediate: true, reason: 'first deploy' }], readiness: { pending: false } };
  const { out } = reportText(r, { now: Date.now() });
  assert.ok(out.some((l) => /promote +chain abababab/.test(l)), out.join('\n'));
  assert.ok(!out.some((l) => /waits for its records/.test(l)), out.join('\n'));
});

test('a pending chain that was not promoted still is', () => {
  const { out } = reportText({ ...base, readiness: { pending: false } }, { now: Date.now() });
  assert.ok(out.includes('mx: renewed chain waits for its records to be ready'), out.join('\n'));
});

test('the trimmed report a many-service run keeps (forText) prints exactly as the whole one', async () => {
  const { forText } = await import('../../src/cli/commands/run-common.js');
  const combo = (name: string, ready: boolean) => ({ name, params: '3 1 1', ready, readyAt: ready ? 1_000 : undefined, matchable: true });
  const r: RunReport = {
    ...base,
    readiness: { inService: true, pending: false },
    nextAt: Date.now() + 60_000,
    combos: [
      { role: 'in service', id: 'aa'.repeat(32), ready: true, combos: [combo('_25._tcp.mx.example.test.', true)] },
      { role: 'pending', id: 'bb'.repeat(32), ready: false, combos: [combo('_25._tcp.mx.example.test.', false), combo('_465._tcp.mx.example.test.', true)] },
    ],
  };
  const slim = forText(r);
  assert.deepEqual(slim.combos?.map((c) => c.role), ['pending']);
  const now = Date.now();
  for (const quiet of [false, true]) for (const exitCode of [0, 5]) assert.deepEqual(reportText(forText({ ...r, exitCode }), { quiet, now }), reportText({ ...r, exitCode }, { quiet, now }));
  assert.ok(reportText(r, { now }).out.some((l) => l.includes('waits for its records to be ready (')), 'the pending chain is described');
});
