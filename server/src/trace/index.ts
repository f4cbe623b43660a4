// The Node side of runtime tracing, shared by `locklens run` (server/src/cli/run.ts) and the
// VS Code Lock Panel (client/src/runtime/): the hook listener, trace files, site resolution.
// The plain-data trace model itself is server/src/analysis/trace/.

export { DEFAULT_LISTENER_OPTIONS, LineSplitter, TraceListener, type ListenerOptions, type ListenerStats } from './listener';
export { loadTrace, TraceRecorder, type LoadedTrace, type RecorderOptions } from './recorder';
export { resolveSites, siteRoots } from './sites';
