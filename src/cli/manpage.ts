// dane-hook(1), written from the tables --help is made of (the commands, the flag table, the exit
// codes), so the two cannot drift. scripts/bundle.mjs writes it to dist/dane-hook.1 (pure: text in,
// text out).
import { FLAG_GROUPS, FLAGS, SERVICE_KEYS, DNS_KEYS, LINEAGE_KEYS, type FlagRow } from '../config/flags.js';
import { DEFAULT_CONFIG_PATH } from '../config/types.js';
import { CHECK_EXIT_MEANINGS, EXIT_MEANINGS } from '../errors.js';
import { COMMANDS } from './command-list.js';

/** roff text: backslashes and hyphens escaped, no line starting with a control character. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

function flagItem(r: FlagRow): string {
  const value = r.type === 'boolean' ? '' : ` \\fI${r.choices ? r.choices.join('|') : 'VALUE'}\\fR`;
  const alias = r.alias ? `\\fB\\-${r.alias}\\fR, ` : '';
  const config = r.key === undefined ? '' : ` Config key: \\fB${roff(r.scope === 'dns' ? `dns.${r.key}` : r.scope === 'service' ? `services[].${r.key}` : r.key)}\\fR.`;
  return `.TP\n${alias}\\fB\\-\\-${roff(r.flag)}\\fR${value}\n${roff(r.help)}.${config}`;
}

/**
 * `help`: each command's own `--help` text (scripts/bundle.mjs runs the built CLI for it), so the
 * options particular to one command (check --resolver, advance --wait, tlsa --format...) are in
 * the page exactly as --help prints them.
 */
export function manPage(version: string, date: string, help: Record<string, string> = {}): string {
  const rows: readonly FlagRow[] = FLAGS;
  const out: string[] = [
    `.TH DANE\\-HOOK 1 "${date}" "dane\\-hook ${roff(version)}" "User Commands"`,
    '.SH NAME',
    'dane\\-hook \\- keep DANE TLSA records right while ACME certificates renew',
    '.SH SYNOPSIS',
    '.B dane\\-hook',
    '.I command',
    '[\\fIoptions\\fR]',
    '.SH DESCRIPTION',
    roff('dane-hook publishes the TLSA records of a renewed certificate, holds it back until its records are ready (served by every authoritative server for two TTLs), then withdraws stale records. It runs as a certbot, acme.sh, dehydrated or lego hook and from a timer (advance).'),
    '.SH COMMANDS',
  ];
  for (const [name, c] of Object.entries(COMMANDS)) out.push('.TP', `\\fB${roff(name)}\\fR`, `${roff(c.describe)}.`);
  out.push('.PP', roff('dane-hook COMMAND --help lists the options of one command, those particular to it included; the same text is under COMMAND HELP below.'));
  out.push('.SH OPTIONS', roff('The options of deploy, pre-renew, advance, status and check:'));
  for (const [group, title] of Object.entries(FLAG_GROUPS)) {
    out.push(`.SS "${roff(title.replace(/:$/, ''))}"`);
    for (const r of rows.filter((x) => x.group === group)) out.push(flagItem(r));
  }
  out.push('.TP', '\\fB\\-\\-verbose\\fR', 'Show stack traces and debug output.');
  out.push(
    '.SH CONFIGURATION',
    roff(`A JSON file, default ${DEFAULT_CONFIG_PATH} (or $DANE_HOOK_CONFIG, or --config FILE). Relative paths are taken from the file's directory; unknown keys are errors. Top-level keys: stateDir, dns, defaults (ttl, records, extraCa), services.`),
    '.TP',
    '\\fBservices[]\\fR',
    roff(`${SERVICE_KEYS.join(', ')}.`),
    '.TP',
    '\\fBservices[].lineages[]\\fR',
    roff(`${LINEAGE_KEYS.join(', ')}: several certificates on the same names, one per keyType (rsa, ecdsa), each staged in activateDir/KEYTYPE; the service then names no files itself.`),
    '.TP',
    '\\fBdns\\fR, \\fBservices[].dns\\fR',
    roff(`${DNS_KEYS.join(', ')}.`),
    '.PP',
    roff('Each key is described with the option that sets it above. Flags override the config: the DNS flags and --state-dir for every service, the service flags for the one named by --id (or the only one).'),
    '.SH "EXIT STATUS"',
  );
  for (const [code, text] of EXIT_MEANINGS) out.push('.TP', `\\fB${code}\\fR`, roff(text));
  out.push('.PP', roff('check exits with the monitoring-plugin codes instead:'));
  for (const [code, text] of CHECK_EXIT_MEANINGS) out.push('.TP', `\\fB${code}\\fR`, roff(text));
  const helped = Object.keys(COMMANDS).filter((name) => help[name]?.trim());
  if (helped.length > 0) {
    out.push('.SH "COMMAND HELP"');
    for (const name of helped) out.push(`.SS "${roff(name)}"`, '.nf', roff(help[name]!.trimEnd()), '.fi');
  }
  out.push('.SH FILES', '.TP', roff(DEFAULT_CONFIG_PATH), 'The config file.', '.TP', roff('/var/lib/dane-hook'), 'Rollover state, one directory per service.');
  out.push('.SH "SEE ALSO"', '\\fBnsupdate\\fR(1), \\fBcertbot\\fR(1), \\fBdehydrated\\fR(1)', '');
  return out.join('\n');
}
