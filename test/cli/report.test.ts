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
