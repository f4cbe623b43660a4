// Per-function results, reused across analyses of the same file: an edit re-analyses only the
// functions whose text changed. A result depends on the function's text, where it starts on
// its line, the file and function names, the crate's declarations (without positions) and the
// options; when only lines moved, the cached result is shifted to the new lines.

import type { CrateIndex, FileDeclarations, FunctionSummary } from './api';
import type { Acquisition, Finding } from './model';
import { GUARD_TYPE_RE } from './resolve';
import { QUOTED_LINE } from './rules/context';

export interface FunctionResult {
  acquisitions: Acquisition[];
  findings: Finding[];
  summaries: FunctionSummary[];
}

interface Entry {
  line: number;
  result: FunctionResult;
}

/** 32-bit FNV-1a, enough to tell declarations apart in a cache key. */
export function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const POSITION_KEYS = new Set(['range', 'nameRange', 'bodyRange']);

/** JSON of declarations with their positions left out: what stays equal when only code moves. */
function positionFreeJson(value: unknown): string {
  return JSON.stringify(value, (k, v) => (POSITION_KEYS.has(k) ? undefined : v));
}

/**
 * Deep equality of plain data (objects, arrays, strings, numbers, booleans), optionally ignoring
 * the position keys. Cheaper than comparing JSON: no strings are built, and it stops at the first
 * difference.
 */
export function sameData(a: unknown, b: unknown, ignorePositions = false): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i], ignorePositions)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  // Keys whose value is undefined are absent in JSON: treat both forms alike.
  let count = 0;
  for (const k in ao) {
    if (ao[k] === undefined || (ignorePositions && POSITION_KEYS.has(k))) continue;
    count++;
    if (!sameData(ao[k], bo[k], ignorePositions)) return false;
  }
  for (const k in bo) if (bo[k] !== undefined && !(ignorePositions && POSITION_KEYS.has(k))) count--;
  return count === 0;
}

const declHashes = new WeakMap<FileDeclarations, number>();
const indexHashes = new WeakMap<CrateIndex, string>();

/**
 * Hash of what the analysis of other files reads from this file's declarations: its structs,
 * statics and imports, and its functions that return a guard (acquisitions at their call
 * sites). Other functions' signatures are left out, so editing a function that hands out no
 * guard does not invalidate every other function's cached result. Positions are left out too.
 */
function declarationsHash(d: FileDeclarations): number {
  let h = declHashes.get(d);
  if (h === undefined) {
    const guardFunctions = d.functions.filter((f) => f.returnType && GUARD_TYPE_RE.test(f.returnType));
    h = fnv1a(positionFreeJson([d.file, d.modulePath, d.structs, d.statics, d.imports, guardFunctions]));
    declHashes.set(d, h);
  }
  return h;
}

/** `to` differs from `from` in positions only (shifted declarations): it has the same hash. */
export function inheritDeclarationsHash(from: FileDeclarations, to: FileDeclarations): void {
  const h = declHashes.get(from);
  if (h !== undefined) declHashes.set(to, h);
}

export function indexHash(index: CrateIndex): string {
  let h = indexHashes.get(index);
  if (h === undefined) {
    let acc = fnv1a(index.edition);
    const parts = index.files.map((f) => `${f.file}:${declarationsHash(f)}`).sort();
    for (const p of parts) acc = fnv1a(p, acc);
    h = `${acc.toString(36)}:${index.files.length}`;
    indexHashes.set(index, h);
  }
  return h;
}

export class FunctionResultCache {
  private readonly entries = new Map<string, Entry & { used: number }>();
  private clock = 0;

  constructor(private readonly capacity = 20000) {}

  get(key: string, line: number, file: string): FunctionResult | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    e.used = ++this.clock;
    if (e.line !== line) {
      // Keep the moved copy: the function stays at its new line for the next edits too.
      e.result = shiftResult(e.result, line - e.line, file);
      e.line = line;
    }
    return e.result;
  }

  set(key: string, line: number, result: FunctionResult): void {
    this.entries.set(key, { line, result, used: ++this.clock });
    if (this.entries.size > this.capacity) {
      // Drop the least recently used tenth at once, so eviction is rare and lookups stay a
      // single map read.
      const byUse = [...this.entries].sort((a, b) => a[1].used - b[1].used);
      for (const [k] of byUse.slice(0, Math.ceil(this.capacity / 10))) this.entries.delete(k);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * A copy of `r` moved down by `delta` lines, with acquisition ids rewritten to match, and the
 * line numbers its messages quote (`acquired at line 12`) too: every place a function's own
 * findings name is in that function, so it moved with it. The declarations its locks point at
 * stay where they were (see declarationsStillAt).
 */
export function shiftResult(r: FunctionResult, delta: number, file: string): FunctionResult {
  const ids = new Map<string, string>();
  for (const a of r.acquisitions) ids.set(a.id, `${file}:${a.range.start.line + delta + 1}:${a.range.start.column + 1}`);
  const copy = (v: unknown, key?: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => copy(x));
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.line === 'number' && typeof o.column === 'number' && Object.keys(o).length === 2) return { line: (o.line as number) + delta, column: o.column };
      const out: Record<string, unknown> = {};
      // Where a lock is declared is outside the function: it did not move with it.
      for (const k of Object.keys(o)) out[k] = k === 'declaration' ? o[k] : copy(o[k], k);
      return out;
    }
    if (typeof v === 'string') {
      if (key === 'message' || key === 'reason') return v.replace(QUOTED_LINE, (_m, n: string) => `line ${Number(n) + delta}`);
      return ids.get(v) ?? v;
    }
    return v;
  };
  return copy(r) as FunctionResult;
}

const declarationPlaces = new WeakMap<CrateIndex, Map<string, string>>();

/**
 * Whether every lock declaration `r` points at (a struct field or a static) is still there, with
 * the same name, in `index`. Positions are not part of a result's cache key, so a declaration
 * that moved (a line inserted above a struct) makes the cached result stale.
 */
export function declarationsStillAt(r: FunctionResult, index: CrateIndex): boolean {
  let places = declarationPlaces.get(index);
  if (!places) {
    places = new Map();
    const at = (file: string, p: { line: number; column: number }) => `${file}:${p.line}:${p.column}`;
    for (const f of index.files) {
      for (const st of f.structs) for (const fd of st.fields) places.set(at(st.file, fd.range.start), fd.name);
      for (const st of f.statics) places.set(at(st.file, st.range.start), st.name);
    }
    declarationPlaces.set(index, places);
  }
  for (const a of r.acquisitions) {
    const d = a.declaration;
    if (!d) continue;
    const name = places.get(`${d.file}:${d.range.start.line}:${d.range.start.column}`);
    if (name === undefined || !(a.lock.endsWith(`.${name}`) || a.lock.endsWith(`::${name}`) || a.lock === name)) return false;
  }
  return true;
}
