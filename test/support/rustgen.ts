// Random Rust functions that take std locks in every shape the region rules know: bindings,
// statement and tail temporaries, conditions, if-let/while-let/match/for scrutinees, let-else,
// blocks, closures, loops with break/continue, early returns, `?`, drops, moves, shadowing,
// re-assignment and lifetime extension, nested in each other. Every file compiles as a std-only
// library under editions 2021 and 2024, so rustc's MIR can say where each guard really drops
// (regions-fuzz.test.ts). The same seed gives the same file.

import { prng } from './random';

/** What a guard derefs to, and so how it may be used. */
type Target = 'u32' | 'vec' | 'opt';

interface LockKind {
  /** The expression that yields the guard. */
  expr: string;
  target: Target;
  /** Type of the guard, for a function that takes it by value; undefined: not moved. */
  guardType?: string;
  /** The guard derefs mutably. */
  writable: boolean;
}

const LOCKS: LockKind[] = [
  { expr: 's.a.lock().unwrap()', target: 'u32', guardType: 'MutexGuard<\'_, u32>', writable: true },
  { expr: 's.a.lock().expect("a")', target: 'u32', guardType: 'MutexGuard<\'_, u32>', writable: true },
  { expr: 's.a.lock().unwrap_or_else(|e| e.into_inner())', target: 'u32', guardType: 'MutexGuard<\'_, u32>', writable: true },
  { expr: 's.rw.read().unwrap()', target: 'u32', guardType: 'RwLockReadGuard<\'_, u32>', writable: false },
  { expr: 's.rw.write().unwrap()', target: 'u32', guardType: 'RwLockWriteGuard<\'_, u32>', writable: true },
  { expr: 'm.lock().unwrap()', target: 'u32', guardType: 'MutexGuard<\'_, u32>', writable: true },
  { expr: 's.v.lock().unwrap()', target: 'vec', guardType: 'MutexGuard<\'_, Vec<u32>>', writable: true },
  { expr: 's.o.lock().unwrap()', target: 'opt', writable: true },
  { expr: 'S::global().lock().unwrap()', target: 'u32', guardType: 'MutexGuard<\'_, u32>', writable: true },
  { expr: 's.state().lock().unwrap()', target: 'u32', guardType: 'MutexGuard<\'_, u32>', writable: true },
  { expr: 's.guard()', target: 'u32', guardType: 'MutexGuard<\'_, u32>', writable: true },
  { expr: 's.a.try_lock().unwrap()', target: 'u32', guardType: 'MutexGuard<\'_, u32>', writable: true },
];

const MUTEX_U32 = "MutexGuard<'_, u32>";

/** Functions that take a guard by value (a move out of the binding). */
const TAKERS: Record<string, string> = {
  "MutexGuard<'_, u32>": 'take',
  "RwLockReadGuard<'_, u32>": 'take_read',
  "RwLockWriteGuard<'_, u32>": 'take_write',
  "MutexGuard<'_, Vec<u32>>": 'take_vec',
};

const PRELUDE = `#![allow(unused, let_underscore_lock, dead_code, unused_must_use, unreachable_code, unused_mut, irrefutable_let_patterns, clippy::all)]

use std::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub struct S {
    a: Mutex<u32>,
    v: Mutex<Vec<u32>>,
    o: Mutex<Option<u32>>,
    rw: RwLock<u32>,
    cv: Condvar,
}

struct Held<'a> {
    g: MutexGuard<'a, u32>,
    n: u32,
}

static GLOBAL: Mutex<u32> = Mutex::new(0);

impl S {
    fn global() -> &'static Mutex<u32> {
        &GLOBAL
    }

    fn state(&self) -> &Mutex<u32> {
        &self.a
    }

    fn guard(&self) -> MutexGuard<'_, u32> {
        self.a.lock().unwrap()
    }
}

fn take(g: MutexGuard<'_, u32>) -> u32 {
    *g
}

fn take_read(g: RwLockReadGuard<'_, u32>) -> u32 {
    *g
}

fn take_write(g: RwLockWriteGuard<'_, u32>) -> u32 {
    *g
}

fn take_vec(g: MutexGuard<'_, Vec<u32>>) -> u32 {
    g.len() as u32
}

fn id(x: u32) -> u32 {
    x
}
`;

interface Binding {
  name: string;
  /** The guard held (by the binding, or by what it holds). */
  lock: LockKind;
  /** The binding holds the guard inside a value: a tuple, `Some`, a struct, a Vec, a `move` closure. */
  holder?: 'tuple' | 'some' | 'struct' | 'vec' | 'closure';
  mutable: boolean;
  /** Moved, dropped or shadowed: no longer usable by name. */
  gone: boolean;
  /** Where it was made: only a binding of the same loop and closure may be moved. */
  loopDepth: number;
  closureDepth: number;
}

interface Ctx {
  /** Visible bindings, innermost last; each block restores the length it started with. */
  bindings: Binding[];
  loopDepth: number;
  closureDepth: number;
  /** The accumulator statements add to (`acc`, or a closure's own). */
  acc: string;
  /** What `return` gives here: a function's `u32` or `Option<u32>`, a closure's `u32`. */
  returns: 'u32' | 'opt' | 'guard';
  /** Labels of the loops around (inside the closure, if any). */
  labels: string[];
  depth: number;
}

export interface GeneratedFile {
  text: string;
  functions: string[];
}

/** A library of `count` random lock functions for `seed`. */
export function generateFile(seed: number, count = 8): GeneratedFile {
  const pick = prng(seed);
  const chance = (p: number) => pick(1000) < p * 1000;
  const choose = <T>(xs: readonly T[]): T => xs[pick(xs.length)];
  let fresh = 0;
  const name = (prefix: string) => `${prefix}${fresh++}`;

  const usable = (ctx: Ctx, target?: Target) => ctx.bindings.filter((b) => !b.gone && (target === undefined || b.lock.target === target));
  const movable = (ctx: Ctx) => usable(ctx).filter((b) => b.loopDepth === ctx.loopDepth && b.closureDepth === ctx.closureDepth);
  const lockOf = (target?: Target) => choose(target ? LOCKS.filter((l) => l.target === target) : LOCKS);

  /**
   * A `u32` read from a fresh temporary guard. `outlivesLocals`: for a function's tail, whose
   * temporaries (2021) drop after the locals, so the local lock `m` would not live long enough.
   */
  function fromTemporary(outlivesLocals = false): string {
    const l = choose(outlivesLocals ? LOCKS.filter((k) => !k.expr.startsWith('m.')) : LOCKS);
    if (l.target === 'u32') return `*${l.expr}`;
    if (l.target === 'vec') return choose([`${l.expr}.len() as u32`, `${l.expr}.first().copied().unwrap_or(0)`, `${l.expr}.iter().sum::<u32>()`]);
    return `${l.expr}.unwrap_or(1)`;
  }

  function fromBinding(b: Binding): string {
    switch (b.holder) {
      case 'tuple':
        return `*${b.name}.0`;
      case 'some':
        return `${b.name}.as_deref().copied().unwrap_or(0)`;
      case 'struct':
        return `*${b.name}.g + ${b.name}.n`;
      case 'vec':
        return `*${b.name}[0]`;
      case 'closure':
        return `${b.name}()`;
      default:
        break;
    }
    if (b.lock.target === 'u32') return `*${b.name}`;
    if (b.lock.target === 'vec') return `${b.name}.len() as u32`;
    return `${b.name}.unwrap_or(2)`;
  }

  function value(ctx: Ctx): string {
    const deeper = { ...ctx, depth: ctx.depth + 1 };
    const shallow = ctx.depth >= 3;
    const bound = usable(ctx);
    const r = pick(shallow ? 5 : 11);
    switch (r) {
      case 0:
        return choose(['x', ctx.acc, '1u32', '7u32']);
      case 1:
      case 2:
        return fromTemporary();
      case 3:
        return bound.length > 0 ? fromBinding(choose(bound)) : 'x';
      case 4:
        return `id(${fromTemporary()})`;
      case 5: {
        // A block with a tail: its temporaries drop at the block's end (2024) or the statement's (2021).
        const inner = block(deeper, 1 + pick(2), true);
        return `{\n${inner.body}${indent(deeper)}${inner.tail}\n${indent(ctx)}}`;
      }
      case 6:
        return `if ${condition(deeper)} { ${value(deeper)} } else { ${value(deeper)} }`;
      case 7:
        return `match ${fromTemporary()} { 0 => ${value(deeper)}, n => n.wrapping_add(${value(deeper)}) }`;
      case 8:
        return `(${value(deeper)}).wrapping_add(${value(deeper)})`;
      case 9:
        return `(|| ${fromTemporary()})()`;
      default:
        return `(${fromTemporary()}).max(${value(deeper)})`;
    }
  }

  function condition(ctx: Ctx): string {
    const deeper = { ...ctx, depth: ctx.depth + 1 };
    switch (pick(ctx.depth >= 3 ? 3 : 6)) {
      case 0:
        return `(${value(deeper)}) > x`;
      case 1:
        return `${fromTemporary()} == 0`;
      case 2:
        return `s.a.try_lock().is_ok()`;
      case 3:
        return `${condition(deeper)} && ${condition(deeper)}`;
      case 4:
        return `${condition(deeper)} || (${value(deeper)}) < 3`;
      default:
        return `!s.v.lock().unwrap().is_empty()`;
    }
  }

  function returnStatement(ctx: Ctx): string {
    if (ctx.returns === 'guard') return 'return s.a.lock().unwrap();';
    return ctx.returns === 'opt' ? `return Some(${ctx.acc});` : `return ${ctx.acc};`;
  }

  function statement(ctx: Ctx): string {
    const pad = indent(ctx);
    const deeper = { ...ctx, depth: ctx.depth + 1 };
    const nested = ctx.depth < 3;
    for (;;) {
      switch (pick(49)) {
        case 0:
        case 1:
        case 2: {
          const l = lockOf();
          const mutable = l.writable && chance(0.3);
          const n = name(chance(0.2) ? '_g' : 'g');
          const s = `${pad}let ${mutable ? 'mut ' : ''}${n} = ${l.expr};`;
          ctx.bindings.push({ name: n, lock: l, mutable, gone: false, loopDepth: ctx.loopDepth, closureDepth: ctx.closureDepth });
          return s;
        }
        case 3:
          return `${pad}let _ = ${lockOf().expr};`;
        case 4:
          return `${pad}_ = ${lockOf().expr};`;
        case 5:
        case 6:
          return `${pad}${ctx.acc} += ${value(deeper)};`;
        case 7: {
          const n = name('y');
          return `${pad}let ${n} = ${value(deeper)};\n${pad}${ctx.acc} += ${n};`;
        }
        case 8: {
          if (!nested) continue;
          const t = block(deeper, 1 + pick(3));
          const e = chance(0.6) ? ` else {\n${block(deeper, pick(3)).body}${pad}}` : '';
          return `${pad}if ${condition(deeper)} {\n${t.body}${pad}}${e}`;
        }
        case 9: {
          if (!nested) continue;
          // The scrutinee's guard lives through the whole if-let (2021: into the else arm too).
          const v = name('v');
          const scrutinee = choose([`*s.o.lock().unwrap()`, `s.v.lock().unwrap().pop()`, `s.v.lock().unwrap().first().copied()`, `Some(*${lockOf('u32').expr})`]);
          const t = block(deeper, 1 + pick(2), false, `${indent(deeper)}${ctx.acc} += ${v};\n`);
          const e = chance(0.7) ? ` else {\n${block(deeper, 1 + pick(2)).body}${pad}}` : '';
          return `${pad}if let Some(${v}) = ${scrutinee} {\n${t.body}${pad}}${e}`;
        }
        case 10: {
          if (!nested) continue;
          const g = name('g');
          const lock = LOCKS[0];
          const t = block(deeper, pick(3), false, `${indent(deeper)}${ctx.acc} += *${g};\n`, { name: g, lock, mutable: false, gone: false, loopDepth: ctx.loopDepth, closureDepth: ctx.closureDepth });
          const e = chance(0.5) ? ` else {\n${block(deeper, 1).body}${pad}}` : '';
          return `${pad}if let Ok(${g}) = ${choose(['s.a.lock()', 's.a.try_lock()'])} {\n${t.body}${pad}}${e}`;
        }
        case 11: {
          if (!nested) continue;
          const a = block(deeper, 1 + pick(2));
          const b = block(deeper, pick(2));
          return `${pad}match ${fromTemporary()} {\n${indent(deeper)}0 => {\n${a.body}${indent(deeper)}}\n${indent(deeper)}_ => {\n${b.body}${indent(deeper)}}\n${pad}}`;
        }
        case 12: {
          if (!nested) continue;
          const v = name('v');
          const loop = { ...deeper, loopDepth: ctx.loopDepth + 1 };
          const t = block(loop, 1 + pick(2), false, `${indent(loop)}${ctx.acc} += ${v};\n`);
          return `${pad}while let Some(${v}) = s.v.lock().unwrap().pop() {\n${t.body}${indent(loop)}if ${ctx.acc} > x { break; }\n${pad}}`;
        }
        case 13: {
          if (!nested) continue;
          const v = name('v');
          const loop = { ...deeper, loopDepth: ctx.loopDepth + 1 };
          const iterable = choose(['s.v.lock().unwrap().iter()', 's.v.lock().unwrap().clone()', '0..*s.a.lock().unwrap()']);
          const use = iterable.endsWith('iter()') ? `*${v}` : v;
          const t = block(loop, pick(3), false, `${indent(loop)}${ctx.acc} += ${use};\n`);
          return `${pad}for ${v} in ${iterable} {\n${t.body}${pad}}`;
        }
        case 14: {
          if (!nested) continue;
          return `${pad}{\n${block(deeper, 1 + pick(3)).body}${pad}}`;
        }
        case 15:
        case 16: {
          const b = movable(ctx);
          if (b.length === 0) continue;
          const target = choose(b);
          target.gone = true;
          return `${pad}${choose(['drop', 'std::mem::drop'])}(${target.name});`;
        }
        case 17: {
          const b = movable(ctx).filter((x) => x.lock.guardType !== undefined && !x.holder);
          if (b.length === 0) continue;
          const target = choose(b);
          target.gone = true;
          return `${pad}${ctx.acc} += ${TAKERS[target.lock.guardType!]}(${target.name});`;
        }
        case 18:
          return `${pad}if ${condition(deeper)} {\n${indent(deeper)}${returnStatement(ctx)}\n${pad}}`;
        case 19: {
          if (ctx.loopDepth === 0 || !nested) continue;
          return `${pad}if ${condition(deeper)} {\n${indent(deeper)}${choose(['break;', 'continue;', ...ctx.labels.map((l) => `break ${l};`), ...ctx.labels.map((l) => `continue ${l};`)])}\n${pad}}`;
        }
        case 20: {
          if (!nested) continue;
          const label = chance(0.4) ? `'l${fresh++}` : undefined;
          const loop = { ...deeper, loopDepth: ctx.loopDepth + 1, labels: label ? [...ctx.labels, label] : ctx.labels };
          const t = block(loop, 1 + pick(3));
          return `${pad}${label ? `${label}: ` : ''}loop {\n${t.body}${indent(loop)}if ${condition(loop)} {\n${indent({ ...loop, depth: loop.depth + 1 })}break;\n${indent(loop)}}\n${pad}}`;
        }
        case 21: {
          // Shadowing ends nothing: the old guard lives to the end of its block.
          const b = usable(ctx);
          if (b.length === 0) continue;
          const target = choose(b);
          target.gone = true;
          return `${pad}let ${target.name} = ${value(deeper)};\n${pad}${ctx.acc} += ${target.name};`;
        }
        case 22: {
          // Re-assignment drops the old guard at the assignment.
          const b = movable(ctx).filter((x) => x.mutable && !x.holder);
          if (b.length === 0) continue;
          const target = choose(b);
          return `${pad}${target.name} = ${target.lock.expr};`;
        }
        case 23: {
          // Not through a closure's capture: that would make the closure FnMut.
          const b = usable(ctx).filter((x) => x.mutable && !x.holder && x.lock.target === 'u32' && x.closureDepth === ctx.closureDepth);
          if (b.length === 0) continue;
          return `${pad}*${choose(b).name} += 1;`;
        }
        case 24: {
          // Lifetime extension: the guard lives as long as the reference.
          const r = name('r');
          const init = choose(['&*s.a.lock().unwrap()', '&s.v.lock().unwrap()[0]', '&*s.rw.read().unwrap()', '&(*s.a.lock().unwrap())']);
          return `${pad}let ${r} = ${init};\n${pad}${ctx.acc} += *${r};`;
        }
        case 25: {
          const v = name('v');
          return `${pad}let Some(${v}) = ${choose(['*s.o.lock().unwrap()', 's.v.lock().unwrap().last().copied()'])} else {\n${indent(deeper)}${returnStatement(ctx)}\n${pad}};\n${pad}${ctx.acc} += ${v};`;
        }
        case 26: {
          if (ctx.returns !== 'opt') continue;
          const v = name('v');
          return `${pad}let ${v} = ${choose(['s.o.lock().unwrap().as_ref().copied()?', '(*s.o.lock().unwrap())?', 's.v.lock().unwrap().first().copied()?'])};\n${pad}${ctx.acc} += ${v};`;
        }
        case 27: {
          if (!nested || ctx.closureDepth > 0) continue;
          // A closure's guards drop inside its own body.
          const c = name('c');
          const cacc = name('cacc');
          const inner: Ctx = { bindings: [...ctx.bindings], loopDepth: 0, closureDepth: ctx.closureDepth + 1, acc: cacc, returns: 'u32', depth: ctx.depth + 1, labels: [] };
          const body = block(inner, 1 + pick(3));
          const innerPad = indent(inner);
          return `${pad}let ${c} = || {\n${innerPad}let mut ${cacc} = 0u32;\n${body.body}${innerPad}${cacc}\n${pad}};\n${pad}${ctx.acc} += ${c}();`;
        }
        case 28: {
          if (!nested) continue;
          const g = name('g');
          const a = block(deeper, pick(2), false, `${indent(deeper)}${ctx.acc} += *${g};\n`, { name: g, lock: LOCKS[0], mutable: false, gone: false, loopDepth: ctx.loopDepth, closureDepth: ctx.closureDepth });
          return `${pad}match s.a.lock() {\n${indent(deeper)}Ok(${g}) => {\n${a.body}${indent(deeper)}}\n${indent(deeper)}Err(_) => {}\n${pad}}`;
        }
        case 30:
        case 31: {
          // The guard moves into a value the binding holds: it drops with that value.
          const holder = choose(['tuple', 'some', 'struct', 'vec', 'closure', 'some'] as const);
          const n = name(holder === 'closure' ? 'c' : holder === 'vec' ? 'gs' : 'h');
          const made = { name: n, mutable: false, gone: false, loopDepth: ctx.loopDepth, closureDepth: ctx.closureDepth, holder };
          if (holder === 'closure') {
            const b = movable(ctx).filter((x) => !x.holder && x.lock.target === 'u32');
            if (b.length === 0) continue;
            const captured = choose(b);
            captured.gone = true;
            ctx.bindings.push({ ...made, lock: captured.lock });
            return `${pad}let ${n} = move || *${captured.name};\n${pad}${ctx.acc} += ${n}();`;
          }
          const l = holder === 'struct' ? choose(LOCKS.filter((k) => k.guardType === MUTEX_U32)) : lockOf('u32');
          ctx.bindings.push({ ...made, lock: l });
          if (holder === 'tuple') return `${pad}let ${n} = (${l.expr}, 1u32);`;
          if (holder === 'struct') return `${pad}let ${n} = Held { g: ${l.expr}, n: 1 };`;
          if (holder === 'vec') return `${pad}let mut ${n} = Vec::new();\n${pad}${n}.push(${l.expr});`;
          return `${pad}let ${n} = ${chance(0.3) ? 's.a.try_lock().ok()' : `Some(${l.expr})`};`;
        }
        case 32: {
          // Condvar::wait takes the guard and hands back a new one.
          const b = movable(ctx).filter((x) => !x.holder && x.lock.guardType === MUTEX_U32);
          if (b.length === 0) continue;
          const given = choose(b);
          given.gone = true;
          const n = name('g');
          ctx.bindings.push({ name: n, lock: given.lock, mutable: false, gone: false, loopDepth: ctx.loopDepth, closureDepth: ctx.closureDepth });
          const wait = chance(0.5) ? `s.cv.wait(${given.name})` : `s.cv.wait_while(${given.name}, |v| *v == 0)`;
          return `${pad}let ${n} = ${wait}.unwrap();`;
        }
        case 33: {
          if (!nested) continue;
          const label = chance(0.5) ? `'l${fresh++}` : undefined;
          const loop = { ...deeper, loopDepth: ctx.loopDepth + 1, labels: label ? [...ctx.labels, label] : ctx.labels };
          const t = block(loop, 1 + pick(2));
          // The condition runs on every iteration: kept to plain values (no statements, no moves).
          return `${pad}${label ? `${label}: ` : ''}while (${value({ ...loop, depth: 3 })}) < x {\n${t.body}${indent(loop)}if ${condition(loop)} {\n${indent({ ...loop, depth: loop.depth + 1 })}break;\n${indent(loop)}}\n${pad}}`;
        }
        case 34:
          if (ctx.returns === 'guard') continue;
          return `${pad}if ${condition(deeper)} {\n${indent(deeper)}return ${ctx.returns === 'opt' ? `Some(${fromTemporary()})` : fromTemporary()};\n${pad}}`;
        case 35: {
          if (!nested) continue;
          // A match guard's temporaries drop once it is evaluated.
          const a = block(deeper, 1 + pick(2));
          const b = block(deeper, pick(2));
          return `${pad}match ${value(deeper)} {\n${indent(deeper)}n if (${fromTemporary()}) > n => {\n${a.body}${indent(deeper)}}\n${indent(deeper)}_ => {\n${b.body}${indent(deeper)}}\n${pad}}`;
        }
        case 36: {
          const l = choose(LOCKS.filter((k) => k.guardType !== undefined));
          const n = name('g');
          ctx.bindings.push({ name: n, lock: l, mutable: false, gone: false, loopDepth: ctx.loopDepth, closureDepth: ctx.closureDepth });
          return `${pad}let ${n}: ${l.guardType} = ${l.expr};`;
        }
        case 37: {
          if (!nested) continue;
          // if-let chains of else-if-let: each scrutinee lives into the arms after it (2021).
          const v = name('v');
          const w = name('v');
          const t = block(deeper, 1, false, `${indent(deeper)}${ctx.acc} += ${v};\n`);
          const u = block(deeper, 1, false, `${indent(deeper)}${ctx.acc} += ${w};\n`);
          const e = block(deeper, 1);
          return `${pad}if let Some(${v}) = *s.o.lock().unwrap() {\n${t.body}${pad}} else if let Some(${w}) = s.v.lock().unwrap().first().copied() {\n${u.body}${pad}} else {\n${e.body}${pad}}`;
        }
        case 40: {
          // A reference to the guard itself: `let` extends the temporary to the block's end.
          const l = lockOf('u32');
          const r = name('r');
          return `${pad}let ${r} = &${l.expr};\n${pad}${ctx.acc} += **${r};`;
        }
        case 41: {
          if (!nested) continue;
          // `break` with a value out of a loop, and out of a labeled block.
          const v = name('y');
          if (chance(0.5)) return `${pad}let ${v} = loop {\n${indent(deeper)}break ${fromTemporary()};\n${pad}};\n${pad}${ctx.acc} += ${v};`;
          const label = `'b${fresh++}`;
          const inner = { ...deeper, labels: ctx.labels };
          const t = block(inner, pick(2));
          return `${pad}let ${v} = ${label}: {\n${t.body}${indent(deeper)}if ${condition(deeper)} {\n${indent({ ...deeper, depth: deeper.depth + 1 })}break ${label} ${fromTemporary()};\n${indent(deeper)}}\n${indent(deeper)}${value(deeper)}\n${pad}};\n${pad}${ctx.acc} += ${v};`;
        }
        case 42: {
          // A guard bound by a tuple pattern. One guard per tuple: the oracle follows a tuple
          // as a whole, so two guards in one would read as both moving where either does.
          // The other element is a plain value: an early exit while the tuple is half built is a
          // drop point of its own in rustc, one no source construct marks.
          const a = lockOf('u32');
          const [na, ny] = [name('g'), name('y')];
          const other = value({ ...deeper, depth: 3 });
          ctx.bindings.push({ name: na, lock: a, mutable: false, gone: false, loopDepth: ctx.loopDepth, closureDepth: ctx.closureDepth });
          return chance(0.5) ? `${pad}let (${na}, ${ny}) = (${a.expr}, ${other});` : `${pad}let (${ny}, ${na}) = (${other}, ${a.expr});`;
        }
        case 43: {
          // The guard taken back out of an Option that held it.
          const b = movable(ctx).filter((x) => x.holder === 'some');
          if (b.length === 0) continue;
          const from = choose(b);
          const n = name('g');
          if (chance(0.5)) {
            from.gone = true;
            ctx.bindings.push({ name: n, lock: from.lock, mutable: false, gone: false, loopDepth: ctx.loopDepth, closureDepth: ctx.closureDepth });
            return `${pad}let Some(${n}) = ${from.name} else {\n${indent(deeper)}${returnStatement(ctx)}\n${pad}};`;
          }
          return `${pad}if let Some(${n}) = ${from.name}.as_ref() {\n${indent(deeper)}${ctx.acc} += **${n};\n${pad}}`;
        }
        case 44:
          return `${pad}let ${name('y')} = ${lockOf('vec').expr}.clone();`;
        case 45: {
          // Poison recovery: the guard comes out of either arm of the match.
          const n = name('g');
          const [ok, err] = [name('g'), name('e')];
          const local = chance(0.5);
          const s2 = `${pad}let ${n} = match ${local ? 'm.lock()' : 's.a.lock()'} {\n${indent(deeper)}Ok(${ok}) => ${ok},\n${indent(deeper)}Err(${err}) => ${err}.into_inner(),\n${pad}};`;
          ctx.bindings.push({ name: n, lock: local ? LOCKS.find((l) => l.expr.startsWith('m.'))! : LOCKS[0], mutable: false, gone: false, loopDepth: ctx.loopDepth, closureDepth: ctx.closureDepth });
          return s2;
        }
        case 46: {
          if (!nested) continue;
          const g = name('g');
          const t = block(deeper, pick(2), false, `${indent(deeper)}*${g} += 1;\n${indent(deeper)}${ctx.acc} += *${g};\n`);
          return `${pad}if let Ok(mut ${g}) = ${choose(['s.a.lock()', 's.rw.write()', 'm.lock()'])} {\n${t.body}${pad}}`;
        }
        case 47: {
          if (!nested || ctx.closureDepth > 0) continue;
          // A scoped thread's closure: its own body, and no guard of ours may cross into it.
          const cacc = name('cacc');
          const inner: Ctx = { bindings: [], loopDepth: 0, closureDepth: ctx.closureDepth + 1, acc: cacc, returns: 'u32', depth: ctx.depth + 2, labels: [] };
          const body = block(inner, 1 + pick(3));
          const innerPad = indent(inner);
          return `${pad}std::thread::scope(|sc| {\n${indent(deeper)}sc.spawn(|| {\n${innerPad}let mut ${cacc} = 0u32;\n${body.body}${innerPad}${cacc}\n${indent(deeper)}});\n${pad}});`;
        }
        default: {
          const l = lockOf('u32');
          return `${pad}${ctx.acc} += *${l.expr} + ${fromTemporary()};`;
        }
      }
    }
  }

  /**
   * `n` statements in a new scope (bindings made in it go out of scope after), with `first`
   * (and `binding`, made by the construct that opens the block) ahead of them; `withTail` adds
   * a tail value.
   */
  function block(ctx: Ctx, n: number, withTail = false, first = '', binding?: Binding): { body: string; tail: string } {
    const mark = ctx.bindings.length;
    if (binding) ctx.bindings.push(binding);
    let body = first;
    for (let i = 0; i < n; i++) body += statement(ctx) + '\n';
    const tail = withTail ? value(ctx) : '';
    ctx.bindings.length = mark;
    return { body, tail };
  }

  const functions: string[] = [];
  let text = PRELUDE;
  for (let i = 0; i < count; i++) {
    const returns = chance(0.12) ? 'guard' : chance(0.3) ? 'opt' : 'u32';
    const fname = `f${i}`;
    functions.push(fname);
    const ctx: Ctx = { bindings: [], loopDepth: 0, closureDepth: 0, acc: 'acc', returns, depth: 1, labels: [] };
    let body = '';
    for (let n = 2 + pick(5); n > 0; n--) body += statement(ctx) + '\n';
    // A tail read through a temporary guard: where it drops differs between the editions.
    const tailValue = choose(['acc', `acc.wrapping_add(${fromTemporary(true)})`, `match ${fromTemporary(true)} {\n        0 => acc,\n        n => n,\n    }`]);
    // A guard handed to the caller: a binding of the body's own (not of the local lock `m`), or a fresh one.
    const returnable = movable(ctx).filter((b) => !b.holder && b.lock.guardType === MUTEX_U32 && !b.lock.expr.startsWith('m.'));
    const tail = returns === 'guard' ? (returnable.length > 0 && chance(0.7) ? choose(returnable).name : choose(LOCKS.filter((l) => l.guardType === MUTEX_U32 && !l.expr.startsWith('m.'))).expr) : returns === 'opt' ? `Some(${tailValue})` : tailValue;
    const result = returns === 'guard' ? "MutexGuard<'a, u32>" : returns === 'opt' ? 'Option<u32>' : 'u32';
    const fn = `pub fn ${fname}<'a>(s: &'a S, x: u32) -> ${result} {\n    let m = Mutex::new(x);\n    let mut acc = 0u32;\n${body}    ${tail}\n}\n`;
    // Some are methods, the locks then reached through `self`.
    text += chance(0.3) ? `\nimpl S {\n${fn.replace("(s: &'a S,", "(&'a self,").replace(/\bs\./g, 'self.')}}\n` : `\n${fn}`;
  }
  return { text, functions };
}

function indent(ctx: Ctx): string {
  return '    '.repeat(ctx.depth);
}
