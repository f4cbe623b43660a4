// `locklens run [--format text|json] [--record FILE] [--stall-ms N] [--timeout-s N] -- CMD ARGS...`
//
// Starts a loopback listener for the runtime hook (random port, per-session random token), runs
// the program with LOCKLENS_ENDPOINT/LOCKLENS_TOKEN set, folds the hook's stream into a
// TraceModel, prints live lines (contention, inversions, stalls, deadlocks) to stderr and a final
// report. On a deadlock it reports, ends the program's process group and exits 3; --timeout-s
// ends it with 124; otherwise it exits with the program's status.
//
// Also the Node side of traces: TraceListener (the socket), TraceRecorder (trace files) and
// loadTrace (replay), used by the VS Code panel. (They belong in server/src/trace/, but
// server/tsconfig.json does not include that folder yet: a composite project cannot import a
// file outside its `include` (TS6307). Once `"src/trace/**/*.ts"` is added there, the sections
// below move out unchanged.)
//
// Every byte from the debuggee is hostile: the listener binds 127.0.0.1 only, requires a `hello`
// with the session token as the first line within a deadline, caps line length (smaller before
// authentication), caps concurrent connections, decodes strictly (invalid UTF-8 and bad JSON
// are counted, not thrown) and never lets a connection's error reach the process.

import { spawn, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import { EventEmitter } from 'events';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { TraceModel, type TraceLimits } from '../analysis/trace/model';
import { buildReport, liveLine, reportText, type RunReport } from '../analysis/trace/report';
import { parseTraceHeader, replayTraceLine, traceHeaderLine, traceRecordLine, type TraceHeader } from '../analysis/trace/tracefile';
import { parseWireLine, type HelloMsg, type Validation, type WireMessage } from '../analysis/trace/wire';
import { parseArgs, oneOf, UsageError } from './args';

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

// ---------------------------------------------------------------------------
// Line framing

/** Splits a byte stream into lines of at most `max` bytes; never buffers more than `max`. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** Inside an over-long line that is being skipped (see `push`'s `overlong`). */
  private skipping = false;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(public max: number) {}

  /**
   * Feeds a chunk; calls `line` for every complete line (decoded text, or `undefined` when it is
   * not valid UTF-8). A line longer than the maximum stops everything (returns false) unless
   * `overlong` is given: then that line is skipped up to its newline and `overlong` is called.
   * Also returns false as soon as `line` does.
   */
  push(chunk: Buffer, line: (text: string | undefined) => boolean, overlong?: () => void): boolean {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl;
      if (this.skipping) {
        if (nl < 0) return true;
        this.skipping = false;
        start = nl + 1;
        continue;
      }
      if (this.size + (end - start) > this.max) {
        if (!overlong) return false;
        this.parts = [];
        this.size = 0;
        overlong();
        if (nl < 0) {
          this.skipping = true;
          return true;
        }
        start = nl + 1;
        continue;
      }
      if (nl < 0) {
        this.parts.push(chunk.subarray(start));
        this.size += chunk.length - start;
        return true;
      }
      let bytes = this.parts.length === 0 ? chunk.subarray(start, nl) : Buffer.concat([...this.parts, chunk.subarray(start, nl)]);
      this.parts = [];
      this.size = 0;
      start = nl + 1;
      if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
      let text: string | undefined;
      try {
        text = this.decoder.decode(bytes);
      } catch {
        text = undefined;
      }
      if (!line(text)) return false;
    }
    return true;
  }

  /** Bytes of an unfinished line. */
  get pending(): number {
    return this.size;
  }
}

// ---------------------------------------------------------------------------
// Listener

export interface ListenerOptions {
  /** Longest accepted line after the hello (bytes). */
  maxLineBytes: number;
  /** Longest accepted first line (the hello) from a connection that has not authenticated yet. */
  maxHelloBytes: number;
  /** A connection must send its hello within this time. */
  helloTimeoutMs: number;
  /** Connections open at once (authenticated or not); more are closed at once. */
  maxConnections: number;
  /** Session token (default: 32 random bytes, hex). */
  token?: string;
}

export const DEFAULT_LISTENER_OPTIONS: ListenerOptions = { maxLineBytes: 1024 * 1024, maxHelloBytes: 16 * 1024, helloTimeoutMs: 5000, maxConnections: 16 };

export interface ListenerStats {
  /** Connections taken in (within the limit). */
  accepted: number;
  /** Connections closed on arrival (over the limit, or not from loopback). */
  refused: number;
  /** Connections that sent a good hello. */
  authenticated: number;
  /** Connections closed, by reason (`no hello`, `bad token`, `line too long`, `eof`, ...). */
  closed: Record<string, number>;
  /** Lines received from authenticated connections. */
  lines: number;
  bytes: number;
}

interface Conn {
  id: number;
  socket: net.Socket;
  splitter: LineSplitter;
  hello?: HelloMsg;
  timer?: NodeJS.Timeout;
  closing: boolean;
}

/**
 * The runtime hook's listener: a TCP server on 127.0.0.1 (random port) that takes `hello` +
 * messages from hooks with the right token and feeds them to a TraceModel.
 *
 * Events: `connection` (id), `hello` (id, HelloMsg), `message` (id, WireMessage) for every accepted
 * message, `closed` (id, reason), `refused` (reason), `idle` (no connection open).
 */
export class TraceListener extends EventEmitter {
  readonly token: string;
  readonly opts: ListenerOptions;
  readonly stats: ListenerStats = { accepted: 0, refused: 0, authenticated: 0, closed: {}, lines: 0, bytes: 0 };
  private server: net.Server;
  private conns = new Map<number, Conn>();
  private nextId = 1;
  private tokenDigest: Buffer;
  private _port = 0;

  private constructor(
    readonly model: TraceModel,
    opts: Partial<ListenerOptions>,
  ) {
    super();
    this.opts = { ...DEFAULT_LISTENER_OPTIONS, ...opts };
    this.token = this.opts.token ?? crypto.randomBytes(32).toString('hex');
    this.tokenDigest = crypto.createHash('sha256').update(this.token, 'utf8').digest();
    this.server = net.createServer({ allowHalfOpen: false, pauseOnConnect: false }, (s) => this.onConnection(s));
    this.server.on('error', (e) => this.emit('server-error', e));
  }

  /** Starts listening on 127.0.0.1 at a random port. */
  static start(model: TraceModel, opts: Partial<ListenerOptions> = {}): Promise<TraceListener> {
    const l = new TraceListener(model, opts);
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      l.server.once('error', onError);
      l.server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        l.server.off('error', onError);
        const a = l.server.address();
        l._port = typeof a === 'object' && a ? a.port : 0;
        resolve(l);
      });
    });
  }

  get port(): number {
    return this._port;
  }

  /** The value for LOCKLENS_ENDPOINT. */
  get endpoint(): string {
    return `tcp://127.0.0.1:${this._port}`;
  }

  /** Connections open now. */
  get open(): number {
    return this.conns.size;
  }

  /** Resolves once no connection is open (at once if none is). */
  idle(): Promise<void> {
    if (this.conns.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.once('idle', () => resolve()));
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    for (const c of [...this.conns.values()]) this.drop(c, 'listener closed');
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private count(reason: string): void {
    const closed = this.stats.closed;
    if (!(reason in closed) && Object.keys(closed).length >= 32) reason = 'other';
    closed[reason] = (closed[reason] ?? 0) + 1;
  }

  private onConnection(socket: net.Socket): void {
    socket.on('error', () => undefined); // reported through 'close'; never thrown
    const remote = socket.remoteAddress ?? '';
    if (this.conns.size >= this.opts.maxConnections || !(remote === '127.0.0.1' || remote === '::ffff:127.0.0.1' || remote === '::1')) {
      this.stats.refused++;
      const why = this.conns.size >= this.opts.maxConnections ? 'too many connections' : 'not loopback';
      this.count(why);
      socket.destroy();
      this.emit('refused', why);
      return;
    }
    this.stats.accepted++;
    const c: Conn = { id: this.nextId++, socket, splitter: new LineSplitter(this.opts.maxHelloBytes), closing: false };
    this.conns.set(c.id, c);
    c.timer = setTimeout(() => this.drop(c, 'no hello'), this.opts.helloTimeoutMs);
    c.timer.unref?.();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(c, chunk));
    socket.on('end', () => this.drop(c, c.splitter.pending > 0 ? 'eof inside a line' : c.hello ? 'eof' : 'eof before hello'));
    socket.on('close', () => this.drop(c, c.hello ? 'eof' : 'closed before hello'));
    this.emit('connection', c.id);
  }

  private drop(c: Conn, reason: string): void {
    if (c.timer) clearTimeout(c.timer);
    c.timer = undefined;
    if (!this.conns.has(c.id)) return;
    this.conns.delete(c.id);
    c.closing = true;
    this.count(reason);
    c.socket.destroy();
    this.emit('closed', c.id, reason);
    if (this.conns.size === 0) this.emit('idle');
  }

  private onData(c: Conn, chunk: Buffer): void {
    if (c.closing) return;
    this.stats.bytes += chunk.length;
    const ok = c.splitter.push(chunk, (text) => this.onLine(c, text));
    if (!ok && !c.closing) this.drop(c, c.hello ? 'line too long' : 'hello too long');
  }

  /** Returns false to stop reading (the connection is being closed). */
  private onLine(c: Conn, text: string | undefined): boolean {
    if (c.closing) return false;
    if (!c.hello) {
      if (text === undefined) return this.drop(c, 'invalid UTF-8 before hello'), false;
      const v = parseWireLine(text, this.model.limits);
      if (!v.ok || v.msg.type !== 'hello') {
        this.drop(c, v.ok ? 'first line is not hello' : v.status === 'unsupported-version' ? 'unsupported version' : 'bad hello');
        return false;
      }
      const digest = crypto.createHash('sha256').update(v.msg.token, 'utf8').digest();
      if (!crypto.timingSafeEqual(digest, this.tokenDigest)) {
        this.drop(c, 'bad token');
        return false;
      }
      if (c.timer) clearTimeout(c.timer);
      c.timer = undefined;
      c.hello = v.msg;
      c.splitter.max = this.opts.maxLineBytes;
      this.stats.authenticated++;
      this.stats.lines++;
      this.model.ingestValidated(v, c.id);
      this.emit('hello', c.id, v.msg);
      this.emit('message', c.id, v.msg);
      return true;
    }
    this.stats.lines++;
    if (text === undefined) {
      this.model.reject('invalid UTF-8', `connection ${c.id}: a line is not valid UTF-8`);
      return true;
    }
    if (text.length === 0) return true;
    const v: Validation = parseWireLine(text, this.model.limits);
    this.model.ingestValidated(v, c.id);
    if (v.ok) this.emit('message', c.id, v.msg);
    return true;
  }
}

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

// ---------------------------------------------------------------------------
// locklens run

const SIGNALS = os.constants.signals as Record<string, number>;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function positiveNumber(args: ReturnType<typeof parseArgs>, name: string, integer: boolean): number | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)) || n > 1e9) throw new UsageError(`--${name} must be a positive ${integer ? 'whole ' : ''}number`);
  return n;
}

/**
 * Where rustc's relative paths may start: the working directory and, for `cargo ... --manifest-path
 * X`, X's folder (rustc reports paths relative to the package, or to the workspace root).
 */
export function siteRoots(command: string[], cwd = process.cwd()): string[] {
  const roots = [cwd];
  // a cargo-built binary run directly: PKG/target/PROFILE/[examples|deps/]NAME -> PKG
  const bin = command[0] ? path.resolve(cwd, command[0]) : '';
  const m = /^(.*)[\\/]target[\\/][^\\/]+[\\/](?:(?:examples|deps)[\\/])?[^\\/]+$/.exec(bin);
  if (m) roots.push(m[1]);
  for (let i = 0; i < command.length; i++) {
    const a = command[i];
    const v = a === '--manifest-path' ? command[i + 1] : a.startsWith('--manifest-path=') ? a.slice('--manifest-path='.length) : undefined;
    if (v) roots.push(path.dirname(path.resolve(cwd, v)));
  }
  return roots;
}

/** Adds `path` (absolute, existing file) to every site of the report whose file can be found under `roots`. */
export function resolveSites(report: RunReport, roots: string[]): void {
  const cache = new Map<string, string | null>();
  const find = (file: string): string | null => {
    let hit = cache.get(file);
    if (hit !== undefined) return hit;
    hit = null;
    if (cache.size < 10_000 && file.length < 4096 && !file.includes('\0')) {
      const candidates = path.isAbsolute(file) ? [file] : roots.map((r) => path.resolve(r, file));
      for (const c of candidates) {
        try {
          if (fs.statSync(c).isFile()) {
            hit = c;
            break;
          }
        } catch {
          // not there
        }
      }
    }
    cache.set(file, hit);
    return hit;
  };
  const walk = (v: unknown, depth: number): void => {
    if (depth > 12 || typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
      return;
    }
    const o = v as Record<string, unknown>;
    if (typeof o.file === 'string' && typeof o.line === 'number' && typeof o.col === 'number') {
      const p = find(o.file);
      if (p) o.path = p;
      return;
    }
    for (const [k, x] of Object.entries(o)) if (k !== 'stream') walk(x, depth + 1);
  };
  walk(report, 0);
}

export interface RunOptions {
  /** Extra environment for the program (tests). */
  env?: NodeJS.ProcessEnv;
  /** Listener settings (tests). */
  listener?: Partial<ListenerOptions>;
}

export async function runCommand(argv: string[], out: Out, options: RunOptions = {}): Promise<number> {
  const args = parseArgs(argv, { format: true, record: true, 'stall-ms': true, 'timeout-s': true });
  const format = oneOf(args, 'format', ['text', 'json'] as const, 'text');
  const stallMs = positiveNumber(args, 'stall-ms', true);
  const timeoutS = positiveNumber(args, 'timeout-s', false);
  const recordPath = args.flags.get('record');
  if (recordPath === true) throw new UsageError('--record needs a file name');
  if (args.positionals.length > 0) throw new UsageError(`unexpected '${args.positionals[0]}': put the program after --, as in: locklens run -- cargo run`);
  const command = args.rest;
  if (command.length === 0) throw new UsageError('missing the program to run after --');

  const model = new TraceModel();
  const listener = await TraceListener.start(model, options.listener);
  let recorder: TraceRecorder | undefined;
  if (typeof recordPath === 'string') {
    recorder = new TraceRecorder(recordPath, command);
    try {
      await recorder.ready();
    } catch (e) {
      await listener.close();
      out.stderr(`locklens: cannot write ${recordPath}: ${(e as Error).message}\n`);
      return 2;
    }
    recorder.attach(listener);
  }

  const started = Date.now();
  let outcome: RunReport['outcome'] = 'exited';
  let child: ChildProcess | undefined;
  let stopTimer: NodeJS.Timeout | undefined;
  let pendingDeadlockPid: number | undefined;

  const stopForDeadlock = () => {
    if (stopTimer) clearTimeout(stopTimer);
    stopTimer = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      out.stderr(`locklens: deadlock: ending ${command[0]} (pid ${child.pid}) and its process group\n`);
      killGroup(child, 'SIGKILL');
    }
  };

  // Live lines, with a budget per kind so that a storm does not bury the program's own output.
  const budget: Record<string, number> = { contention: 20, stall: 50, inversion: 50, 'order-cycle': 20, deadlock: 20 };
  model.onEvent((e) => {
    const line = liveLine(model, e);
    if (line && budget[e.kind] !== undefined) {
      const left = budget[e.kind]--;
      if (left > 0) out.stderr(line + '\n');
      else if (left === 0) out.stderr(`locklens: (further ${e.kind} lines are left for the final report)\n`);
    }
    if (e.kind === 'deadlock' && outcome === 'exited' && !e.msg.cycle.some((n) => n.timed)) {
      outcome = 'deadlock';
      pendingDeadlockPid = model.processes.get(e.process)?.pid;
      // Let the next snapshot (≤ snapshot_ms) bring the final counters, then end the program.
      stopTimer = setTimeout(stopForDeadlock, 1000);
    } else if (e.kind === 'snapshot' && pendingDeadlockPid !== undefined && model.processes.get(e.process)?.pid === pendingDeadlockPid) {
      pendingDeadlockPid = undefined;
      stopForDeadlock();
    }
  });

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    LOCKLENS_ENDPOINT: listener.endpoint,
    LOCKLENS_TOKEN: listener.token,
    // `run` ends the program itself once the report is in; a user's explicit `abort` is kept.
    LOCKLENS_ON_DEADLOCK: options.env?.LOCKLENS_ON_DEADLOCK ?? process.env.LOCKLENS_ON_DEADLOCK ?? 'report',
  };
  if (stallMs !== undefined) env.LOCKLENS_STALL_MS = String(stallMs);

  const signalHandlers: Array<[NodeJS.Signals, () => void]> = [];
  let timeoutTimer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  // The program is in its own group: pass on what the terminal sends to ours. Installed before
  // spawning: the program can run (and the user press Ctrl-C) before spawn() returns, and a
  // signal without a handler would end locklens and leave the program behind.
  let signalled = 0;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as NodeJS.Signals[]) {
    // a second one (a program that ignores the first) ends the group for good
    const h = () => {
      const now: NodeJS.Signals = ++signalled > 1 ? 'SIGKILL' : sig;
      out.stderr(now === 'SIGKILL' ? `locklens: ${sig} again: killing ${command[0]} (SIGKILL)\n` : `locklens: passing ${sig} to ${command[0]} (send it again to kill it)\n`);
      // (the handler runs after spawn() has returned, so `child` is set unless spawning failed)
      if (child) killGroup(child, now);
    };
    process.on(sig, h);
    signalHandlers.push([sig, h]);
  }
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    let settled = false;
    const settle = (r: { code: number | null; signal: NodeJS.Signals | null; error?: Error }) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    try {
      child = spawn(command[0], command.slice(1), {
        env,
        // Own process group, so that a deadlock or timeout ends the program and its children
        // (`cargo run` -> the binary). A background group must not read the terminal.
        detached: true,
        stdio: [process.stdin.isTTY ? 'ignore' : 'inherit', format === 'json' ? 'pipe' : 'inherit', 'inherit'],
      });
    } catch (e) {
      settle({ code: null, signal: null, error: e as Error });
      return;
    }
    const c = child;
    if (c.stdout) c.stdout.on('data', (d: Buffer) => out.stderr(d.toString('utf8')));
    c.once('error', (e) => settle({ code: null, signal: null, error: e }));
    c.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      if (!c.stdout) return settle({ code, signal });
      // Let piped output drain, but not forever: a daemon may have kept the pipe.
      const t = setTimeout(() => settle({ code, signal }), 2000);
      c.once('close', () => {
        clearTimeout(t);
        settle({ code, signal });
      });
    });
    // The program is in its own group: pass on what the terminal sends to ours.
    if (timeoutS !== undefined) {
      timeoutTimer = setTimeout(() => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        if (outcome === 'exited') outcome = 'timeout';
        out.stderr(`locklens: timeout: ${command[0]} still running after ${timeoutS} s, ending it\n`);
        killGroup(c, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(c, 'SIGKILL'), 2000);
      }, timeoutS * 1000);
    }
  });
  for (const [sig, h] of signalHandlers) process.off(sig, h);
  if (timeoutTimer) clearTimeout(timeoutTimer);
  if (killTimer) clearTimeout(killTimer);
  return finish(result);

  async function finish(r: { code: number | null; signal: NodeJS.Signals | null; error?: Error }): Promise<number> {
    if (stopTimer) clearTimeout(stopTimer);
    if (r.error) outcome = 'spawn-error';
    // The hook's socket closes with the process; give stragglers (children that inherited the
    // environment) a bounded moment.
    await Promise.race([listener.idle(), new Promise<void>((res) => setTimeout(res, 2000).unref())]);
    await listener.close();
    if (recorder) await recorder.close();
    let code: number;
    if (outcome === 'spawn-error') code = (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 127 : 126;
    else if (outcome === 'deadlock') code = 3;
    else if (outcome === 'timeout') code = 124;
    else code = r.code ?? (r.signal ? 128 + (SIGNALS[r.signal] ?? 0) : 1);
    if (r.error) out.stderr(`locklens: cannot run ${command[0]}: ${r.error.message}\n`);
    const report = buildReport(model, {
      argv: command,
      exitCode: r.code,
      signal: r.signal,
      durationMs: Date.now() - started,
      outcome,
      runExitCode: code,
      connections: { accepted: listener.stats.accepted, refused: listener.stats.refused, closed: listener.stats.closed },
    });
    resolveSites(report, siteRoots(command));
    if (format === 'json') out.stdout(JSON.stringify(report) + '\n');
    else
      out.stderr(
        reportText(report, {
          // clickable from the terminal: the resolved file relative to here when it is below here
          siteFile: (s) => {
            if (!s.path) return s.file;
            const rel = path.relative(process.cwd(), s.path);
            return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : s.path;
          },
        }),
      );
    if (recorder) out.stderr(`locklens: trace recorded to ${recorder.path} (${recorder.written} messages${recorder.skipped ? `, ${recorder.skipped} skipped: file size limit` : ''})\n`);
    return code;
  }
}

