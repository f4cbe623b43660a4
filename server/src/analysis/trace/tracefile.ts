// Recorded trace files: newline-delimited JSON, a header line, then one record per accepted
// message: `{"c":CONNECTION,"m":MESSAGE}`. The hello's token is replaced before it is written,
// so a trace file never carries a session secret. Plain data: the file I/O is in server/src/trace.

import type { TraceModel } from './model';

export const TRACE_FORMAT = 'locklens-trace';
export const TRACE_VERSION = 1;
export const REDACTED_TOKEN = '<redacted>';

export interface TraceHeader {
  format: typeof TRACE_FORMAT;
  version: number;
  /** Wall-clock time (Unix ms) the recording started. */
  created_unix_ms: number;
  /** What was recorded (the command line for `locklens run`). */
  argv: string[];
}

export function traceHeaderLine(argv: string[], createdUnixMs: number): string {
  const h: TraceHeader = { format: TRACE_FORMAT, version: TRACE_VERSION, created_unix_ms: createdUnixMs, argv };
  return JSON.stringify(h);
}

/** One record line for a validated message (token redacted). */
export function traceRecordLine(connection: number, msg: { type: string }): string {
  const m = msg.type === 'hello' ? { ...msg, token: REDACTED_TOKEN } : msg;
  return JSON.stringify({ c: connection, m });
}

export function parseTraceHeader(line: string): TraceHeader | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'the first line is not JSON: not a LockLens trace file';
  }
  if (typeof v !== 'object' || v === null) return 'not a LockLens trace file';
  const h = v as Partial<TraceHeader>;
  if (h.format !== TRACE_FORMAT) return 'not a LockLens trace file (no locklens-trace header)';
  if (h.version !== TRACE_VERSION) return `trace file version ${String(h.version)} is not supported (this LockLens reads version ${TRACE_VERSION})`;
  return {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    created_unix_ms: typeof h.created_unix_ms === 'number' ? h.created_unix_ms : 0,
    argv: Array.isArray(h.argv) ? h.argv.filter((a): a is string => typeof a === 'string').slice(0, 1000) : [],
  };
}

/** Feeds one record line of a trace file into a model (records are re-validated: files are input too). */
export function replayTraceLine(model: TraceModel, line: string): void {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    model.reject('not JSON', 'trace record is not JSON');
    return;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !('m' in v)) {
    model.reject('bad trace record', 'trace record without "m"');
    return;
  }
  const r = v as { c?: unknown; m: unknown };
  const c = typeof r.c === 'number' && Number.isInteger(r.c) ? r.c : 0;
  model.ingestValue(r.m, c);
}
