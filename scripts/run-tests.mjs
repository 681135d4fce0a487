// Runs every compiled test file with node's test runner. Node 20's `node --test` takes no globs,
// so the files are listed here. Extra arguments are passed on (e.g. a file filter).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : find(p);
    return p.endsWith('.test.js') ? [p] : [];
  });
}

const filters = process.argv.slice(2);
const files = find('build/test').sort().filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
// A hung test fails after 20 minutes (the longest, an 8-minute e2e run, fits) instead of holding CI
// until its deadline with nothing said; --test-force-exit ends a file whose tests are done even if
// a leaked server handle would keep it alive.
const safety = ['--test-timeout=1200000', '--test-force-exit'];
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...safety, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
