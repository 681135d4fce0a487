// The yargs-free path for the commands hooks and timers run (deploy, pre-renew, advance, status):
// loading and evaluating yargs is about 100 ms of every run, as much as Node's own start. A plain
// call (the command word first, then known flags) is parsed here, from the same option tables the
// yargs builders use, into the argv yargs would make; anything else (--help, --version, an unknown
// or misspelt flag, a missing value, a value outside its choices, a negated or camelCase flag)
// returns undefined and goes to yargs, which answers it as it always did.
import type { Options } from 'yargs';
import { FLAGS, type FlagRow } from '../config/flags.js';

/** What a command gives main.ts for its fast path: its own options (beside the shared FLAGS). */
export interface FastCommand {
  /** The yargs options the command adds to the shared flags (its builder adds the same object). */
  options: Readonly<Record<string, Options>>;
  /** The name of its `[name..]` positional, when it takes words after the command. */
  positional?: string;
}

interface Spec {
  type: 'string' | 'boolean' | 'number';
  repeat?: boolean;
  choices?: readonly string[];
  alias?: string;
  default?: unknown;
}

/** Options every command has (main.ts declares them to yargs as global). */
const GLOBAL: Record<string, Spec> = { verbose: { type: 'boolean' } };

const fromRow = (r: FlagRow): Spec => ({ type: r.type, repeat: r.repeat, choices: r.choices, alias: r.alias });

function fromOptions(o: Options): Spec | undefined {
  if (o.type !== 'string' && o.type !== 'boolean' && o.type !== 'number') return undefined;
  // A command option with its own coerce, array or several aliases: yargs' reading of it is not copied here.
  if (o.coerce || o.array || (o.alias !== undefined && typeof o.alias !== 'string')) return undefined;
  return { type: o.type, choices: o.choices as readonly string[] | undefined, alias: o.alias as string | undefined, default: o.default };
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** A plain number as yargs reads one (no hex, exponent or leading '+': those go to yargs). */
const NUMBER = /^-?(?:\d+(?:\.\d+)?|\.\d+)$/;

/**
 * The argv yargs would give the command's handler for `words` (process.argv after node and the
 * script), or undefined when the call is not a plain one (see above).
 */
export function fastArgv(words: readonly string[], command: string, fast: FastCommand): Record<string, unknown> | undefined {
  if (words[0] !== command) return undefined;
  const specs = new Map<string, Spec>(Object.entries(GLOBAL));
  for (const r of FLAGS as readonly FlagRow[]) specs.set(r.flag, fromRow(r));
  for (const [flag, o] of Object.entries(fast.options)) {
    const s = fromOptions(o);
    if (!s) return undefined;
    specs.set(flag, s);
  }
  const byAlias = new Map([...specs].filter(([, s]) => s.alias).map(([flag, s]) => [`-${s.alias}`, flag]));

  const values = new Map<string, unknown>();
  const positional: string[] = [];
  const rest: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      rest.push(...words.slice(i + 1));
      break;
    }
    if (w === '-') return undefined; // yargs drops a lone dash
    if (!w.startsWith('-')) {
      positional.push(w);
      continue;
    }
    const eq = w.indexOf('=');
    const flag = byAlias.get(w) ?? (w.startsWith('--') ? w.slice(2, eq < 0 ? undefined : eq) : undefined);
    const spec = flag === undefined ? undefined : specs.get(flag);
    if (flag === undefined || spec === undefined) return undefined;
    let value: unknown;
    if (spec.type === 'boolean') {
      // `--force false`: yargs takes the next word as the flag's value, not as a word of its own.
      if (eq >= 0 || words[i + 1] === 'true' || words[i + 1] === 'false') return undefined;
      value = true;
    } else {
      const text = eq >= 0 && w.startsWith('--') ? w.slice(eq + 1) : words[++i];
      // No value, or one yargs would take for a flag of its own.
      if (text === undefined || (eq < 0 && text.startsWith('-'))) return undefined;
      if (spec.choices && !spec.choices.includes(text)) return undefined;
      if (spec.type === 'number' && !NUMBER.test(text)) return undefined;
      value = spec.type === 'number' ? Number(text) : text;
    }
    if (spec.repeat) values.set(flag, [...((values.get(flag) as string[] | undefined) ?? []), value]);
    else if (values.has(flag)) return undefined; // given twice: yargs' way with the second is left to it
    else values.set(flag, value);
  }
  if (positional.length > 0 && fast.positional === undefined) return undefined;

  const argv: Record<string, unknown> = { _: [command, ...rest] };
  const put = (flag: string, value: unknown) => {
    argv[flag] = value;
    argv[camel(flag)] = value;
    const alias = specs.get(flag)?.alias;
    if (alias) argv[alias] = value;
  };
  for (const [flag, s] of specs) if (s.default !== undefined) put(flag, s.default);
  for (const [flag, value] of values) put(flag, value);
  if (fast.positional !== undefined) put(fast.positional, positional);
  argv.$0 = 'dane-hook';
  return argv;
}
