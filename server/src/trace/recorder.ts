// Trace files (Node side): TraceRecorder writes a session as a trace file (header line, then one
// line per accepted message; format in docs/protocol.md, "Trace files"), loadTrace replays one into
// a fresh TraceModel. Trace files are as hostile as live streams: replay validates every record.

import * as fs from 'fs';
import { TraceModel, type TraceLimits } from '../analysis/trace/model';
import { parseTraceHeader, replayTraceLine, traceHeaderLine, traceRecordLine, type TraceHeader } from '../analysis/trace/tracefile';
import type { WireMessage } from '../analysis/trace/wire';
import { DEFAULT_LISTENER_OPTIONS, LineSplitter, type TraceListener } from './listener';

// ---------------------------------------------------------------------------
// Recording and replay

export interface RecorderOptions {
  /** Stop writing (and count the rest as skipped) past this size. */
  maxBytes: number;
}

/** Writes a session as a trace file: a header line, then one line per accepted message. */
export class TraceRecorder {
  private stream: fs.WriteStream;
  private bytes = 0;
  private failed: Error | undefined;
  /** Records not written because the file reached maxBytes. */
  skipped = 0;
  written = 0;
  private readonly opened: Promise<void>;

  constructor(
    readonly path: string,
    argv: string[],
    private opts: RecorderOptions = { maxBytes: 512 * 1024 * 1024 },
  ) {
    this.stream = fs.createWriteStream(path, { flags: 'w', mode: 0o600 });
    this.opened = new Promise((resolve, reject) => {
      this.stream.once('open', () => resolve());
      this.stream.once('error', (e) => {
        this.failed = e;
        reject(e);
      });
    });
    this.opened.catch(() => undefined);
    this.stream.on('error', (e) => (this.failed = e));
    this.write(traceHeaderLine(argv, Date.now()));
  }

  /** Resolves when the file is open; rejects if it cannot be created. */
  ready(): Promise<void> {
    return this.opened;
  }

  get error(): Error | undefined {
    return this.failed;
  }

  record(connection: number, msg: WireMessage): void {
    if (this.failed) return;
    if (this.bytes >= this.opts.maxBytes) {
      this.skipped++;
      return;
    }
    this.write(traceRecordLine(connection, msg));
    this.written++;
  }

  /** Attaches to a listener: every accepted message is recorded. */
  attach(listener: TraceListener): void {
    listener.on('message', (id: number, msg: WireMessage) => this.record(id, msg));
  }

  private write(line: string): void {
    const data = line + '\n';
    this.bytes += Buffer.byteLength(data);
    this.stream.write(data);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.stream.closed || this.stream.destroyed) return resolve();
      this.stream.end(() => resolve());
      this.stream.once('error', () => resolve());
    });
  }
}

export interface LoadedTrace {
  model: TraceModel;
  header: TraceHeader;
  /** Lines skipped for being longer than the limit. */
  overlong: number;
}

/** Replays a trace file into a fresh model. Rejects (with a readable message) if it is not a trace file. */
export function loadTrace(path: string, opts: { maxLineBytes?: number; limits?: Partial<TraceLimits> } = {}): Promise<LoadedTrace> {
  const model = new TraceModel(opts.limits);
  const maxLine = opts.maxLineBytes ?? DEFAULT_LISTENER_OPTIONS.maxLineBytes;
  return new Promise((resolve, reject) => {
    const input = fs.createReadStream(path, { highWaterMark: 256 * 1024 });
    let header: TraceHeader | undefined;
    let overlong = 0;
    let done = false;
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      input.destroy();
      reject(e);
    };
    const splitter = new LineSplitter(maxLine);
    const onLine = (text: string | undefined): boolean => {
      if (header === undefined) {
        const h = text === undefined ? 'not a LockLens trace file (not UTF-8)' : parseTraceHeader(text);
        if (typeof h === 'string') {
          fail(new Error(`${path}: ${h}`));
          return false;
        }
        header = h;
        return true;
      }
      if (text === undefined) model.reject('invalid UTF-8', 'trace record is not valid UTF-8');
      else if (text.length > 0) replayTraceLine(model, text);
      return true;
    };
    input.on('data', (chunk) => {
      if (done) return;
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      // An over-long record is skipped and counted, not fatal (an over-long header is).
      splitter.push(buf, onLine, () => {
        if (header === undefined) return fail(new Error(`${path}: not a LockLens trace file (first line too long)`));
        overlong++;
        model.reject('line too long', 'trace record longer than the limit');
      });
    });
    input.on('error', (e) => fail(new Error(`${path}: ${e.message}`)));
    input.on('end', () => {
      if (done) return;
      if (splitter.pending > 0) splitter.push(Buffer.from('\n'), onLine);
      if (done) return;
      done = true;
      if (header === undefined) return reject(new Error(`${path}: empty file, not a LockLens trace`));
      resolve({ model, header, overlong });
    });
  });
}
