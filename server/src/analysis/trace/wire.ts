// Runtime hook wire format, version 1 (docs/protocol.md, "Runtime hook wire format"): the
// TypeScript types of every message and a validator that never throws.
//
// Every byte comes from the debuggee, so the validator treats its input as hostile: it checks
// each field's type, copies only the fields it knows (unknown ones are listed, not kept), caps
// strings and arrays, and turns anything malformed into a rejection with a reason. The schema
// below is data, so the wire agreement test (test/unit/trace-wire.test.ts) can check that it
// covers exactly what the Rust side emits.

export const WIRE_VERSION = 1;
export const WIRE_PROTOCOL = 'locklens-hook';

export const LOCK_KINDS = ['std.mutex', 'std.rwlock', 'parking_lot.mutex', 'parking_lot.rwlock', 'parking_lot.reentrant_mutex', 'tokio.mutex', 'tokio.rwlock'] as const;
export type LockKind = (typeof LOCK_KINDS)[number];
export const MODES = ['mutex', 'read', 'write', 'upgradable', 'reentrant'] as const;
export type Mode = (typeof MODES)[number];

export interface Site {
  file: string;
  line: number;
  col: number;
}
export interface ClassRef {
  id: number;
  /** One of LOCK_KINDS; a kind this version does not know is kept as sent (and reported as unknown). */
  kind: LockKind | string;
  name: string | null;
  created: Site;
}
export interface LockRef {
  id: number;
  class: ClassRef;
}
export interface ThreadRef {
  id: number;
  name: string | null;
  os_tid: number | null;
}
export interface Holder {
  thread: ThreadRef;
  mode: Mode | string;
  site: Site;
  since_ms: number;
}
export interface LastAcquire {
  thread: ThreadRef;
  mode: Mode | string;
  site: Site;
}
export interface HelloConfig {
  stall_ms: number;
  snapshot_ms: number;
  sample_every: number;
  on_deadlock: 'report' | 'abort' | string;
  queue_capacity: number;
}
export interface HelloMsg {
  v: 1;
  type: 'hello';
  protocol: string;
  token: string;
  pid: number;
  program: string;
  start_unix_ms: number;
  config: HelloConfig;
}
export interface WaitMsg {
  v: 1;
  type: 'wait';
  t_ms: number;
  thread: ThreadRef;
  lock: LockRef;
  mode: Mode | string;
  site: Site;
  timed: boolean;
  holders: Holder[];
  last: LastAcquire | null;
}
export interface EdgeEnd {
  lock: LockRef;
  mode: Mode | string;
  site: Site;
}
export interface EdgeMsg {
  v: 1;
  type: 'edge';
  t_ms: number;
  thread: ThreadRef;
  from: EdgeEnd;
  to: EdgeEnd;
}
export interface OrderCycleEdge {
  t_ms: number;
  thread: ThreadRef;
  from: EdgeEnd;
  to: EdgeEnd;
}
/** The class graph of `edge`s has a cycle (sent by newer hooks; the last edge closed it). */
export interface OrderCycleMsg {
  v: 1;
  type: 'order_cycle';
  t_ms: number;
  edges: OrderCycleEdge[];
}
export interface Held {
  lock: LockRef;
  mode: Mode | string;
  site: Site;
  since_ms: number;
}
export interface CycleNode {
  thread: ThreadRef;
  waits_for: LockRef;
  mode: Mode | string;
  site: Site;
  timed: boolean;
  wait_since_ms: number;
  held_by: number[];
  holds: Held[];
  backtrace: string | null;
}
export interface DeadlockMsg {
  v: 1;
  type: 'deadlock';
  t_ms: number;
  action: 'report' | 'abort' | string;
  cycle: CycleNode[];
}
export interface StallMsg {
  v: 1;
  type: 'stall';
  t_ms: number;
  thread: ThreadRef;
  lock: LockRef;
  mode: Mode | string;
  site: Site;
  waited_ms: number;
  holders: Holder[];
  last: LastAcquire | null;
}
export interface SnapshotEntry {
  class: ClassRef;
  site: Site;
  mode: Mode | string;
  acquisitions: number;
  contended: number;
  try_failed: number;
  wait_ns_total: number;
  wait_ns_max: number;
  hold_samples: number;
  hold_ns_total: number;
  hold_ns_max: number;
}
/** A lock held at snapshot time. */
export interface SnapshotHolder {
  thread: ThreadRef;
  lock: LockRef;
  mode: Mode | string;
  site: Site;
  since_ms: number;
}
export interface SnapshotMsg {
  v: 1;
  type: 'snapshot';
  t_ms: number;
  seq: number;
  threads: number;
  dropped: number;
  entries: SnapshotEntry[];
  /** Every (std/parking_lot) lock held at `t_ms`; absent from hooks older than the field. */
  holders?: SnapshotHolder[];
}

export type WireMessage = HelloMsg | WaitMsg | EdgeMsg | OrderCycleMsg | DeadlockMsg | StallMsg | SnapshotMsg;
export type WireType = WireMessage['type'];

// ---------------------------------------------------------------------------
// Schema

/** Caps applied while validating (a message over a cap is truncated and counted, not rejected). */
export interface WireLimits {
  /** Longest kept string (file paths, names, program); longer ones are cut. */
  maxString: number;
  /** Longest kept backtrace. */
  maxBacktrace: number;
  /** Longest kept array (holders, cycle nodes, held locks, snapshot entries, ...). */
  maxArray: number;
}

export const DEFAULT_WIRE_LIMITS: WireLimits = { maxString: 4096, maxBacktrace: 64 * 1024, maxArray: 4096 };

type Spec =
  | { t: 'uint' }
  | { t: 'bool' }
  | { t: 'string'; long?: boolean }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'const'; value: string | number }
  | { t: 'nullable'; of: Spec }
  | { t: 'array'; of: Spec }
  | { t: 'object'; fields: Record<string, Spec> }
  /** A field added after its message type was published: may be missing. */
  | { t: 'optional'; of: Spec };

const uint: Spec = { t: 'uint' };
const bool: Spec = { t: 'bool' };
const str: Spec = { t: 'string' };
const nullable = (of: Spec): Spec => ({ t: 'nullable', of });
const array = (of: Spec): Spec => ({ t: 'array', of });
const object = (fields: Record<string, Spec>): Spec => ({ t: 'object', fields });
const optional = (of: Spec): Spec => ({ t: 'optional', of });
const mode: Spec = { t: 'enum', values: MODES };

const site = object({ file: str, line: uint, col: uint });
const classRef = object({ id: uint, kind: { t: 'enum', values: LOCK_KINDS }, name: nullable(str), created: site });
const lockRef = object({ id: uint, class: classRef });
const threadRef = object({ id: uint, name: nullable(str), os_tid: nullable(uint) });
const holder = object({ thread: threadRef, mode, site, since_ms: uint });
const last = object({ thread: threadRef, mode, site });
const edgeEnd = object({ lock: lockRef, mode, site });
const head = (type: string) => ({ v: { t: 'const', value: WIRE_VERSION } as Spec, type: { t: 'const', value: type } as Spec });

/** Every message type this version understands, field by field. */
export const MESSAGE_SCHEMAS: Record<WireType, Spec> = {
  hello: object({
    ...head('hello'),
    protocol: { t: 'const', value: WIRE_PROTOCOL },
    token: str,
    pid: uint,
    program: str,
    start_unix_ms: uint,
    config: object({ stall_ms: uint, snapshot_ms: uint, sample_every: uint, on_deadlock: { t: 'enum', values: ['report', 'abort'] }, queue_capacity: uint }),
  }),
  wait: object({ ...head('wait'), t_ms: uint, thread: threadRef, lock: lockRef, mode, site, timed: bool, holders: array(holder), last: nullable(last) }),
  edge: object({ ...head('edge'), t_ms: uint, thread: threadRef, from: edgeEnd, to: edgeEnd }),
  order_cycle: object({ ...head('order_cycle'), t_ms: uint, edges: array(object({ t_ms: uint, thread: threadRef, from: edgeEnd, to: edgeEnd })) }),
  deadlock: object({
    ...head('deadlock'),
    t_ms: uint,
    action: { t: 'enum', values: ['report', 'abort'] },
    cycle: array(
      object({
        thread: threadRef,
        waits_for: lockRef,
        mode,
        site,
        timed: bool,
        wait_since_ms: uint,
        held_by: array(uint),
        holds: array(object({ lock: lockRef, mode, site, since_ms: uint })),
        backtrace: nullable({ t: 'string', long: true }),
      }),
    ),
  }),
  stall: object({ ...head('stall'), t_ms: uint, thread: threadRef, lock: lockRef, mode, site, waited_ms: uint, holders: array(holder), last: nullable(last) }),
  snapshot: object({
    ...head('snapshot'),
    t_ms: uint,
    seq: uint,
    threads: uint,
    dropped: uint,
    entries: array(
      object({
        class: classRef,
        site,
        mode,
        acquisitions: uint,
        contended: uint,
        try_failed: uint,
        wait_ns_total: uint,
        wait_ns_max: uint,
        hold_samples: uint,
        hold_ns_total: uint,
        hold_ns_max: uint,
      }),
    ),
    holders: optional(array(object({ thread: threadRef, lock: lockRef, mode, site, since_ms: uint }))),
  }),
};

export const WIRE_TYPES = Object.keys(MESSAGE_SCHEMAS) as WireType[];

// ---------------------------------------------------------------------------
// Validation

export type Validation =
  | {
      ok: true;
      msg: WireMessage;
      /** Fields and enum values this version does not know (kept out of `msg`), as paths: `cycle[0].extra`, `lock.class.kind="std.condvar"`. */
      unknown: string[];
      /** Strings and arrays cut to the limits, as paths. */
      truncated: string[];
    }
  | {
      ok: false;
      /** `unknown` for a message type this version does not know (to be ignored, per the protocol); `invalid` otherwise. */
      status: 'invalid' | 'unknown-type' | 'unsupported-version';
      /** A short, stable reason (`missing field`, `wrong type`, ...) for counting. */
      reason: string;
      /** Where, for a human: `holders[1].since_ms: expected an unsigned integer`. */
      detail: string;
      /** The message's `type` when it was a short string. */
      type?: string;
    };

class Invalid {
  constructor(
    readonly reason: string,
    readonly detail: string,
  ) {}
}

interface Ctx {
  limits: WireLimits;
  unknown: string[];
  truncated: string[];
}

const MAX_REPORTED_PATHS = 32;

function note(list: string[], path: string): void {
  if (list.length < MAX_REPORTED_PATHS) list.push(path);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : typeof v;
}

function check(spec: Spec, v: unknown, path: string, ctx: Ctx): unknown {
  switch (spec.t) {
    case 'uint':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Invalid('wrong type', `${path}: expected an unsigned integer, got ${typeof v === 'number' ? String(v) : describe(v)}`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new Invalid('wrong type', `${path}: expected a boolean, got ${describe(v)}`);
      return v;
    case 'string': {
      if (typeof v !== 'string') throw new Invalid('wrong type', `${path}: expected a string, got ${describe(v)}`);
      const max = spec.long ? ctx.limits.maxBacktrace : ctx.limits.maxString;
      if (v.length > max) {
        note(ctx.truncated, path);
        return v.slice(0, max) + '…';
      }
      return v;
    }
    case 'enum':
      if (typeof v !== 'string') throw new Invalid('wrong type', `${path}: expected a string, got ${describe(v)}`);
      if (!spec.values.includes(v)) {
        // New lock kinds and modes may appear without a version bump: keep the (capped) value, flag it.
        note(ctx.unknown, `${path}=${JSON.stringify(v.slice(0, 64))}`);
        return v.length > 64 ? v.slice(0, 64) : v;
      }
      return v;
    case 'const':
      if (v !== spec.value) throw new Invalid('wrong value', `${path}: expected ${JSON.stringify(spec.value)}, got ${typeof v === 'string' || typeof v === 'number' ? JSON.stringify(v).slice(0, 64) : describe(v)}`);
      return v;
    case 'nullable':
      return v === null ? null : check(spec.of, v, path, ctx);
    case 'optional':
      // only reached for a present field (see 'object')
      return check(spec.of, v, path, ctx);
    case 'array': {
      if (!Array.isArray(v)) throw new Invalid('wrong type', `${path}: expected an array, got ${describe(v)}`);
      const n = Math.min(v.length, ctx.limits.maxArray);
      if (v.length > n) note(ctx.truncated, `${path}[${n}..${v.length}]`);
      const out: unknown[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = check(spec.of, v[i], `${path}[${i}]`, ctx);
      return out;
    }
    case 'object': {
      if (!isPlainObject(v)) throw new Invalid('wrong type', `${path || 'message'}: expected an object, got ${describe(v)}`);
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(spec.fields)) {
        if (!Object.prototype.hasOwnProperty.call(v, k)) {
          if (spec.fields[k].t === 'optional') continue;
          throw new Invalid('missing field', `${path ? path + '.' : ''}${k}: missing`);
        }
        out[k] = check(spec.fields[k], v[k], path ? `${path}.${k}` : k, ctx);
      }
      for (const k of Object.keys(v)) {
        if (!Object.prototype.hasOwnProperty.call(spec.fields, k)) note(ctx.unknown, path ? `${path}.${k.slice(0, 64)}` : k.slice(0, 64));
      }
      return out;
    }
  }
}

/** Validates one parsed JSON value as a wire message. Never throws. */
export function validateMessage(value: unknown, limits: WireLimits = DEFAULT_WIRE_LIMITS): Validation {
  try {
    if (!isPlainObject(value)) return { ok: false, status: 'invalid', reason: 'not an object', detail: `message: expected an object, got ${describe(value)}` };
    const v = value.v;
    const type = typeof value.type === 'string' && value.type.length <= 64 ? value.type : undefined;
    if (v !== WIRE_VERSION) {
      if (typeof v === 'number') return { ok: false, status: 'unsupported-version', reason: 'unsupported version', detail: `v: this listener speaks version ${WIRE_VERSION}, got ${v}`, type };
      return { ok: false, status: 'invalid', reason: v === undefined ? 'missing field' : 'wrong type', detail: v === undefined ? 'v: missing' : `v: expected a number, got ${describe(v)}`, type };
    }
    if (typeof value.type !== 'string') return { ok: false, status: 'invalid', reason: value.type === undefined ? 'missing field' : 'wrong type', detail: value.type === undefined ? 'type: missing' : `type: expected a string, got ${describe(value.type)}` };
    if (type === undefined || !Object.prototype.hasOwnProperty.call(MESSAGE_SCHEMAS, type)) {
      return { ok: false, status: 'unknown-type', reason: 'unknown type', detail: `type ${JSON.stringify(value.type.slice(0, 64))} is not known to this listener`, type };
    }
    const ctx: Ctx = { limits, unknown: [], truncated: [] };
    const msg = check(MESSAGE_SCHEMAS[type as WireType], value, '', ctx) as WireMessage;
    return { ok: true, msg, unknown: ctx.unknown, truncated: ctx.truncated };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, status: 'invalid', reason: e.reason, detail: e.detail, type: typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' ? String((value as { type: string }).type).slice(0, 64) : undefined };
    // Stack exhaustion on absurd input cannot happen (the recursion follows the schema, not the
    // input), but nothing escapes this function.
    return { ok: false, status: 'invalid', reason: 'internal', detail: String(e).slice(0, 200) };
  }
}

/** Parses and validates one line of text (without its newline). Never throws. */
export function parseWireLine(line: string, limits: WireLimits = DEFAULT_WIRE_LIMITS): Validation {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { ok: false, status: 'invalid', reason: 'not JSON', detail: `not JSON: ${String((e as Error)?.message ?? e).slice(0, 120)}` };
  }
  return validateMessage(value, limits);
}

/** Every field path the schema of `type` declares (`holders[].thread.id`), for coverage checks. */
export function schemaPaths(type: WireType): string[] {
  const out: string[] = [];
  const walk = (spec: Spec, path: string): void => {
    if (spec.t === 'nullable' || spec.t === 'optional') return walk(spec.of, path);
    if (spec.t === 'array') return walk(spec.of, `${path}[]`);
    if (spec.t === 'object') {
      for (const [k, s] of Object.entries(spec.fields)) walk(s, path ? `${path}.${k}` : k);
      return;
    }
    out.push(path);
  };
  walk(MESSAGE_SCHEMAS[type], '');
  return out;
}

export function siteText(s: Site): string {
  return `${s.file}:${s.line}:${s.col}`;
}
