// The config edge: what the CLI calls.
export { loadConfig, buildSettings, type ConfigResult, type BuildOptions } from './settings.js';
export type { FlagInput } from './flags.js';
export { findServices } from './match.js';
export { deriveId, DEFAULT_RECORDS } from './service.js';
export { throwIfErrors } from './context.js';
export * from './types.js';
export { lineageViews, shownId, matchesKeyType } from './lineages.js';
