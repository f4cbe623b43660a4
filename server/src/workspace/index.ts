// Node-side services shared by the CLI and the language server: workspace discovery, safe
// source reading, wasm location and whole-workspace checks.

export { discoverWorkspace, rustFiles, type CrateInfo, type WorkspaceModel, type DiscoverOptions } from './discover';
export { readConfig, emptyConfig, type LockLensConfig } from './config';
export { readSource, decodeSource, DEFAULT_MAX_FILE_BYTES, type SourceRead } from './source';
export { locateWasm, type WasmLocation } from './wasm';
export { checkWorkspace, getEngine, engineOptionsFor, relativeFile, type CheckResult, type CrateResult, type CheckOptions } from './check';
