// The config edge: what the CLI calls.
export { loadConfig, buildSettings, FLAG_OF, type ConfigResult, type FlagInput, type BuildOptions } from './settings.js';
export { findServices } from './match.js';
export { deriveId, DEFAULT_RECORDS } from './service.js';
export { throwIfErrors } from './context.js';
export * from './types.js';
