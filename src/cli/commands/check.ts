// dane-hook check: does the live service, DNSSEC and the files on disk agree? A monitoring plugin:
// exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad input included); the summary line comes first.
import type { CommandModule } from 'yargs';
import { UserError } from '../../errors.js';
import { parseServer } from '../../dns/address.js';
import { evaluateService, type ServiceVerdict } from '../../check/evaluate.js';
import { EXPIRY_DEFAULTS } from '../../rollover/lifetime.js';
import { CHECK_USAGE, gatherService, rolloverReadiness } from '../../check/gather.js';
import { buildReport, reportText } from '../../check/report.js';
import { systemResolver } from '../../check/resolver.js';
import { addServiceOptions, settingsFromArgs, type ServiceArgs } from '../service-options.js';
import { allServices } from '../services.js';
import { renderPrometheus, type PrometheusInput } from '../../check/prometheus.js';
import { loadService, rolloverOf } from '../../state/store.js';
import { lineageViews, shownId } from '../../config/lineages.js';
import { writeFileAtomic } from '../../state/atomic.js';
import { resolve } from 'node:path';
import { selectService } from '../select.js';

type Args = ServiceArgs & { resolver?: string; 'warn-days'?: string; 'crit-days'?: string; timeout?: string; format?: string; textfile?: string };

// Given twice, the last one counts (as for the shared flags): hook lines get flags appended.
const one = (v: unknown): string | undefined => (v === undefined ? undefined : Array.isArray(v) ? String(v[v.length - 1]) : String(v));

const usage = (message: string) => new UserError(message, { exitCode: CHECK_USAGE });

function days(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(String(raw).trim()) || !Number.isFinite(n)) throw usage(`${flag} '${raw}' is not a number of days (0 or more)`);
  return n;
}

/** Every input checked before anything is asked of the network; a bad one is UNKNOWN (exit 3). */
function checkArgs(argv: Args) {
  // Unset thresholds scale with each certificate's lifetime (at most 14 and 3 days): a lone flag
  // is checked against that ceiling, so --crit-days 20 alone is still an error.
  const warnDays = days(argv['warn-days'], '--warn-days');
  const critDays = days(argv['crit-days'], '--crit-days');
  const [w, c] = [warnDays ?? EXPIRY_DEFAULTS.warn.days, critDays ?? (warnDays === undefined ? EXPIRY_DEFAULTS.crit.days : 0)];
  if (c > w) throw usage(`--crit-days ${c} is more than --warn-days ${w}${warnDays === undefined ? ' (the default)' : ''}: the critical threshold must be the nearer one`);
  const timeout = days(argv.timeout, '--timeout') ?? 10;
  if (timeout <= 0 || timeout > 300) throw usage(`--timeout '${argv.timeout}' is not valid: use 1-300 seconds`);
  let resolver;
  try {
    resolver = argv.resolver !== undefined ? parseServer(argv.resolver) : systemResolver();
  } catch (e) {
    throw usage(`--resolver: ${(e as Error).message}`);
  }
  if (!resolver) throw usage('no --resolver given and no nameserver in /etc/resolv.conf: name a validating resolver, e.g. --resolver 127.0.0.1');
  return { warnDays, critDays, timeoutMs: timeout * 1000, resolver };
}

const command: CommandModule<object, Args> = {
  command: 'check',
  describe: 'Monitoring check: the live chain, the validated TLSA RRset, every authoritative server and the files on disk agree (exit 0/1/2/3)',
  builder: (y) =>
    addServiceOptions(y)
      .option('resolver', { type: 'string', coerce: one, group: 'Check:', describe: 'Validating resolver HOST[:PORT] (default: first nameserver in /etc/resolv.conf)' })
      .option('warn-days', { type: 'string', coerce: one, group: 'Check:', describe: 'WARNING when a presented certificate expires within this many days (default 14, or 1/5 of a shorter-lived certificate\'s lifetime)' })
      .option('crit-days', { type: 'string', coerce: one, group: 'Check:', describe: 'CRITICAL when a presented certificate expires within this many days (default 3, or 1/15 of a shorter-lived certificate\'s lifetime)' })
      .option('timeout', { type: 'string', coerce: one, group: 'Check:', describe: 'Seconds for each connection and TLS handshake (default 10)' })
      .option('format', { type: 'string', choices: ['nagios', 'prometheus'], group: 'Check:', describe: 'Output: monitoring-plugin lines, or the Prometheus text format (default nagios; --json for JSON)' })
      .option('textfile', { type: 'string', coerce: one, group: 'Check:', describe: "Also write the Prometheus text to FILE atomically (node_exporter's textfile collector)" })
      // A monitoring system reads any bad input as UNKNOWN, yargs' own complaints included.
      .fail((msg, err) => {
        throw err instanceof UserError ? new UserError(err.message, { exitCode: CHECK_USAGE, cause: err }) : (err ?? usage(msg.replace(/\s*\n\s*/g, ' ')));
      }),
  handler: async (argv) => {
    try {
      await run(argv);
    } catch (e) {
      // A state file or config that cannot be read is UNKNOWN too, not the other commands' exit 2.
      throw e instanceof UserError && e.exitCode !== CHECK_USAGE ? new UserError(e.message, { exitCode: CHECK_USAGE, cause: e }) : e;
    }
  },
};

/** temp file + rename in the same directory: the collector never reads half a file. */
function writeTextfile(file: string, text: string): void {
  try {
    writeFileAtomic(resolve(file), text, 0o644);
  } catch (e) {
    throw usage(`--textfile ${file}: cannot write it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function run(argv: Args): Promise<void> {
  const opts = checkArgs(argv);
  const global = settingsFromArgs(argv, process.env, { needService: false });
  // A service with lineages is judged per lineage: each view asks for its own key type.
  const known = allServices(global).flatMap(lineageViews);
  const services = selectService(known, argv.id, CHECK_USAGE);
  if (services.length === 0) throw usage(`no services in ${global.stateDir} or the config: give --tlsa-name or --config`);
  const now = Date.now();
  const wantMetrics = argv.format === 'prometheus' || argv.textfile !== undefined;
  const verdicts: ServiceVerdict[] = [];
  const metrics: PrometheusInput[] = [];
  for (const s of services) {
    const { facts, findings } = await gatherService(global.stateDir, s, {
      resolver: opts.resolver,
      connect: argv.connect,
      starttls: argv.starttls,
      timeoutMs: opts.timeoutMs,
      // A name shared with other services (an RSA and an ECDSA lineage) is judged with all of them.
      peers: known.filter((p) => shownId(p) !== shownId(s) && p.tlsaNames.some((n) => s.tlsaNames.includes(n))),
    });
    const verdict: ServiceVerdict = { ...evaluateService(shownId(s), facts, now, opts, findings), readiness: rolloverReadiness(global.stateDir, s, now) };
    verdicts.push(verdict);
    if (wantMetrics) metrics.push({ verdict, facts, rollover: rolloverOf(loadService(global.stateDir, s.id), s) });
  }
  const report = buildReport(verdicts, opts);
  const exposition = wantMetrics ? renderPrometheus(metrics, now) : '';
  // Written before anything is printed: a textfile that cannot be written is UNKNOWN, said once.
  if (argv.textfile !== undefined) writeTextfile(argv.textfile, exposition);
  if (argv.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (argv.format === 'prometheus') process.stdout.write(exposition);
  else process.stdout.write(`${reportText(report).join('\n')}\n`);
  process.exitCode = report.exitCode;
}

export default command;
