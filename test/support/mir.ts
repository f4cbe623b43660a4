/**
 * MIR oracle for guard regions.
 *
 * Runs `rustc -Zunpretty=mir -Zmir-include-spans=yes` on a single-file library
 * crate and works out, for every std lock guard value, where rustc creates it
 * and where (on the non-unwinding paths) rustc releases it.
 *
 * Node built-ins only. See `test/unit/regions-mir.test.ts` for how it is used.
 *
 * Model (one forward data-flow walk per guard creation site):
 *  - a guard local is a MIR local whose declared type IS a std guard
 *    (`std::sync::MutexGuard<..>`, `RwLockReadGuard`, `RwLockWriteGuard`, mapped
 *    variants). `Result<Guard, _>` / `Option<Guard>` locals are not guards.
 *  - creation: an assignment into a guard local whose value does not come from
 *    another guard local (`_6 = Result::unwrap(move _7)`, `_4 = move ((_2 as Ok).0: ..)`,
 *    `_2 = PoisonError::into_inner(..)`). The acquire position is traced back
 *    through `Result`/`PoisonError`/`Option` locals to the call that produced
 *    them (`m.lock()`), so `if let Ok(g) = m.lock()` and
 *    `match m.lock() { Ok(g) => g, Err(e) => e.into_inner() }` acquire at `m`.
 *    Creation sites with the same acquire position in the same body are merged.
 *  - `_a = move _b`: the guard moves to `_a` (a named binding, a call argument
 *    temporary, the return place `_0`).
 *  - a statement (not a call) that moves the guard into an aggregate
 *    (`(move _3, 5)`, `H { g: move _3 }`, a `move` closure) makes the
 *    aggregate local a container: the guard is released when the container
 *    is dropped.
 *  - `drop(_n)` in a non-cleanup block: release (kind `drop`).
 *  - `std::mem::drop::<..>(move _n)`: release at the start of the call (kind `explicit-drop`).
 *  - any other call consuming the guard: kind `moved` (e.g. `Condvar::wait(g)`, `Vec::push`).
 *  - `return` while `_0` holds the guard: kind `returned` (position: the
 *    function's closing `}`; only the kind is meaningful).
 * Cleanup blocks (`bbN (cleanup): {`) are never entered.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export type Edition = '2015' | '2018' | '2021' | '2024';

export interface MirPos {
  line: number;
  column: number;
}

export interface MirSpan extends MirPos {
  endLine: number;
  endColumn: number;
  /** File as printed by rustc (the fixture's basename, or a std path for macro expansions). */
  file: string;
}

export type MirReleaseKind = 'drop' | 'explicit-drop' | 'moved' | 'returned';

export interface MirRelease extends MirPos {
  kind: MirReleaseKind;
  /** File of the span (differs from the fixture when the drop sits in a macro expansion). */
  file: string;
  /** The MIR local that was dropped / moved at this point. */
  local: string;
}

export interface MirGuard {
  /** Readable body name: `tmp`, `Catalog::get`, `f::{closure#0}`. */
  fn: string;
  /** Raw MIR body name as printed by rustc. */
  mirFn: string;
  /** Guard local the value was created in (first creation site when merged). */
  local: string;
  /** Local holding the value when it is released (last one in the move chain). */
  finalLocal: string;
  /** Every local/container that held this value. */
  locals: string[];
  /** Source name of a `debug x => _n` binding along the chain, if any. */
  binding?: string;
  /** `MutexGuard`, `RwLockReadGuard`, `RwLockWriteGuard`, ... */
  guardType: string;
  /** Full type as printed in MIR. */
  fullType: string;
  /** 1-based start of the expression that yields the guard (the lock call's receiver). */
  acquire: MirPos;
  /** Full span of the originating call (`m.lock()`), for diagnostics. */
  acquireSpan: MirSpan;
  /** Span of the statement that first put the value in a guard local (`m.lock().unwrap()`, or a pattern binding). */
  createSpan?: MirSpan;
  /** Distinct, sorted release positions on non-cleanup paths. */
  releases: MirRelease[];
  /** True when some path moves the guard into a call or returns it. */
  moved: boolean;
  /**
   * True when the value derives from a parameter of this body rather than a lock
   * call in it, e.g. `|e| e.into_inner()` in `lock().unwrap_or_else(|e| e.into_inner())`:
   * the caller acquired the lock. Not a lock acquisition of this body.
   */
  fromParam: boolean;
}

/* ------------------------------------------------------------------ parsing */

interface Stmt {
  text: string;
  span?: MirSpan;
  isTerminator: boolean;
  successors: number[];
}

interface Block {
  id: number;
  cleanup: boolean;
  stmts: Stmt[];
}

interface LocalDecl {
  name: string;
  type: string;
  span?: MirSpan;
}

export interface MirBody {
  mirName: string;
  name: string;
  locals: Map<string, LocalDecl>;
  debugNames: Map<string, string>;
  blocks: Map<number, Block>;
}

const GUARD_RE =
  /^std::sync::(?:[a-z_]+::)*(MutexGuard|RwLockReadGuard|RwLockWriteGuard|MappedMutexGuard|MappedRwLockReadGuard|MappedRwLockWriteGuard|ReentrantLockGuard)</;
const GUARD_ANYWHERE_RE =
  /std::sync::(?:[a-z_]+::)*(MutexGuard|RwLockReadGuard|RwLockWriteGuard|MappedMutexGuard|MappedRwLockReadGuard|MappedRwLockWriteGuard|ReentrantLockGuard)</;
/** The type `lock()`, `try_lock()`, `read()`, ... return: a Result holding the guard. */
const RESULT_OF_GUARD_RE = /^std::result::Result<std::sync::(?:[a-z_]+::)*(?:MutexGuard|RwLockReadGuard|RwLockWriteGuard|ReentrantLockGuard)</;
/** A call of a std lock method (the callee path as MIR prints it). */
const LOCK_CALL_RE = /\bstd::sync::(?:[a-z_]+::)*(?:Mutex|RwLock|ReentrantLock)::<[^>]*(?:<[^>]*>[^>]*)*>::(?:lock|try_lock|read|write|try_read|try_write)\(/;

export function guardKind(type: string): string | undefined {
  const m = GUARD_RE.exec(type.trim());
  return m ? m[1] : undefined;
}

function parseSpan(text: string): MirSpan | undefined {
  // "<file>:L:C: L:C" — anchor at the end, the file part may contain ':'.
  const m = /^(.*):(\d+):(\d+): (\d+):(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  return { file: m[1], line: +m[2], column: +m[3], endLine: +m[4], endColumn: +m[5] };
}

/** Split the body of a statement line from its `// scope N at file:L:C: L:C` comment. */
function splitComment(line: string): { code: string; span?: MirSpan; comment?: string } {
  const idx = line.indexOf(' // ');
  if (idx < 0) return { code: line.trim() };
  const code = line.slice(0, idx).trim();
  const comment = line.slice(idx + 4).trim();
  const m = /^(?:return place )?(?:in )?scope \d+ at (.*)$/.exec(comment);
  return { code, comment, span: m ? parseSpan(m[1]) : undefined };
}

function successorsOf(code: string): number[] {
  const arrow = code.indexOf('->');
  if (arrow < 0) return [];
  const out: number[] = [];
  const re = /\bbb(\d+)\b/g;
  let m: RegExpExecArray | null;
  const tail = code.slice(arrow);
  while ((m = re.exec(tail))) out.push(+m[1]);
  return out;
}

function isTerminatorCode(code: string): boolean {
  return (
    code.includes(' -> ') ||
    code.startsWith('goto') ||
    code === 'return' ||
    code === 'resume' ||
    code === 'unreachable' ||
    code.startsWith('return') ||
    code.startsWith('unwind') ||
    code.startsWith('coroutine_drop')
  );
}

export function parseMir(text: string, sourceText?: string): MirBody[] {
  const lines = text.split(/\r?\n/);
  const bodies: MirBody[] = [];
  const srcLines = sourceText ? sourceText.split(/\r?\n/) : undefined;
  let body: MirBody | undefined;
  let block: Block | undefined;
  for (const raw of lines) {
    if (!body) {
      const hm = /^fn (.*?)\((?:_\d+:|\) ->|\) \{)/.exec(raw);
      if (hm) {
        body = {
          mirName: hm[1],
          name: readableName(hm[1], srcLines),
          locals: new Map(),
          debugNames: new Map(),
          blocks: new Map(),
        };
        // parameters are not `let`-declared: `fn f(_1: &Mutex<u32>, _2: PoisonError<Guard>) -> R {`
        const open = raw.indexOf('(', 3 + hm[1].length);
        let close = raw.lastIndexOf(') -> ');
        if (close < 0) close = raw.lastIndexOf(') {');
        if (open >= 0 && close > open) {
          for (const part of raw.slice(open + 1, close).split(/, (?=_\d+: )/)) {
            const pm = /^(_\d+): (.*)$/.exec(part);
            if (pm) body.locals.set(pm[1], { name: pm[1], type: pm[2] });
          }
        }
      }
      continue;
    }
    if (raw === '}') {
      bodies.push(body);
      body = undefined;
      block = undefined;
      continue;
    }
    const bm = /^ {4}bb(\d+)( \(cleanup\))?: \{\s*$/.exec(raw);
    if (bm) {
      block = { id: +bm[1], cleanup: !!bm[2], stmts: [] };
      body.blocks.set(block.id, block);
      continue;
    }
    if (/^ {4}\}\s*$/.test(raw)) {
      block = undefined;
      continue;
    }
    const trimmed = raw.trim();
    if (trimmed.startsWith('//') || trimmed === '') continue;
    if (!block) {
      const lm = /^\s+let (?:mut )?(_\d+): (.*);\s+\/\/ (?:return place )?in scope \d+ at (.*)$/.exec(raw);
      if (lm) {
        body.locals.set(lm[1], { name: lm[1], type: lm[2], span: parseSpan(lm[3]) });
        continue;
      }
      const dm = /^\s+debug (\S+) => (_\d+);/.exec(raw);
      if (dm && !body.debugNames.has(dm[2])) body.debugNames.set(dm[2], dm[1]);
      continue;
    }
    const { code, span } = splitComment(raw);
    const c = code.replace(/;$/, '');
    const term = isTerminatorCode(c);
    block.stmts.push({ text: c, span, isTerminator: term, successors: term ? successorsOf(c) : [] });
  }
  return bodies;
}

/** `<impl at f.rs:5:1: 5:13>::get` -> `Catalog::get` (reading the impl header from the source). */
function readableName(mirName: string, srcLines?: string[]): string {
  return mirName.replace(/<impl at [^>]*?:(\d+):(\d+): (\d+):(\d+)>/g, (whole, l1, c1, l2, c2) => {
    if (!srcLines) return whole;
    const a = +l1;
    const b = +l2;
    let txt = '';
    for (let i = a; i <= b && i <= srcLines.length; i++) {
      let s = srcLines[i - 1] ?? '';
      if (i === b) s = s.slice(0, +c2 - 1);
      if (i === a) s = s.slice(+c1 - 1);
      txt += s + ' ';
    }
    const header = txt.replace(/\s+/g, ' ').trim();
    const m = /^impl(?:<[^{]*?>)?\s+(?:.*?\s+for\s+)?(?:[\w:]+::)?([A-Za-z_]\w*)/.exec(header);
    return m ? m[1] : whole;
  });
}

/* ---------------------------------------------------------------- analysis */

const LOCAL_OPERAND_RE = /\b(move|copy) (_\d+)\b/g;

function baseLocalsIn(text: string): string[] {
  const out: string[] = [];
  const re = /(?<![\w.])(_\d+)\b/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) out.push(m[1]);
  return out;
}

interface Assign {
  dest: string;
  rvalue: string;
}

function asAssign(text: string): Assign | undefined {
  const m = /^(_\d+) = (.*)$/s.exec(text);
  if (!m) return undefined;
  let rvalue = m[2];
  const arrow = rvalue.lastIndexOf(' -> ');
  if (arrow >= 0) rvalue = rvalue.slice(0, arrow);
  return { dest: m[1], rvalue };
}

/** Callee path of a call rvalue like `std::mem::drop::<T>(move _8)`. */
function calleeOf(rvalue: string): string {
  const i = rvalue.indexOf('(');
  return i < 0 ? rvalue : rvalue.slice(0, i);
}

function isMemDrop(callText: string): boolean {
  // `_7 = std::mem::drop::<T>(move _8) -> [...]` or `_7 = drop::<T>(copy _5) -> ...`
  const body = callText.replace(/^_\d+ = /, '');
  const callee = calleeOf(body);
  return /^(?:std::mem::|core::mem::|mem::)?drop::</.test(callee);
}

interface Site {
  block: number;
  index: number;
  stmt: Stmt;
  local: string;
}

function findAssignments(body: MirBody, local: string): Site[] {
  const out: Site[] = [];
  for (const b of body.blocks.values()) {
    if (b.cleanup) continue;
    b.stmts.forEach((s, i) => {
      const a = asAssign(s.text);
      if (a && a.dest === local) out.push({ block: b.id, index: i, stmt: s, local });
    });
  }
  return out;
}

function isGuardLocal(body: MirBody, l: string): boolean {
  const d = body.locals.get(l);
  return !!d && !!guardKind(d.type);
}

function mentionsGuard(body: MirBody, l: string): boolean {
  const d = body.locals.get(l);
  return !!d && GUARD_ANYWHERE_RE.test(d.type);
}

/**
 * Trace a creation back to the call that produced the lock result.
 * Returns undefined when the value actually comes from another guard local
 * (i.e. this is a transfer, not a creation).
 */
function traceOrigin(
  body: MirBody,
  stmt: Stmt,
  depth = 0,
): { span: MirSpan; fromParam?: boolean } | 'transfer' | undefined {
  const a = asAssign(stmt.text);
  if (!a || !stmt.span) return undefined;
  const refs = baseLocalsIn(a.rvalue);
  if (refs.some((r) => isGuardLocal(body, r))) {
    // `_a = move _b`, `_a = move (_c.0: Guard)`: the same value moving around.
    // A call consuming a guard and returning one (`Condvar::wait(g)`,
    // `MutexGuard::map(g, ..)`) produces a new guard value: that call is the origin.
    return stmt.isTerminator ? { span: stmt.span } : 'transfer';
  }
  if (depth > 20) return { span: stmt.span };
  for (const r of refs) {
    if (!mentionsGuard(body, r)) continue;
    const defs = findAssignments(body, r);
    // a parameter (e.g. the PoisonError handed to a recovery closure): the guard
    // was acquired by the caller, not in this body
    if (defs.length === 0) return { span: stmt.span, fromParam: true };
    let found: { span: MirSpan; fromParam?: boolean } | undefined;
    for (const d of defs) {
      const origin = traceOrigin(body, d.stmt, depth + 1);
      if (origin === 'transfer') return 'transfer';
      if (origin && !found) found = origin;
    }
    if (found) return found;
  }
  return { span: stmt.span };
}

export function analyzeBody(body: MirBody): MirGuard[] {
  // 1. creation sites
  const creations: Array<{ site: Site; origin: MirSpan; fromParam: boolean }> = [];
  for (const b of body.blocks.values()) {
    if (b.cleanup) continue;
    b.stmts.forEach((s, i) => {
      const a = asAssign(s.text);
      if (!a || !isGuardLocal(body, a.dest)) return;
      const o = traceOrigin(body, s);
      if (!o || o === 'transfer') return;
      creations.push({ site: { block: b.id, index: i, stmt: s, local: a.dest }, origin: o.span, fromParam: !!o.fromParam });
    });
  }

  // 1b. the lock call's Result holds the guard until something takes it out, and may be dropped
  //     still holding it (`m.try_lock().is_ok()`, `let _ = m.lock();`, an Option of it that only
  //     one branch unpacks): it joins the guard of the same acquire position. A Result unpacked
  //     at once (`unwrap()`, `Ok(g) =>`) is left out: what it still holds then is the poisoned
  //     guard of the `Err` path, which the comparison does not cover.
  const unpackedAtOnce = new Set<string>();
  for (const c of creations) for (const l of baseLocalsIn(asAssign(c.site.stmt.text)?.rvalue ?? '')) unpackedAtOnce.add(l);
  for (const b of body.blocks.values()) {
    if (b.cleanup) continue;
    b.stmts.forEach((s, i) => {
      const a = asAssign(s.text);
      if (!a || !s.isTerminator || !s.span || !LOCK_CALL_RE.test(a.rvalue)) return;
      if (!RESULT_OF_GUARD_RE.test(body.locals.get(a.dest)?.type ?? '') || unpackedAtOnce.has(a.dest)) return;
      creations.push({ site: { block: b.id, index: i, stmt: s, local: a.dest }, origin: s.span, fromParam: false });
    });
  }

  // 2. merge creations with the same acquire position
  const byPos = new Map<string, Array<{ site: Site; origin: MirSpan; fromParam: boolean }>>();
  for (const c of creations) {
    const k = `${c.origin.line}:${c.origin.column}`;
    const arr = byPos.get(k) ?? [];
    arr.push(c);
    byPos.set(k, arr);
  }

  const guards: MirGuard[] = [];
  for (const group of byPos.values()) {
    const releases = new Map<string, MirRelease>();
    const held = new Set<string>();
    const order: string[] = [];
    const note = (l: string) => {
      held.add(l);
      if (!order.includes(l)) order.push(l);
    };
    let moved = false;
    for (const c of group) {
      note(c.site.local);
      flow(body, c.site, (rel) => {
        // By kind too: a guard returned on one path and dropped on another (an early `return`)
        // gets both at the function's closing brace.
        const k = `${rel.line}:${rel.column}:${rel.kind}`;
        if (!releases.has(k)) releases.set(k, rel);
        if (rel.kind === 'moved' || rel.kind === 'returned') moved = true;
      }, note);
    }
    const first = group[0];
    const decl = body.locals.get(first.site.local)!;
    const rels = [...releases.values()].sort((a, b) => a.line - b.line || a.column - b.column);
    const guardLocals = order.filter((l) => isGuardLocal(body, l));
    const finalLocal = rels.length ? rels[rels.length - 1].local : guardLocals[guardLocals.length - 1];
    let binding: string | undefined;
    // the source name of the guard itself (not of a tuple/struct/closure that later holds it)
    for (const l of guardLocals) if (body.debugNames.has(l) && l !== '_0') binding = body.debugNames.get(l);
    guards.push({
      fn: body.name,
      mirFn: body.mirName,
      local: first.site.local,
      finalLocal,
      locals: order,
      binding,
      guardType: guardKind(decl.type) ?? GUARD_ANYWHERE_RE.exec(decl.type)![1],
      fullType: decl.type,
      acquire: { line: first.origin.line, column: first.origin.column },
      acquireSpan: first.origin,
      createSpan: first.site.stmt.span,
      releases: rels,
      moved,
      fromParam: group.every((c) => c.fromParam),
    });
  }
  guards.sort((a, b) => a.acquire.line - b.acquire.line || a.acquire.column - b.acquire.column);
  return guards;
}

/** Forward may-analysis from one creation site: which locals can hold this guard value. */
function flow(
  body: MirBody,
  start: Site,
  onRelease: (r: MirRelease) => void,
  onHold: (l: string) => void,
): void {
  type State = Set<string>;
  const inStates = new Map<number, State>();
  const work: Array<{ block: number; from: number; state: State }> = [];
  work.push({ block: start.block, from: start.index + 1, state: new Set([start.local]) });
  let guardSteps = 0;
  while (work.length) {
    if (++guardSteps > 100000) throw new Error(`MIR flow did not converge in ${body.mirName}`);
    const { block: bid, from, state: st0 } = work.pop()!;
    const blk = body.blocks.get(bid);
    if (!blk || blk.cleanup) continue;
    let state = new Set(st0);
    if (from === 0) {
      const prev = inStates.get(bid);
      if (prev) {
        const before = prev.size;
        for (const l of state) prev.add(l);
        if (prev.size === before) continue; // nothing new
        state = new Set(prev);
      } else {
        inStates.set(bid, new Set(state));
      }
    }
    for (let i = from; i < blk.stmts.length && state.size; i++) {
      const s = blk.stmts[i];
      step(body, s, state, onRelease, onHold);
    }
    if (!state.size) continue;
    const last = blk.stmts[blk.stmts.length - 1];
    if (!last) continue;
    for (const succ of last.successors) {
      const sb = body.blocks.get(succ);
      if (!sb || sb.cleanup) continue;
      work.push({ block: succ, from: 0, state: new Set(state) });
    }
  }
}

function step(
  body: MirBody,
  s: Stmt,
  state: Set<string>,
  onRelease: (r: MirRelease) => void,
  onHold: (l: string) => void,
): void {
  const text = s.text;
  const span = s.span;
  const pos = span ? { line: span.line, column: span.column, file: span.file } : { line: 0, column: 0, file: '?' };

  // drop(_n) / drop((_n.0: T))
  const dm = /^drop\((.*)\) ->/.exec(text);
  if (dm) {
    const base = baseLocalsIn(dm[1])[0];
    if (base && state.has(base)) {
      onRelease({ ...pos, kind: 'drop', local: base });
      // a field drop of a container keeps the rest of the container alive, but
      // the guard part is gone either way
      state.delete(base);
    }
    return;
  }

  if (text === 'return' || text.startsWith('return ')) {
    if (state.has('_0')) {
      const col = span && span.line === span.endLine && span.column === span.endColumn && span.column > 1 ? span.column - 1 : pos.column;
      onRelease({ line: pos.line, column: col, file: pos.file, kind: 'returned', local: '_0' });
      state.delete('_0');
    }
    return;
  }

  const a = asAssign(text);
  const operands: Array<{ mode: string; local: string }> = [];
  {
    const src = a ? a.rvalue : text;
    let m: RegExpExecArray | null;
    LOCAL_OPERAND_RE.lastIndex = 0;
    while ((m = LOCAL_OPERAND_RE.exec(src))) operands.push({ mode: m[1], local: m[2] });
  }
  const touching = operands.filter((o) => state.has(o.local));
  // moves out of a container's field: `_x = move (_c.0: Guard)`
  const fieldMoves =
    a && isGuardLocal(body, a.dest)
      ? baseLocalsIn(a.rvalue).filter((l) => state.has(l) && !isGuardLocal(body, l) && /\bmove \(/.test(a.rvalue))
      : [];

  if (s.isTerminator) {
    // A call that turns one container of the guard into another (`try_lock().ok()`: Result ->
    // Option<Guard>): the guard lives on in the call's result. A call taking the guard itself
    // (`Condvar::wait_timeout(g, ..)`) consumes it and makes a new one.
    if (touching.length && a && touching.every((o) => !isGuardLocal(body, o.local)) && mentionsGuard(body, a.dest) && !isMemDrop(text)) {
      for (const o of touching) state.delete(o.local);
      state.add(a.dest);
      onHold(a.dest);
      return;
    }
    // call consuming the guard. Guards are not `Copy`: after CopyProp a move into
    // a call often prints as `copy _n` (`consume(copy _2)`, `drop::<..>(copy _5)`).
    const consumed = touching;
    if (consumed.length) {
      const kind: MirReleaseKind = isMemDrop(text) ? 'explicit-drop' : 'moved';
      for (const o of consumed) {
        onRelease({ ...pos, kind, local: o.local });
        state.delete(o.local);
      }
    }
    if (a && state.has(a.dest)) state.delete(a.dest); // overwritten by the call result
    return;
  }

  if (!a) return;
  if (fieldMoves.length) {
    // The guard leaves its container (`Some(g)`, `Ok(g)`, `t.0`): the rest of it holds no guard.
    for (const l of fieldMoves) state.delete(l);
    state.add(a.dest);
    onHold(a.dest);
    return;
  }
  const moves = touching; // `copy` of a non-Copy guard/container is a move too
  if (moves.length) {
    for (const o of moves) state.delete(o.local);
    // `_a = move _b`, or an aggregate `_a = (move _b, ..)` / `S { g: move _b }` / closure
    state.add(a.dest);
    onHold(a.dest);
    return;
  }
  if (state.has(a.dest)) state.delete(a.dest); // overwritten
}

/* ------------------------------------------------------------- running rustc */

export interface RustcResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  code: number | null;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<RustcResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as unknown as { code: number }).code) : null) : 0;
      resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr) || (err && !stderr ? String(err.message) : ''), code });
    });
  });
}

let rustcProbe: Promise<string | undefined> | undefined;

/** Returns the rustc version string, or undefined when rustc (or -Zunpretty) is unavailable. */
export function rustcAvailable(): Promise<string | undefined> {
  if (!rustcProbe) {
    rustcProbe = (async () => {
      const rustc = process.env.RUSTC || 'rustc';
      const v = await run(rustc, ['--version'], {});
      if (!v.ok) return undefined;
      return v.stdout.trim();
    })();
  }
  return rustcProbe;
}

export async function mirText(file: string, edition: Edition): Promise<string> {
  const rustc = process.env.RUSTC || 'rustc';
  const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'locklens-mir-'));
  try {
    const out = path.join(tmp, 'out.mir');
    const res = await run(
      rustc,
      [
        '--edition', edition,
        '--crate-type', 'lib',
        '--crate-name', 'locklens_fixture',
        '-Zunpretty=mir',
        '-Zmir-include-spans=yes',
        '-o', out,
        path.basename(file),
      ],
      { cwd: path.dirname(file), env: { ...process.env, RUSTC_BOOTSTRAP: '1' } },
    );
    if (!res.ok) {
      throw new Error(`rustc --edition ${edition} failed on ${file} (exit ${res.code}):\n${res.stderr}`);
    }
    return await fs.promises.readFile(out, 'utf8');
  } finally {
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}

export function analyzeMir(text: string, sourceText?: string): MirGuard[] {
  const out: MirGuard[] = [];
  for (const body of parseMir(text, sourceText)) out.push(...analyzeBody(body));
  return out;
}

/** Run rustc on `file` for `edition` and return every guard with its releases. */
export async function mirGuards(file: string, edition: Edition): Promise<MirGuard[]> {
  const [text, src] = await Promise.all([mirText(file, edition), fs.promises.readFile(file, 'utf8')]);
  return analyzeMir(text, src);
}

/** Format a guard for messages: `Catalog::get _6 RwLockReadGuard @15:26 -> [20:5 drop]`. */
export function describeMirGuard(g: MirGuard): string {
  const rels = g.releases.map((r) => `${r.line}:${r.column} ${r.kind}`).join(', ');
  const flags = g.fromParam ? ' (from parameter)' : '';
  return `${g.fn} ${g.binding ? `\`${g.binding}\` ` : ''}(${g.local}${g.finalLocal !== g.local ? `->${g.finalLocal}` : ''}: ${g.guardType}) acquire ${g.acquire.line}:${g.acquire.column} releases [${rels}]${flags}`;
}

/* ------------------------------------------------------ source functions */

/** A `fn` item of a fixture file with its line range (used to group guards per function). */
export interface SourceFn {
  /** `name`, or `Type::name` inside an `impl` block. */
  name: string;
  startLine: number;
  endLine: number;
}

/** Blank out comments, string and char literals (keeping offsets) so braces can be matched. */
function codeOnly(src: string): string {
  const out = src.split('');
  let i = 0;
  const blank = (a: number, b: number) => {
    for (let k = a; k < b && k < out.length; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (c === '/' && n === '/') {
      const e = src.indexOf('\n', i);
      const end = e < 0 ? src.length : e;
      blank(i, end);
      i = end;
    } else if (c === '/' && n === '*') {
      let depth = 1;
      let k = i + 2;
      while (k < src.length && depth) {
        if (src[k] === '/' && src[k + 1] === '*') (depth++, (k += 2));
        else if (src[k] === '*' && src[k + 1] === '/') (depth--, (k += 2));
        else k++;
      }
      blank(i, k);
      i = k;
    } else if (c === '"' || (c === 'r' && (n === '"' || n === '#') && !/\w/.test(src[i - 1] ?? ''))) {
      if (c === 'r') {
        const m = /^r(#*)"/.exec(src.slice(i));
        if (!m) {
          i++;
          continue;
        }
        const close = '"' + m[1];
        const e = src.indexOf(close, i + m[0].length);
        const end = e < 0 ? src.length : e + close.length;
        blank(i, end);
        i = end;
      } else {
        let k = i + 1;
        while (k < src.length && src[k] !== '"') k += src[k] === '\\' ? 2 : 1;
        blank(i, k + 1);
        i = k + 1;
      }
    } else if (c === "'") {
      const m = /^'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'/.exec(src.slice(i));
      if (m) {
        blank(i, i + m[0].length);
        i += m[0].length;
      } else i++; // lifetime
    } else i++;
  }
  return out.join('');
}

function matchBrace(code: string, open: number): number {
  let depth = 0;
  for (let k = open; k < code.length; k++) {
    if (code[k] === '{') depth++;
    else if (code[k] === '}' && --depth === 0) return k;
  }
  return code.length - 1;
}

function lineAt(lineStarts: number[], offset: number): number {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

export function sourceFunctions(src: string): SourceFn[] {
  const code = codeOnly(src);
  const lineStarts = [0];
  for (let k = 0; k < src.length; k++) if (src[k] === '\n') lineStarts.push(k + 1);
  const impls: Array<{ name: string; start: number; end: number }> = [];
  const implRe = /\bimpl\b/g;
  let m: RegExpExecArray | null;
  while ((m = implRe.exec(code))) {
    const brace = code.indexOf('{', m.index);
    const semi = code.indexOf(';', m.index);
    if (brace < 0 || (semi >= 0 && semi < brace)) continue;
    const header = code.slice(m.index, brace).replace(/\s+/g, ' ').trim();
    const hm = /^impl(?:<[^{]*?>)?\s+(?:.*?\s+for\s+)?(?:[\w:]+::)?([A-Za-z_]\w*)/.exec(header);
    // `impl Trait` in argument/return position has no block of its own
    if (!hm || /[(,]\s*$/.test(code.slice(Math.max(0, m.index - 20), m.index))) continue;
    impls.push({ name: hm[1], start: brace, end: matchBrace(code, brace) });
  }
  const fns: SourceFn[] = [];
  const fnRe = /\bfn\s+([A-Za-z_]\w*)/g;
  while ((m = fnRe.exec(code))) {
    const brace = code.indexOf('{', m.index);
    const semi = code.indexOf(';', m.index);
    if (brace < 0 || (semi >= 0 && semi < brace)) continue;
    const end = matchBrace(code, brace);
    const owner = impls.filter((im) => im.start < m!.index && m!.index < im.end).sort((a, b) => b.start - a.start)[0];
    fns.push({
      name: owner ? `${owner.name}::${m[1]}` : m[1],
      startLine: lineAt(lineStarts, m.index),
      endLine: lineAt(lineStarts, end),
    });
  }
  return fns;
}

/** Innermost source function containing `line`. */
export function functionAt(fns: SourceFn[], line: number): SourceFn | undefined {
  let best: SourceFn | undefined;
  for (const f of fns) {
    if (line < f.startLine || line > f.endLine) continue;
    if (!best || f.endLine - f.startLine < best.endLine - best.startLine) best = f;
  }
  return best;
}
