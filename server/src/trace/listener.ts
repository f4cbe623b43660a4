// The runtime hook's listener (Node side): a loopback TCP server that authenticates each
// connection by its first line (`hello` with the per-session token) and feeds the accepted
// messages to a TraceModel; and the line framing it (and trace-file replay) uses.
//
// Every byte from the debuggee is hostile: the listener binds 127.0.0.1 only, requires a `hello`
// with the session token as the first line within a deadline, caps line length (smaller before
// authentication), caps concurrent connections, decodes strictly (invalid UTF-8 and bad JSON
// are counted, not thrown) and never lets a connection's error reach the process.

import * as crypto from 'crypto';
import { EventEmitter } from 'events';
import * as net from 'net';
import type { TraceModel } from '../analysis/trace/model';
import { parseWireLine, type HelloMsg, type Validation, type WireMessage } from '../analysis/trace/wire';

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
