// Which types are locks, and what each method on them does.

import type { GuardMode, LockFlavor, LockKind, LockType } from './model';

const WRAPPERS = new Set(['Arc', 'Rc', 'Box', 'Pin', 'LazyLock', 'OnceLock', 'Lazy', 'OnceCell', 'CachePadded', 'ManuallyDrop', 'Weak']);

const CRATE_FLAVORS: Record<string, LockFlavor> = {
  std: 'std',
  core: 'std',
  alloc: 'std',
  parking_lot: 'parking_lot',
  tokio: 'tokio',
  futures: 'futures',
  futures_util: 'futures',
  spin: 'spin',
  dashmap: 'dashmap',
  async_std: 'async_std',
  lock_api: 'parking_lot',
};

/** Lock type names and what kind of lock each is. */
export const LOCK_NAMES: Record<string, LockKind> = {
  Mutex: 'mutex',
  RwLock: 'rwlock',
  ReentrantMutex: 'reentrant-mutex',
  FairMutex: 'fair-mutex',
  DashMap: 'dashmap',
  DashSet: 'dashmap',
  Condvar: 'condvar',
};

export function lockTypeOf(flavor: LockFlavor, kind: LockKind): LockType {
  return {
    flavor,
    kind,
    async: flavor === 'tokio' || flavor === 'futures' || flavor === 'async_std',
    poisons: flavor === 'std' && (kind === 'mutex' || kind === 'rwlock'),
  };
}

/** Splits `A<B, C<D>>` into head `A` and top-level generic arguments. */
function splitGeneric(text: string): { head: string; args: string[] } {
  const lt = text.indexOf('<');
  if (lt < 0) return { head: text.trim(), args: [] };
  const head = text.slice(0, lt).trim();
  const inner = text.slice(lt + 1, text.lastIndexOf('>'));
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i];
    if (ch === '<' || ch === '(' || ch === '[') depth++;
    else if (ch === '>' || ch === ')' || ch === ']') depth--;
    else if (ch === ',' && depth === 0) {
      args.push(inner.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = inner.slice(start).trim();
  if (last) args.push(last);
  return { head, args };
}

/** Strips references, lifetimes, `mut`, `dyn`/`impl` and surrounding whitespace. */
export function stripRefs(typeText: string): string {
  let t = typeText.replace(/\s+/g, ' ').trim();
  for (;;) {
    const before = t;
    t = t.replace(/^&\s*('[A-Za-z_]\w*\s*)?(mut\s+)?/, '').replace(/^\*(const|mut)\s+/, '').replace(/^(dyn|impl)\s+/, '').trim();
    if (t === before) break;
  }
  return t;
}

export interface ResolvedType {
  /** Last path segment of the outermost non-wrapper type (`Catalog`, `Mutex`). */
  name: string;
  /** Full path when known (`parking_lot::Mutex`). */
  path: string;
  lock?: LockType;
  /** For locks: the protected type's text. */
  inner?: string;
}

/**
 * Resolves a type as written to what it is after peeling `Arc`/`Box`/`&`/`LazyLock` wrappers,
 * telling locks apart by the crate their name was imported from.
 */
export function resolveType(typeText: string, imports: Record<string, string>, lockWrappers: string[] = []): ResolvedType {
  let t = stripRefs(typeText);
  for (let guard = 0; guard < 8; guard++) {
    const split = splitGeneric(t);
    const args = split.args;
    // `dyn Sink + Send`: the first bound names the type.
    const head = split.head.replace(/\s*\+.*$/, '');
    const last = head.slice(head.lastIndexOf(':') + 1);
    if (WRAPPERS.has(last) && args.length > 0) {
      t = stripRefs(args[0]);
      continue;
    }
    const path = fullPath(head, imports);
    // `use parking_lot::Mutex as PlMutex`: the imported path's last segment names the type.
    const realName = path.slice(path.lastIndexOf(':') + 1);
    const kind = LOCK_NAMES[realName] ?? LOCK_NAMES[last];
    if (kind || lockWrappers.includes(last) || lockWrappers.includes(path)) {
      const flavor = flavorOfPath(path);
      const lk = kind ?? 'mutex';
      return { name: realName, path, lock: lockTypeOf(flavor, lk), inner: args[lk === 'dashmap' ? 1 : 0] };
    }
    return { name: last, path, inner: args[0] };
  }
  return { name: t, path: t };
}

export function fullPath(head: string, imports: Record<string, string>): string {
  const h = head.replace(/^::/, '');
  const first = h.split('::')[0];
  const imported = imports[first];
  if (imported) return imported + h.slice(first.length);
  return h;
}

export function flavorOfPath(path: string): LockFlavor {
  const first = path.replace(/^::/, '').split('::')[0];
  if (CRATE_FLAVORS[first]) return CRATE_FLAVORS[first];
  // A bare `Mutex` with no import we can see (glob import, prelude of the project): assume std,
  // the most common case, but callers mark it as less certain.
  if (!path.includes('::')) return 'unknown';
  return 'unknown';
}

export interface AcquireMethod {
  mode: GuardMode;
  isTry: boolean;
  /** Returns `Result`/`Option` around the guard (std lock/try_*, parking_lot try_*). */
  wrapped: boolean;
  /** `read_recursive`: never blocks behind a waiting writer. */
  recursive?: boolean;
  /** Needs `.await` to yield the guard. */
  awaits?: boolean;
}

/** What calling `method` on a lock of `type` does; undefined when it does not acquire. */
export function acquireMethod(type: LockType, method: string, argCount: number): AcquireMethod | undefined {
  const { flavor, kind } = type;
  if (kind === 'condvar') return undefined;
  if (kind === 'dashmap') {
    switch (method) {
      case 'get':
      case 'try_get':
        return argCount === 1 ? { mode: 'read', isTry: method.startsWith('try'), wrapped: true } : undefined;
      case 'get_mut':
      case 'try_get_mut':
        return argCount === 1 ? { mode: 'write', isTry: method.startsWith('try'), wrapped: true } : undefined;
      case 'entry':
      case 'try_entry':
        return argCount === 1 ? { mode: 'write', isTry: method.startsWith('try'), wrapped: method.startsWith('try') } : undefined;
      case 'iter':
        return argCount === 0 ? { mode: 'read', isTry: false, wrapped: false } : undefined;
      case 'iter_mut':
        return argCount === 0 ? { mode: 'write', isTry: false, wrapped: false } : undefined;
      default:
        return undefined;
    }
  }
  const asyncLock = flavor === 'tokio' || flavor === 'futures' || flavor === 'async_std';
  const std = flavor === 'std' || flavor === 'unknown';
  const timed = /_(for|until)$/.test(method);
  const base = method.replace(/_(for|until)$/, '').replace(/_(arc|owned)$/, '');
  const expected = timed ? 1 : 0;
  if (argCount !== expected) return undefined;
  const exclusive: GuardMode = kind === 'reentrant-mutex' ? 'reentrant' : 'mutex';
  switch (base) {
    case 'lock':
      if (kind === 'rwlock') return undefined;
      return { mode: exclusive, isTry: false, wrapped: std, awaits: asyncLock };
    case 'try_lock':
      if (kind === 'rwlock') return undefined;
      return { mode: exclusive, isTry: true, wrapped: true };
    case 'blocking_lock':
      return kind === 'rwlock' ? undefined : { mode: exclusive, isTry: false, wrapped: false };
    case 'read':
    case 'write':
      if (kind !== 'rwlock') return undefined;
      return { mode: base, isTry: false, wrapped: std, awaits: asyncLock };
    case 'try_read':
    case 'try_write':
      if (kind !== 'rwlock') return undefined;
      return { mode: base === 'try_read' ? 'read' : 'write', isTry: true, wrapped: true };
    case 'blocking_read':
    case 'blocking_write':
      if (kind !== 'rwlock') return undefined;
      return { mode: base === 'blocking_read' ? 'read' : 'write', isTry: false, wrapped: false };
    case 'read_recursive':
      return kind === 'rwlock' ? { mode: 'read', isTry: false, wrapped: false, recursive: true } : undefined;
    case 'try_read_recursive':
      return kind === 'rwlock' ? { mode: 'read', isTry: true, wrapped: true, recursive: true } : undefined;
    case 'upgradable_read':
      return kind === 'rwlock' ? { mode: 'upgradable', isTry: false, wrapped: false, awaits: asyncLock } : undefined;
    case 'try_upgradable_read':
      return kind === 'rwlock' ? { mode: 'upgradable', isTry: true, wrapped: true } : undefined;
    default:
      return undefined;
  }
}

/** Methods that, on a receiver of unknown type, are evidence of a lock acquisition. */
export const UNTYPED_LOCK_METHODS: Record<string, GuardMode> = {
  lock: 'mutex',
  read: 'read',
  write: 'write',
  try_lock: 'mutex',
  try_read: 'read',
  try_write: 'write',
  upgradable_read: 'upgradable',
  read_recursive: 'read',
};
