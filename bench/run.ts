// `npm run bench`: dane-hook tlsa against the OpenSSL reference pipeline, cold start (one file)
// and batch (1,000 files in one call against a shell loop of the pipeline). Certificates are made
// here with openssl. The baseline needs a shell, since a shell pipeline is what it measures.
// Then services.ts: many services on a real named. BENCH_ONLY=tlsa or BENCH_ONLY=services runs one.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePki, openssl } from '../test/support/pki.js';
import { envNote, median, timed } from './measure.js';

// BENCH_CLI measures another build of the CLI (e.g. an experiment) against the same baseline.
const CLI = process.env.BENCH_CLI ?? fileURLToPath(new URL('../../dist/dane-hook.mjs', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const LOOP_RUNS = Number(process.env.BENCH_LOOP_RUNS ?? 10);
const FILES = Number(process.env.BENCH_FILES ?? 1000);
const KEYS = 4;

const PIPELINE = (f: string): string => `openssl x509 -in '${f}' -noout -pubkey | openssl pkey -pubin -outform der | sha256sum`;

/** Alternates the two commands so drift in machine load hits both alike. */
async function compare(runs: number, a: () => Promise<{ ms: number }>, b: () => Promise<{ ms: number }>): Promise<[number, number]> {
  await a();
  await b(); // warm the page cache
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    ta.push((await a()).ms);
    tb.push((await b()).ms);
  }
  return [median(ta), median(tb)];
}

/** 1,000 leaves signed by the test intermediate, over a few keys (key generation is the slow part). */
async function makeLeaves(dir: string, count: number): Promise<string[]> {
  const pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p256'] });
  const csrs: string[] = [];
  for (let k = 0; k < KEYS; k++) {
    const key = join(dir, `key${k}.pem`);
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
    const csr = join(dir, `csr${k}.pem`);
    await openssl(['req', '-new', '-key', key, '-subj', `/CN=host${k}.example.com`, '-out', csr]);
    csrs.push(csr);
  }
  const files = Array.from({ length: count }, (_, i) => join(dir, 'certs', `cert${String(i).padStart(4, '0')}.pem`));
  await mkdir(join(dir, 'certs'), { recursive: true });
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      const pem = await openssl(['x509', '-req', '-in', csrs[i % KEYS]!, '-CA', pki.intermediate.cert, '-CAkey', pki.intermediate.key, '-set_serial', String(10_000 + i), '-days', '30']);
      await writeFile(files[i]!, pem);
    }
  };
  await Promise.all(Array.from({ length: availableParallelism() * 2 }, worker));
  return files;
}

const uniqueHashes = (out: string): string => [...new Set(out.match(/[0-9a-f]{64}/g) ?? [])].sort().join(',');
const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dane-hook-bench-'));
  try {
    process.stdout.write(`making ${FILES} certificates with openssl...\n`);
    const files = await makeLeaves(dir, FILES);
    const one = files[0]!;

    const ours1 = (await timed(process.execPath, [CLI, 'tlsa', one])).out;
    const theirs1 = (await timed('sh', ['-c', PIPELINE(one)])).out;
    if (uniqueHashes(ours1) !== uniqueHashes(theirs1)) throw new Error(`results differ: ${ours1} vs ${theirs1}`);
    const [cold, pipe] = await compare(RUNS, () => timed(process.execPath, [CLI, 'tlsa', one]), () => timed('sh', ['-c', PIPELINE(one)]));

    const loop = `for f in '${join(dir, 'certs')}'/*.pem; do ${PIPELINE('$f').replace("'$f'", '"$f"')}; done`;
    const oursN = (await timed(process.execPath, [CLI, 'tlsa', ...files])).out;
    const theirsN = (await timed('sh', ['-c', loop])).out;
    if (uniqueHashes(oursN) !== uniqueHashes(theirsN)) throw new Error('batch results differ from the openssl loop');
    const [batch, shellLoop] = await compare(LOOP_RUNS, () => timed(process.execPath, [CLI, 'tlsa', ...files]), () => timed('sh', ['-c', loop]));

    const lines = [
      `node ${process.version}, ${availableParallelism()} CPUs; medians of ${RUNS} (cold) and ${LOOP_RUNS} (batch) runs${envNote()}`,
      `cold start, one file:  dane-hook tlsa ${fmt(cold)}   openssl pipeline ${fmt(pipe)}   ratio ${(cold / pipe).toFixed(2)}x (target <= 3x) ${cold <= 3 * pipe ? 'OK' : 'MISSED'}`,
      `batch, ${FILES} files:    dane-hook tlsa ${fmt(batch)}   shell loop ${fmt(shellLoop)}   ${(shellLoop / batch).toFixed(1)}x faster (target >= 20x) ${shellLoop >= 20 * batch ? 'OK' : 'MISSED'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_ONLY !== 'services') await main();
if (process.env.BENCH_ONLY !== 'tlsa') await import('./services.js');
