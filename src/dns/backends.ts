// The DNS backends, one row each: its name, whether it changes DNS itself, the settings that choose
// it when no backend is named, the settings it needs, and a loader. Adding a provider is one module
// plus one row here. A backend's module is loaded only when a change is applied, so `check` and
// `status`, which only observe, never load one.
import type { Backend, BackendName, BackendSettings, EmitSink } from './types.js';

export interface Need {
  key: keyof BackendSettings;
  /** What the setting is for, said when it is missing. */
  why: string;
  /** Checked only when the backend is built, not when the config is read (an older rule kept as it was). */
  atBuild?: true;
}

export type BackendFactory = (settings: BackendSettings, emitted: EmitSink) => Backend;

export interface BackendRow {
  readonly name: BackendName;
  /** True when apply() changes DNS itself; false for emit (a person applies the printed plan). */
  readonly applies: boolean;
  /** True when its module sends the changes of many services in few messages (applyGroups). */
  readonly batches?: true;
  /** With no backend named, the first row one of whose settings is given is chosen. */
  readonly impliedBy: readonly (keyof BackendSettings)[];
  /** Missing one is an error that names its setting. */
  readonly needs: readonly Need[];
  /** Missing one is a warning. */
  readonly advises: readonly Need[];
  readonly load: () => Promise<BackendFactory>;
}

// Order matters for impliedBy: a command means exec, an API URL powerdns, a server or key nsupdate.
export const BACKENDS: readonly BackendRow[] = [
  {
    name: 'exec',
    applies: true,
    impliedBy: ['command'],
    needs: [{ key: 'command', why: 'the exec backend runs this command per record change' }],
    advises: [],
    load: async () => {
      const { execBackend } = await import('./exec.js');
      return (s) => execBackend({ command: s.command! });
    },
  },
  {
    name: 'powerdns',
    applies: true,
    impliedBy: ['apiUrl'],
    needs: [
      { key: 'apiUrl', why: 'the powerdns backend sends changes to this API URL' },
      { key: 'apiKeyFile', why: 'the powerdns backend needs the file holding the API key' },
    ],
    advises: [],
    load: async () => {
      const { powerdnsBackend } = await import('./powerdns.js');
      return (s) => powerdnsBackend({ apiUrl: s.apiUrl!, apiKeyFile: s.apiKeyFile! });
    },
  },
  {
    name: 'nsupdate',
    applies: true,
    batches: true,
    impliedBy: ['server', 'tsigKeyFile'],
    needs: [{ key: 'server', why: 'where nsupdate sends updates', atBuild: true }],
    advises: [{ key: 'tsigKeyFile', why: 'nsupdate will send unsigned updates (fine only for an IP-restricted server)' }],
    load: async () => {
      const { nsupdateBackend } = await import('./nsupdate.js');
      return (s) => nsupdateBackend({ server: s.server!, tsigKeyFile: s.tsigKeyFile });
    },
  },
  {
    name: 'emit',
    applies: false,
    impliedBy: [],
    needs: [],
    advises: [],
    load: async () => {
      const { emitBackend } = await import('./emit.js');
      return (_s, emitted) => emitBackend(emitted);
    },
  },
];

export function backendRow(name: BackendName): BackendRow {
  const row = BACKENDS.find((b) => b.name === name);
  if (!row) throw new Error(`no DNS backend row for "${name}"`);
  return row;
}

/** The backend a set of DNS settings means when none is named; undefined when none of them is given. */
export function impliedBackend(given: Partial<BackendSettings>): BackendName | undefined {
  return BACKENDS.find((b) => b.impliedBy.some((k) => given[k] !== undefined))?.name;
}

/** The needs of a backend that the settings leave unmet (atBuild ones only when `building`). */
export function unmetNeeds(row: BackendRow, settings: Partial<BackendSettings>, building: boolean): Need[] {
  return row.needs.filter((n) => (building || !n.atBuild) && settings[n.key] === undefined);
}

/**
 * A backend for these settings whose module is loaded at its first apply. Throws `missing(need)`
 * for an unmet need at once, before anything runs.
 */
export function lazyBackend(settings: BackendSettings & { backend: BackendName }, emitted: EmitSink, missing: (row: BackendRow, need: Need) => Error): Backend {
  const row = backendRow(settings.backend);
  const unmet = unmetNeeds(row, settings, true)[0];
  if (unmet) throw missing(row, unmet);
  let built: Promise<Backend> | undefined;
  const load = () => (built ??= row.load().then((make) => make(settings, emitted)));
  const backend: Backend = {
    name: row.name,
    applies: row.applies,
    async apply(changes, options) {
      return (await load()).apply(changes, options);
    },
  };
  // Said by the row, not found out by loading: the engine groups services before anything loads.
  if (row.batches) {
    backend.applyGroups = async (groups, options) => {
      const b = await load();
      if (!b.applyGroups) throw new Error(`the ${row.name} backend row says it batches but its module has no applyGroups`);
      return b.applyGroups(groups, options);
    };
    // Loaded even when this service's copy sent nothing: a batch sends the changes of many
    // services through one of their backends, and what is pending is kept per zone, not per copy.
    backend.settled = async (zone) => (await load()).settled?.(zone);
  }
  return backend;
}
