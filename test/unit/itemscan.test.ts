// The one-shot path: declarations read from the text (itemscan.ts) must equal the ones collected
// from the tree, and a check that parses only the functions it looks into must report exactly
// what a check of whole trees reports.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { textClosures } from '../../server/src/analysis/closures';
import { closureSpanOf, needsTree, readBody, type BodyText } from '../../server/src/analysis/functions';
import { codeMarkingLiterals, codeOnly } from '../../server/src/analysis/lexical';
import { CrateView } from '../../server/src/analysis/resolve';
import { scanDeclarations } from '../../server/src/analysis/itemscan';
import { checkWorkspace, type CheckResult } from '../../server/src/workspace/check';
import { discoverWorkspace } from '../../server/src/workspace/discover';
import { workspaceFindings, workspaceGraph } from '../../server/src/workspace/graph';
import { getTestEngine, ROOT, rustFiles } from '../support/engine-harness';
import { prng } from '../support/random';
import { buildCrateIndex } from '../../server/src/analysis';

const REGISTRY = '/usr/share/cargo/registry';


async function compareWithTree(text: string, file = 'src/lib.rs'): Promise<'same' | 'gave up' | 'syntax errors'> {
  const engine = await getTestEngine();
  const parsed = engine.parse(text);
  try {
    const scanned = engine.scan(text, file);
    if (parsed.syntaxErrors > 0) return 'syntax errors';
    if (!scanned) return 'gave up';
    assert.deepStrictEqual(scanned.declarations, engine.declarations(parsed, file));
    return 'same';
  } finally {
    parsed.dispose();
  }
}

describe('declarations read from the text', () => {
  test('every item form: the same declarations as the tree, positions included (CRLF, non-ASCII)', async () => {
    const text = [
      '#![allow(dead_code)]',
      '//! crate docs with a { brace',
      'use std::sync::{Arc, Mutex as M, RwLock, self};',
      'use parking_lot::*;',
      'pub(crate) use ::std::collections::{HashMap, hash_map::{self, Entry}};',
      'use std::io::Write as _;',
      'extern crate alloc;',
      '/// A struct with "quotes" } and a brace in a comment',
      '#[derive(Default)]',
      'pub struct Catalog<T: Clone, const N: usize = 3> where T: Send {',
      '    #[allow(unused)] pub(crate) load: RwLock<Vec<T>>, // trailing } comment',
      '    /* block */ machines: Arc<Mutex<HashMap<String, fn(u8) -> u8>>>,',
      '    r#type: Mutex<[u8; N]>,',
      '}',
      'struct Pair(pub Mutex<u8>, /* inline */ pub(crate) RwLock<String>);',
      'pub struct Unit;',
      'struct Empty(pub ());',
      'enum E { A { x: Mutex<u8> }, B(u8) }',
      'union U { a: u32, b: f32 }',
      'type Alias<T> = Mutex<T>;',
      'static GLOBAL: Mutex<Vec<u8>> = Mutex::new(Vec::new());',
      "static mut NAME: &str = \"é } { ;\";",
      "const CH: char = '}';",
      'const _: () = { impl Catalog<u8, 3> { fn hidden(&self) {} } };',
      'lazy_static::lazy_static! { static ref CACHE: Mutex<u32> = Mutex::new(0); }',
      'macro_rules! noisy { ($x:expr) => { fn inside() {} }; }',
      'noisy!(1);',
      'cfg_rt! { pub fn in_macro() {} }',
      'extern "C" { fn ffi(x: i32) -> i32; }',
      'pub const unsafe extern "C" fn c_abi(x: i32) -> i32 { x }',
      "pub(crate) async fn fetch<'a, F: Fn(&'a str) -> bool>(&(a, b): &(u8, u8), mut f: F, #[allow(unused)] _: u8) -> Result<(), Box<dyn std::error::Error>> where F: Send { Ok(()) }",
      'impl<T: Clone, const N: usize> Catalog<T, N> where T: Send {',
      '    const LIMIT: usize = 4;',
      '    pub fn get(&self, k: &str) -> Option<std::sync::RwLockReadGuard<\'_, Vec<T>>> { self.load.read().ok() }',
      "    fn by_ref<'a>(&'a mut self) {}",
      '    fn loads(&self) -> &RwLock<Vec<T>> { /* the } load */ &self.load }',
      '    fn machines(&self) -> Arc<Mutex<HashMap<String, fn(u8) -> u8>>> { Arc::clone(&self.machines) }',
      "    fn global() -> &'static Mutex<Vec<u8>> { &GLOBAL }",
      '    fn not_a_path(&self) -> &Mutex<[u8; N]> { let r = &self.r#type; r }',
      "    fn guard(&self) -> std::sync::RwLockReadGuard<'_, Vec<T>> { self.load.read().expect(\"a ) in a literal\") }",
      '    fn boxed(self: Box<Self>) {}',
      '    fn consume(mut self) {}',
      '}',
      'impl<F: FnOnce() -> u8> std::fmt::Debug for Wrapper<F> { fn fmt(&self, f: &mut std::fmt::Formatter<\'_>) -> std::fmt::Result { Ok(()) } }',
      'unsafe impl Send for Unit {}',
      'impl !Sync for Empty {}',
      'pub trait Store: Send + Sync where Self: Sized {',
      '    type Item;',
      '    const N: usize;',
      '    fn put(&self, x: u8);',
      '    fn default_method(&self) -> u8 { 1 }',
      '}',
      'pub mod db {',
      '    use std::sync::Mutex;',
      '    pub struct Odb { pub lock: Mutex<()> }',
      '    mod nested { pub fn deep() {} }',
      '    pub mod decl;',
      '}',
      'fn größe() -> usize { "é".len() }',
      'fn r#match() {}',
      '',
    ].join('\r\n');
    assert.equal(await compareWithTree(text), 'same');
    assert.equal(await compareWithTree(text.replace(/\r\n/g, '\n'), 'src/db/mod.rs'), 'same');
    const engine = await getTestEngine();
    const paths = Object.fromEntries(engine.scan(text, 'lib.rs')!.declarations.functions.filter((f) => f.lockPath !== undefined).map((f) => [f.name, f.lockPath]));
    assert.deepEqual(paths, { loads: 'self.load', machines: 'self.machines', global: 'GLOBAL', guard: 'self.load' });
  });

  test('an explicit import wins over a glob import of a lock module, before or after it', async () => {
    const engine = await getTestEngine();
    for (const text of ['use std::sync::RwLock;\nuse parking_lot::*;\n', 'use parking_lot::*;\nuse std::sync::RwLock;\n']) {
      const parsed = engine.parse(text);
      const fromTree = engine.declarations(parsed, 'lib.rs');
      parsed.dispose();
      assert.equal(fromTree.imports.RwLock, 'std::sync::RwLock', text);
      assert.equal(fromTree.imports.Mutex, 'parking_lot::Mutex', text);
      assert.deepStrictEqual(engine.scan(text, 'lib.rs')!.declarations.imports, fromTree.imports, text);
    }
  });

  test('text that is not a plain list of items is left to the parser', async () => {
    const engine = await getTestEngine();
    const cases = {
      'a nested block comment': 'fn a() {}\n/* outer /* inner */ still a comment fn b() {} */\nfn c() {}\n',
      'an unclosed body': 'fn a() {\n    let x = 1;\n',
      'a stray closing brace': 'fn a() {}\n}\nfn b() {}\n',
      'a statement among items': 'fn a() {}\nlet x = 1;\n',
      'a control character outside literals': 'fn a() {}\n\u0001\n',
    };
    for (const [what, text] of Object.entries(cases)) assert.equal(engine.scan(text, 'lib.rs'), undefined, what);
    // The same check in the scanner itself, given code from codeMarkingLiterals.
    assert.equal(codeMarkingLiterals(cases['a nested block comment']), undefined);
    assert.equal(scanDeclarations(cases['an unclosed body'], 'lib.rs', codeMarkingLiterals(cases['an unclosed body'])!), undefined);
  });

  test("the repository's fixtures and examples: the same declarations as the tree", async () => {
    const files = [...rustFiles(path.join(ROOT, 'test', 'fixtures')), ...rustFiles(path.join(ROOT, 'examples'))];
    assert.ok(files.length > 40);
    const outcomes = new Map<string, number>();
    for (const f of files) {
      const o = await compareWithTree(fs.readFileSync(f, 'utf8'), path.relative(ROOT, f));
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
    }
    assert.equal(outcomes.get('gave up') ?? 0, 0, JSON.stringify([...outcomes]));
  });

  test("every crate in Debian's registry: the same declarations as the tree, and the scanner rarely gives up", async (t) => {
    if (!fs.existsSync(path.join(REGISTRY, 'tokio-1.24.2'))) return t.skip('librust-tokio-dev is not installed');
    const files = rustFiles(REGISTRY);
    const outcomes = new Map<string, number>();
    const failures: string[] = [];
    for (const f of files) {
      let text = fs.readFileSync(f, 'utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      try {
        const o = await compareWithTree(text, path.relative(REGISTRY, f));
        outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
      } catch (e) {
        failures.push(`${path.relative(REGISTRY, f)}: ${(e as Error).message.slice(0, 400)}`);
      }
    }
    assert.deepEqual(failures, []);
    const same = outcomes.get('same') ?? 0;
    assert.ok(same > 500, `compared ${same} files`);
    // Giving up is safe (the file is parsed), but it must stay the exception.
    assert.ok((outcomes.get('gave up') ?? 0) <= same / 100, JSON.stringify([...outcomes]));
  });
});

describe('closures read from the text', () => {
  /** Per function body: the closures the tree has, and what the text says (when it is sure). */
  async function compareClosures(text: string): Promise<{ compared: number; unsure: number }> {
    const engine = await getTestEngine();
    const marked = codeMarkingLiterals(text);
    if (marked === undefined) return { compared: 0, unsure: 0 };
    const parsed = engine.parse(text);
    let compared = 0;
    let unsure = 0;
    try {
      for (const fn of parsed.tree.rootNode.descendantsOfType('function_item')) {
        const body = fn?.childForFieldName('body');
        if (!fn || !body || /\bfn\s+[A-Za-z_]/.test(marked.slice(body.startIndex, body.endIndex))) continue;
        const fromText = textClosures(marked.slice(body.startIndex, body.endIndex), body.startIndex);
        if (!fromText) {
          unsure++;
          continue;
        }
        const fromTree = body
          .descendantsOfType(['closure_expression', 'async_block'])
          .filter((n): n is NonNullable<typeof n> => !!n)
          .sort((a, b) => a.startIndex - b.startIndex)
          .map((n) => {
            const { node: _n, ...span } = closureSpanOf(n);
            return span;
          });
        assert.deepStrictEqual(fromText, fromTree, text.slice(fn.startIndex, Math.min(fn.endIndex, fn.startIndex + 300)));
        compared++;
      }
    } finally {
      parsed.dispose();
    }
    return { compared, unsure };
  }

  test('closures and async blocks in every shape: the same spans, in-place calls and argument places as the tree', async () => {
    const text = [
      'fn f(v: Vec<u8>, m: Mutex<u8>) {',
      '    let a = v.iter().map(|x| x + 1).filter(|&x| x > 2).count();',
      '    std::thread::spawn(move || { work(); });',
      '    pool.run(1, |job: Box<dyn Fn(u8) -> u8>| job(2), move || done());',
      '    let b = flags | MASK; let c = x || y; let d = (x | y) & z;',
      "    let e = b'a' | 0x20; let s = \"|\" ;",
      '    with_state(|s| { s.touch(); });',
      '    let h = Handle::spawn::<u8>(async move { go().await });',
      '    let r = async { 1 }.await;',
      '    let f2 = async move { 2 };',
      '    assert!(v.iter().any(|x| *x == 0));',
      '    match k { A | B => (), C => v.sort_by(|a, b| a.cmp(b)) }',
      '    let t = (|x: u8| x)(1);',
      '    call(&|x| x);',
      '    let g = |x| -> u8 { x };',
      '    let w = HashMap::<u8, u8>::new(); go(w, |a, b| a + b);',
      '    if !(ok) { retry(|| again()); }',
      '    return || final_call();',
      '}',
    ].join('\n');
    assert.deepEqual(await compareClosures(text), { compared: 1, unsure: 0 });
  });

  test('on every function of tokio, when it is installed; the text is rarely unsure', async (t) => {
    const tokio = path.join(REGISTRY, 'tokio-1.24.2');
    if (!fs.existsSync(tokio)) return t.skip('librust-tokio-dev is not installed');
    let compared = 0;
    let unsure = 0;
    for (const f of rustFiles(tokio)) {
      const r = await compareClosures(fs.readFileSync(f, 'utf8'));
      compared += r.compared;
      unsure += r.unsure;
    }
    assert.ok(compared > 3000, `${compared} compared`);
    assert.ok(unsure <= compared / 50, `${unsure} unsure of ${compared}`);
  });
});

describe('broken and unusual text', () => {
  test('a function whose text reads as an item but whose span parses otherwise: the file is analysed whole', async () => {
    const engine = await getTestEngine();
    // An unclosed string after the body: the text sees the body end at `}`, tree-sitter does not.
    const text = 'pub fn settle() {\n    let accounts = ACCOUNTS.lock().unwrap();\n    betafn f() {}::record(accounts.len() as u64);\n"}';
    const scanned = engine.scan(text, 'lib.rs')!;
    assert.ok(scanned, 'the text reads as items');
    const parsed = engine.parse(text);
    try {
      const fromTree = engine.declarations(parsed, 'lib.rs');
      assert.notDeepEqual(scanned.declarations.functions[0].range, fromTree.functions[0].range);
      const whole = engine.analyzeFile(parsed, 'lib.rs', buildCrateIndex('2021', [fromTree]), { edition: '2021' });
      assert.ok(whole.syntaxErrors > 0 && whole.findings.some((f) => f.rule === 'poison-unwrap'));
      // As a check sees it: the crate index has what the text declared.
      assert.deepStrictEqual(engine.analyzeFile(scanned, 'lib.rs', buildCrateIndex('2021', [scanned.declarations]), { edition: '2021' }), whole);
    } finally {
      parsed.dispose();
    }
  });

  test('random edits of real files: scanning never throws, and whenever the edited text parses cleanly, scan and tree agree', async () => {
    const engine = await getTestEngine();
    const sources = [...rustFiles(path.join(ROOT, 'examples', 'demo-crate')), ...rustFiles(path.join(ROOT, 'test', 'fixtures', 'graph'))].map((f) => fs.readFileSync(f, 'utf8'));
    const snippets = ['{', '}', '(', ')', '[', ']', '"', "'", '/*', '*/', '//', ';', '|', '||', 'fn f() {}', 'impl X {', 'async move {', 'r#"', '#[cfg(x)]', 'é🦀', '\r\n'];
    const pick = prng(20261122);
    let scanned = 0;
    let compared = 0;
    for (let round = 0; round < 400; round++) {
      let text = sources[pick(sources.length)];
      for (let k = 1 + pick(3); k > 0; k--) {
        const at = pick(text.length + 1);
        const cut = pick(3) === 0 ? 1 + pick(20) : 0;
        text = text.slice(0, at) + (cut ? '' : snippets[pick(snippets.length)]) + text.slice(at + cut);
      }
      const result = engine.scan(text, 'src/lib.rs');
      if (!result) continue;
      scanned++;
      const parsed = engine.parse(text);
      try {
        const index = buildCrateIndex('2021', [result.declarations]);
        const fromScan = engine.analyzeFile(result, 'src/lib.rs', index, { edition: '2021' });
        if (parsed.syntaxErrors > 0) continue;
        assert.deepStrictEqual(result.declarations, engine.declarations(parsed, 'src/lib.rs'), text);
        assert.deepStrictEqual(fromScan, engine.analyzeFile(parsed, 'src/lib.rs', index, { edition: '2021' }), text);
        compared++;
      } finally {
        parsed.dispose();
      }
    }
    assert.ok(scanned > 100 && compared > 50, `${scanned} scanned, ${compared} compared`);
  });
});

describe('parsing parts of a file', () => {
  test('a span asked for but not prepared is parsed on its own; syntax errors count only parsed spans', async () => {
    const engine = await getTestEngine();
    const text = 'fn a() { let x = ; }\nfn b() { b2(); }\nfn c() { c2(); }\n';
    const span = (from: number, to: number) => ({
      startIndex: from,
      endIndex: to,
      startPosition: { row: text.slice(0, from).split('\n').length - 1, column: from - (text.lastIndexOf('\n', from - 1) + 1) },
      endPosition: { row: text.slice(0, to).split('\n').length - 1, column: to - (text.lastIndexOf('\n', to - 1) + 1) },
    });
    const b = span(text.indexOf('fn b'), text.indexOf('fn c') - 1);
    const c = span(text.indexOf('fn c'), text.length - 1);
    const trees = engine['host'].partial(text);
    try {
      trees.prepare([b]);
      const rootB = trees.rootFor(b);
      assert.equal(rootB.namedChildren.length, 1, 'only the prepared function is in the tree');
      assert.equal(rootB.namedChildren[0]!.text, 'fn b() { b2(); }');
      assert.deepEqual(rootB.namedChildren[0]!.startPosition, { row: 1, column: 0 }, 'positions are those of the whole text');
      assert.equal(trees.syntaxErrors, 0);
      const rootC = trees.rootFor(c);
      assert.notEqual(rootC, rootB);
      assert.equal(rootC.namedChildren[0]!.text, 'fn c() { c2(); }');
      assert.equal(trees.roots().length, 2);
      trees.rootFor(span(0, text.indexOf('fn b') - 1));
      assert.ok(trees.syntaxErrors > 0, 'the broken function, once parsed, counts');
    } finally {
      trees.dispose();
    }
    // A whole parse afterwards sees the whole text again.
    const whole = engine.parse(text);
    assert.equal(whole.tree.rootNode.namedChildren.length, 3);
    whole.dispose();
  });
});

describe('a check that parses only what it looks into', () => {
  const fixtureCrates = (): string[] => {
    const out: string[] = [path.join(ROOT, 'examples', 'demo-crate')];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        const p = path.join(dir, e.name);
        if (fs.existsSync(path.join(p, 'Cargo.toml'))) out.push(p);
        else walk(p);
      }
    };
    walk(path.join(ROOT, 'test', 'fixtures'));
    return out.filter((p) => fs.existsSync(p));
  };

  const everything = async (dir: string, fullParse: boolean) => {
    const result: CheckResult = await checkWorkspace(discoverWorkspace(dir), { threads: 1, fullParse });
    const graph = workspaceGraph(result);
    const { timings: _t, ...rest } = result;
    return { ...rest, graph, graphFindings: workspaceFindings(result, graph) };
  };

  test('reports exactly what a check of whole trees reports, on every fixture crate', async () => {
    const crates = fixtureCrates();
    assert.ok(crates.length >= 8, crates.join(', '));
    for (const dir of crates) assert.deepStrictEqual(await everything(dir, false), await everything(dir, true), dir);
  });

  test('and on tokio, when it is installed', async (t) => {
    const tokio = path.join(REGISTRY, 'tokio-1.24.2');
    if (!fs.existsSync(tokio)) return t.skip('librust-tokio-dev is not installed');
    const lazy = await everything(tokio, false);
    assert.ok(lazy.findings.length > 0 && lazy.graph.edges.length > 0, `${lazy.findings.length} findings, ${lazy.graph.edges.length} edges`);
    assert.deepStrictEqual(lazy, await everything(tokio, true));
  });

  test('a file that cannot be scanned is parsed whole, and its syntax errors are reported', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-scan-'));
    try {
      fs.writeFileSync(path.join(dir, 'lib.rs'), 'use std::sync::Mutex;\nfn f(m: &Mutex<u8>) { let _ = m.lock().unwrap(); }\nfn broken( {\n');
      const result = await checkWorkspace(discoverWorkspace(path.join(dir, 'lib.rs')), { threads: 1 });
      assert.ok(result.messages.some((m) => /syntax error/.test(m)), result.messages.join('\n'));
      assert.ok(result.findings.some((f) => f.rule === 'let-underscore-lock'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('calls of guard-returning functions', () => {
  test('a method call is a candidate wherever the receiver can be typed; untyped receivers are skipped', async () => {
    const text = [
      'use std::sync::{Arc, Mutex, MutexGuard};',
      'pub struct Catalog { m: Mutex<u8>, v: Vec<Catalog> }',
      'impl Catalog {',
      "    pub fn state(&self) -> MutexGuard<'_, u8> { self.m.lock().unwrap() }",
      '    fn direct(&self) -> u8 { *self.state() }',
      '    fn cloned(this: &Arc<Catalog>) -> u8 { *this.clone().state() }',
      '    fn parenthesised(&self) -> u8 { *(self).state() }',
      '    fn built() -> u8 { *Catalog::new().state() }',
      '    fn path(&self) -> u8 { *Catalog::state(self) }',
      '    fn indexed(&self) -> u8 { *self.v[0].state() }',
      '    fn first(&self) -> u8 { *self.v.first().unwrap().state() }',
      '    fn new() -> Catalog { Catalog { m: Mutex::new(0), v: Vec::new() } }',
      '}',
    ].join('\n');
    const { analyze } = await import('../support/engine-harness');
    const result = await analyze(text);
    const byFunction = (name: string) => result.acquisitions.filter((a) => a.functionName === `Catalog::${name}` && a.method === 'state').length;
    for (const name of ['direct', 'cloned', 'parenthesised', 'built', 'path']) assert.equal(byFunction(name), 1, name);
    // Receivers the resolver cannot type, with or without the tree: `v[0]`, `x.first().unwrap()`.
    assert.equal(byFunction('indexed'), 0);
    assert.equal(byFunction('first'), 0);
  });
});

/** How the one-shot path reads each function body of a one-file crate (readBody, as the engine calls it), by qualified name. */
async function readBodies(text: string): Promise<Map<string, BodyText>> {
  const engine = await getTestEngine();
  const scanned = engine.scan(text, 'lib.rs');
  assert.ok(scanned, 'the fixture scans');
  const view = new CrateView(buildCrateIndex('2021', [scanned.declarations]));
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const out = new Map<string, BodyText>();
  for (const d of scanned.declarations.functions) {
    if (!d.bodyRange) continue;
    const from = lineStarts[d.bodyRange.start.line] + d.bodyRange.start.column;
    const to = lineStarts[d.bodyRange.end.line] + d.bodyRange.end.column;
    out.set(d.qualifiedName, readBody(codeOnly(text.slice(from, to)), view, d, scanned.code.slice(from, to), from));
  }
  return out;
}

describe('which bodies may take a lock (read from the text, before any parse)', () => {
  test('try_* lock methods with the argument counts the analysis accepts; I/O of the same name is not parsed', async () => {
    const text = [
      'use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};',
      'pub struct Io;',
      'impl Io { pub fn try_read(&self, _b: &mut [u8]) -> usize { 0 } pub fn try_write_vectored(&self, _b: &[u8]) -> usize { 0 } }',
      'pub fn io_read(s: &Io, buf: &mut [u8]) -> usize { s.try_read(buf) }',
      'pub fn io_vectored(s: &Io) -> usize { s.try_write_vectored(&[]) }',
      'pub fn try_lock(m: &Mutex<u8>) -> bool { m.try_lock().is_ok() }',
      'pub fn timed(m: &parking_lot::Mutex<u8>) -> bool { m.try_lock_for(std::time::Duration::from_millis(1)).is_some() }',
      'pub fn owned(m: Arc<tokio::sync::Mutex<u8>>) -> bool { m.try_lock_owned().is_ok() }',
      'pub fn read_lock(r: &RwLock<u8>) -> u8 { *r.try_read().unwrap() }',
      'pub fn waits(cv: &Condvar, g: MutexGuard<\'_, u8>) -> u8 { *cv.wait(g).unwrap() }',
      '',
    ].join('\n');
    const candidates = new Map([...(await readBodies(text))].map(([name, body]) => [name, body.candidate]));
    assert.deepEqual(Object.fromEntries(candidates), {
      'Io::try_read': false,
      'Io::try_write_vectored': false,
      io_read: false,
      io_vectored: false,
      try_lock: true,
      timed: true,
      owned: true,
      read_lock: true,
      waits: true,
    });
    // The analysis agrees (the harness also compares the one-shot path, which parses only the candidates, with the whole tree).
    const { analyze } = await import('../support/engine-harness');
    const locked = new Set((await analyze(text)).acquisitions.map((a) => a.functionName));
    assert.deepEqual([...locked].sort(), ['owned', 'read_lock', 'timed', 'try_lock']);
  });
});

describe('which bodies may call a guard-returning function (read from the text, before any parse)', () => {
  /** Whether each function of a one-file crate would be parsed, by qualified name. */
  const treeWanted = async (text: string): Promise<Map<string, boolean>> => {
    const out = new Map<string, boolean>();
    for (const [name, body] of await readBodies(text)) out.set(name, needsTree(body));
    return out;
  };

  // Every way FunctionResolver.typeOf can give a receiver the guard method's Self type, and every
  // path form guardReturningCall accepts. `analyze` also proves each is parsed in the one-shot
  // path (it compares that path's result with the whole tree's). No field or static has the type
  // in the first crate, so there the function's own text (or signature) must say it.
  const guardFunctions = [
    'use std::sync::{Arc, Mutex, MutexGuard};',
    'pub struct Catalog { m: Mutex<u8> }',
    'pub static LOCK: Mutex<u8> = Mutex::new(0);',
    'impl Catalog {',
    "    pub fn state(&self) -> MutexGuard<'_, u8> { self.m.lock().unwrap() }",
    '    pub fn new() -> Catalog { Catalog { m: Mutex::new(0) } }',
    '    fn by_self(&self) -> u8 { *self.state() }',
    '    fn by_self_path(&self) -> u8 { *Self::state(self) }',
    '}',
    "pub fn free_state() -> MutexGuard<'static, u8> { LOCK.lock().unwrap() }",
    "pub mod registry { pub fn state() -> std::sync::MutexGuard<'static, u8> { crate::LOCK.lock().unwrap() } }",
  ];
  const bySignatureOrText = [
    ...guardFunctions,
    'pub fn by_param(c: &Catalog) -> u8 { *c.state() }',
    'pub fn by_shared_param(c: Arc<Catalog>) -> u8 { *c.state() }',
    'pub fn by_local_type() -> u8 { let c: Catalog = Catalog::new(); let v = *c.state(); v }',
    'pub fn by_constructor() -> u8 { *Catalog::new().state() }',
    'pub fn by_type_path(c: &Catalog) -> u8 { *Catalog::state(c) }',
    'pub fn by_free() -> u8 { *free_state() }',
    'pub fn by_module() -> u8 { *registry::state() }',
    'pub fn by_crate_path() -> u8 { *crate::registry::state() }',
  ].join('\n');
  const byDeclarations = [
    ...guardFunctions,
    'pub struct Holder { inner: Catalog }',
    'pub static GLOBAL: Catalog = Catalog { m: Mutex::new(0) };',
    'pub fn by_field(h: &Holder) -> u8 { *h.inner.state() }',
    'pub fn by_local_from_field(h: &Holder) -> u8 { let c = &h.inner; let v = *c.state(); v }',
    'pub fn by_static() -> u8 { *GLOBAL.state() }',
  ].join('\n');

  for (const [what, text, names] of [
    ['written in the function', bySignatureOrText, ['Catalog::by_self', 'Catalog::by_self_path', 'by_param', 'by_shared_param', 'by_local_type', 'by_constructor', 'by_type_path', 'by_free', 'by_module', 'by_crate_path']],
    ['reached through a field or a static', byDeclarations, ['by_field', 'by_local_from_field', 'by_static']],
  ] as const) {
    test(`every body that can reach one is parsed and finds the call: ${what}`, async () => {
      const wanted = await treeWanted(text);
      const { analyze } = await import('../support/engine-harness');
      const result = await analyze(text);
      for (const name of names) {
        assert.equal(wanted.get(name), true, name);
        assert.equal(result.acquisitions.filter((a) => a.functionName === name && /state$/.test(a.method)).length, 1, name);
      }
    });
  }

  test('bodies that cannot reach one are left unparsed', async () => {
    const text = [
      'use std::sync::{Mutex, MutexGuard};',
      'use std::io::Read;',
      'pub struct Catalog { m: Mutex<u8> }',
      'pub struct Other;',
      'impl Catalog {',
      "    pub fn state(&self) -> MutexGuard<'_, u8> { self.m.lock().unwrap() }",
      "    pub fn read(&self) -> MutexGuard<'_, u8> { self.m.lock().unwrap() }",
      '}',
      'impl Other { pub fn state(&self) -> u8 { 0 } }',
      // The receiver's type is never Catalog: not Self, not in a field, a static or this function.
      'pub fn other_receiver(o: &Other) -> u8 { o.state() }',
      // A lock method's name is a lock call (with no arguments) or not a lock at all, never a guard function.
      'pub fn io_read(f: &mut std::fs::File, buf: &mut [u8]) -> usize { f.read(buf).unwrap_or(0) }',
      // A path whose qualifier names another type or module, and a bare name with no free function.
      'pub fn other_path(o: &Other) -> u8 { Other::state(o) }',
      'pub fn bare(o: &Other) -> u8 { let state = |o: &Other| o.state(); state(o) }',
      // Receivers the resolver never types.',
      'pub fn indexed(v: &[Other]) -> u8 { v[0].state() }',
    ].join('\n');
    const wanted = await treeWanted(text);
    for (const name of ['other_receiver', 'io_read', 'other_path', 'indexed']) assert.equal(wanted.get(name), false, name);
    // `bare` has a closure, which may need the tree for other reasons; its acquisitions must still match.
    const { analyze } = await import('../support/engine-harness');
    const result = await analyze(text);
    assert.deepEqual(result.acquisitions.filter((a) => a.method === 'state' || a.method === 'read').map((a) => a.functionName), []);
  });
});

describe('functions declared inside a body, read from the text (a body that takes no lock is not parsed for them)', () => {
  const fixture = [
    'use std::sync::Mutex;',
    'pub static M: Mutex<u8> = Mutex::new(0);',
    'pub fn plain() -> u32 { fn helper(x: u32) -> u32 { x + 1 } helper(1) }',
    'pub fn modifiers() { pub(crate) const unsafe fn a() {} pub /* async */ fn c() {} default_like(); unsafe { a(); } }',
    'pub fn asyncs() { async fn b() {} let _ = b(); }',
    'pub fn default_like() {}',
    'pub fn generic() -> u8 { fn g<T: Fn() -> u8 + Clone, const N: usize>(f: T) -> [u8; N] where T: Clone { [f(); N] } g::<_, 1>(|| 1)[0] }',
    'pub fn with_impl() { struct S<T>(T); impl<T> S<T> { fn get(&self) -> &T { &self.0 } } impl std::fmt::Debug for S<u8> { fn fmt(&self, f: &mut std::fmt::Formatter<\'_>) -> std::fmt::Result { let _ = f; Ok(()) } } let _ = S(1u8).get(); }',
    'pub fn in_closure() { let c = || { fn inner() -> u8 { *M.lock().unwrap() } inner() }; c(); std::thread::spawn(move || { fn later() {} later() }); }',
    'pub fn deeper() { fn a() { fn b() { let _g = M.lock().unwrap(); } b() } a() }',
    'pub fn in_macro() { let _ = stringify!(fn not_an_item() {}); }',
    'pub fn in_mod() { mod m { pub fn f() {} } m::f() }',
    'pub fn with_trait() { trait T { fn d(&self) {} fn s(&self); } }',
    'pub fn extern_block() { extern "C" { fn abs(x: i32) -> i32; } let _ = unsafe { abs(-1) }; }',
    'pub fn raw() { fn r#match() {} r#match() }',
  ].join('\n');

  test('the analysis equals the tree\'s, nested functions and their locks included', async () => {
    const { analyze } = await import('../support/engine-harness');
    const result = await analyze(fixture);
    const names = result.functions.map((f) => f.qualifiedName);
    for (const n of ['plain::helper', 'modifiers::a', 'asyncs::b', 'modifiers::c', 'generic::g', 'with_impl::get', 'with_impl::fmt', 'in_closure::inner', 'in_closure::later', 'deeper::a', 'a::b', 'in_mod::f', 'raw::r#match']) {
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    }
    assert.ok(!names.some((n) => n.endsWith('not_an_item')), 'a `fn` in macro arguments is not an item');
    assert.equal(result.functions.find((f) => f.qualifiedName === 'with_impl::get')?.selfType, 'S');
    assert.equal(result.functions.find((f) => f.qualifiedName === 'asyncs::b')?.isAsync, true);
    assert.equal(result.functions.find((f) => f.qualifiedName === 'modifiers::c')?.isAsync, true, 'isAsync reads the item text, comments included, as the tree path does');
    assert.ok(result.acquisitions.some((a) => a.functionName === 'a::b'));
  });

  test('plain bodies are read from the text; bodies the text cannot place are parsed', async () => {
    const bodies = await readBodies(fixture);
    const read = (name: string) => bodies.get(name)!;
    const nestedNames = (name: string) => read(name).nestedFns?.map((n) => n.name);
    assert.deepEqual(nestedNames('plain'), ['helper']);
    assert.deepEqual(nestedNames('modifiers'), ['a', 'c']);
    assert.deepEqual(nestedNames('asyncs'), ['b']);
    assert.deepEqual(nestedNames('generic'), ['g']);
    assert.deepEqual(nestedNames('with_impl'), ['get', 'fmt']);
    assert.deepEqual(nestedNames('in_macro'), []);
    assert.deepEqual(nestedNames('in_mod'), ['f']);
    const impl = read('with_impl').nestedFns!;
    assert.deepEqual(impl.map((n) => fixture.slice(n.selfTypeSpan![0], n.selfTypeSpan![1])), ['S<T>', 'S<u8>']);
    const helper = read('plain').nestedFns![0];
    assert.equal(fixture.slice(helper.startIndex, helper.endIndex), 'fn helper(x: u32) -> u32 { x + 1 }');
    const a = read('modifiers').nestedFns![0];
    assert.equal(fixture.slice(a.startIndex, a.nameEnd), 'pub(crate) const unsafe fn a');
    for (const name of ['plain', 'modifiers', 'generic', 'with_impl', 'in_mod']) assert.equal(needsTree(read(name)), false, name);
    // A trait's methods may have no body, an extern block's never do, a raw name reads otherwise.
    for (const name of ['with_trait', 'extern_block', 'raw']) assert.equal(read(name).nestedFns, undefined, name);
  });
});
