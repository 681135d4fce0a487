// The flags shared by deploy, pre-renew, advance and status (users write them into hook lines), and
// how they become settings: a config file, flags on top of it, or one service from flags alone.
// Everything is checked before any command runs: bad input never reaches DNS.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Argv, Options } from 'yargs';
import { FLAG_GROUPS, FLAGS, flagInput, SOURCE_KEYS, type FlagRow, type FlagValues } from '../config/flags.js';
import { buildSettings } from '../config/settings.js';
import { readJsonFile } from '../config/json.js';
import { throwIfErrors } from '../config/context.js';
import { DEFAULT_CONFIG_PATH, type CertSource, type GlobalSettings } from '../config/types.js';

export type ServiceArgs = FlagValues & { _: (string | number)[] };

// Repeatable flags: `--tlsa-name A --tlsa-name B`. Not yargs arrays, which would swallow the
// positional words that follow (dehydrated's deploy_cert arguments).
const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : ([] as unknown[]).concat(v).map(String));
const one = (v: unknown): string | undefined => (v === undefined ? undefined : Array.isArray(v) ? String(v[v.length - 1]) : String(v));

/** The yargs option for a row of the flag table. */
export function yargsOption(r: FlagRow): Options {
  const o: Options = { type: r.type, group: FLAG_GROUPS[r.group], describe: r.help };
  if (r.choices) o.choices = [...r.choices];
  else if (r.type === 'string') o.coerce = r.repeat ? list : one;
  if (r.alias) o.alias = r.alias;
  return o;
}

export function addServiceOptions<T>(y: Argv<T>): Argv<T & ServiceArgs> {
  // yargs cannot type options made from a table at run time: FlagValues is the same table, typed.
  return y.options(Object.fromEntries(FLAGS.map((r) => [r.flag, yargsOption(r)]))) as unknown as Argv<T & ServiceArgs>;
}

/** Certificate files named by flags (resolveCertFiles takes them first). */
export function sourceFromArgs(argv: Partial<ServiceArgs>): CertSource {
  const src: CertSource = {};
  for (const k of SOURCE_KEYS) if (argv[k] !== undefined) src[k] = argv[k];
  return src;
}

/**
 * The words after the command: dehydrated's `deploy_cert DOMAIN KEYFILE ...`, after `--` (where
 * hooks/dehydrated puts them) or not (`deploy [hook-args..]`: yargs keeps those apart).
 */
export function hookArgs(argv: Pick<ServiceArgs, '_'> & { 'hook-args'?: string[] }): string[] {
  return [...(argv['hook-args'] ?? []), ...argv._.slice(1)].map(String);
}

/** The config file to read: --config, else $DANE_HOOK_CONFIG, else the default path when it exists. */
export function configPath(argv: Partial<ServiceArgs>, env: NodeJS.ProcessEnv, defaultPath = DEFAULT_CONFIG_PATH): string | undefined {
  const given = argv.config ?? (env.DANE_HOOK_CONFIG || undefined);
  if (given !== undefined) return resolve(given);
  return existsSync(defaultPath) ? defaultPath : undefined;
}

export interface SettingsOptions {
  /** Without a config file, fail when the flags define no service (default true; status may pass false). */
  needService?: boolean;
  /** For tests: the path used when neither --config nor $DANE_HOOK_CONFIG is given. */
  defaultConfigPath?: string;
  cwd?: string;
}

/** Settings for a run; throws one UserError listing every problem (one line each). Warnings ride along. */
export function settingsFromArgs(argv: Partial<ServiceArgs>, env: NodeJS.ProcessEnv = process.env, options: SettingsOptions = {}): GlobalSettings {
  const file = configPath(argv, env, options.defaultConfigPath);
  const result = buildSettings({
    config: file === undefined ? undefined : { file, raw: readJsonFile(file) },
    flags: flagInput(argv),
    cwd: options.cwd,
    needService: options.needService,
  });
  throwIfErrors(result);
  return result.config!;
}
