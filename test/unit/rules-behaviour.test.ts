// What each rule says and how it reacts to engine options: messages name the lock class, the
// mode and where the guard is acquired and released; severities; edition-dependent wording.
// Engine bugs found while writing these (outside the rule files) are `todo` tests at the end.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { Finding } from '../../server/src/analysis/model';
import { analyze, findingAt, lineOf, readRuleFixture } from '../support/engine-harness';
import { applyFix } from '../support/engine-fixes';

const only = (fs: Finding[], rule: string) => fs.filter((f) => f.rule === rule);

/** The message names the lock class, a mode word, and the given `line N` mentions. */
function assertNames(f: Finding, lock: string, mode: RegExp, lines: number[] = []): void {
  assert.ok(f.message.includes(`\`${lock}\``), `lock class ${lock} missing: ${f.message}`);
  assert.match(f.message, mode, `mode missing: ${f.message}`);
  for (const l of lines) assert.match(f.message, new RegExp(`line ${l}\\b`), `line ${l} missing: ${f.message}`);
}

describe('scrutinee-guard', () => {
  const text = readRuleFixture('scrutinee_guard.rs');
  const ifLet = lineOf(text, 'if let Some(Load::Local(load))');
  const elseLine = lineOf(text, '} else {', 'if let Some(Load::Local(load))');

  test('Fly.io catalog, edition 2021: names the else arm and says edition 2024 differs; related points at the else arm', async () => {
    const r = await analyze(text, { edition: '2021' });
    const f = findingAt(r.findings, 'scrutinee-guard', ifLet);
    assert.equal(f.severity, 'warning');
    assertNames(f, 'Catalog.load', /\(read\)/, [elseLine]);
    assert.match(f.message, /`else` arm/);
    assert.match(f.message, /Edition 2024/);
    assert.match(f.message, /released at line \d+/);
    assert.equal(f.related.length, 1);
    assert.equal(f.related[0].range.start.line + 1, elseLine);
    assert.match(f.related[0].message, /else/);
  });

  test('edition 2024: the if-let message changes; the catalog shape is fine (the else arm runs unlocked)', async () => {
    const touch = lineOf(text, 'if let Some(l)');
    const r2021 = await analyze(text, { edition: '2021' });
    const r2024 = await analyze(text, { edition: '2024' });
    const a = findingAt(r2021.findings, 'scrutinee-guard', touch);
    const b = findingAt(r2024.findings, 'scrutinee-guard', touch);
    assert.notEqual(a.message, b.message);
    assert.match(b.message, /then-block/);
    assert.match(b.message, /Edition 2024 rules apply/);
    assert.doesNotMatch(a.message, /Edition 2024/);
    assert.equal(only(r2024.findings, 'scrutinee-guard').filter((f) => f.range.start.line + 1 === ifLet).length, 0);
  });

  test('if-let without else in 2021 does not talk about an else arm', async () => {
    const r = await analyze(text, { edition: '2021' });
    const f = findingAt(r.findings, 'scrutinee-guard', lineOf(text, 'if let Some(l)'));
    assert.match(f.message, /then-block/);
    assert.doesNotMatch(f.message, /else/);
  });

  test('match, while let, for, let-else: construct named in the message', async () => {
    const r = await analyze(text);
    const cases: Array<[string, RegExp]> = [
      ['match self.items.lock()', /`match`/],
      ['while let Some(v)', /`while let`.*each iteration/],
      ['for v in self.items', /`for` loop.*whole loop/],
      ['let Some(v) = self.items.lock().unwrap().first()', /`let \.\.\. else`.*`else` block/],
    ];
    for (const [needle, re] of cases) {
      const f = findingAt(r.findings, 'scrutinee-guard', lineOf(text, needle));
      assertNames(f, 'Queue.items', /\(mutex\)/);
      assert.match(f.message, re);
      assert.match(f.message, /released at line \d+/);
    }
  });

  test('the Fly.io deadlock: the write lock in the else arm is a double-lock in 2021, not in 2024', async () => {
    const dl = readRuleFixture('double_lock.rs');
    const line = lineOf(dl, 'm.write().unwrap().push(1)');
    const r2021 = await analyze(dl, { edition: '2021' });
    const f = findingAt(r2021.findings, 'double-lock', line);
    assert.equal(f.severity, 'error');
    assertNames(f, 'scrutinee_else::m', /\(write\)[\s\S]*\(read\)/, [line - 3]);
    const r2024 = await analyze(dl, { edition: '2024' });
    assert.equal(only(r2024.findings, 'double-lock').filter((x) => x.range.start.line + 1 === line).length, 0);
  });
});

describe('guard-across-await', () => {
  const text = readRuleFixture('guard_across_await.rs');
  test('names class, mode, the await line and the release line; related = the await', async () => {
    const r = await analyze(text);
    const acq = lineOf(text, 'let entries', 'fn held');
    const aw = lineOf(text, 'save(n).await', 'fn held');
    const f = findingAt(r.findings, 'guard-across-await', acq);
    assertNames(f, 'Cache.entries', /\(mutex\)/, [aw, aw + 1]);
    assert.match(f.message, /released at line/);
    assert.equal(f.related[0].range.start.line + 1, aw);
    assert.match(f.related[0].message, /suspends/);
  });

  test('parking_lot guards are flagged with their flavor; tokio guards are not', async () => {
    const src = 'use parking_lot::Mutex;\nasync fn tick() {}\npub async fn f(m: &Mutex<u32>) {\n    let g = m.lock();\n    tick().await;\n    let _ = *g;\n}\n' +
      'pub async fn t(m: &tokio::sync::Mutex<u32>) {\n    let g = m.lock().await;\n    tick().await;\n    let _ = *g;\n}\n';
    const r = await analyze(src);
    const fs = only(r.findings, 'guard-across-await');
    assert.equal(fs.length, 1);
    assert.equal(fs[0].range.start.line + 1, 4);
    assert.match(fs[0].message, /parking_lot mutex/);
  });

  test('async blocks count; a shadowed guard is still alive', async () => {
    const src = 'use std::sync::Mutex;\nasync fn tick() {}\npub fn f(m: &\'static Mutex<u32>) -> impl std::future::Future<Output = ()> {\n    async move {\n        let g = m.lock().unwrap();\n        tick().await;\n        let _ = *g;\n    }\n}\n' +
      'pub async fn s(m: &Mutex<u32>) {\n    let g = m.lock().unwrap();\n    let g = 5;\n    tick().await;\n}\n';
    const r = await analyze(src);
    assert.deepEqual(only(r.findings, 'guard-across-await').map((f) => f.range.start.line + 1), [5, 11]);
  });
});

describe('double-lock', () => {
  const text = readRuleFixture('double_lock.rs');
  test('mutex -> mutex is an error naming both acquisitions and the release', async () => {
    const r = await analyze(text);
    const first = lineOf(text, 'let mut b = self.balance.lock()');
    const f = findingAt(r.findings, 'double-lock', lineOf(text, 'let again'));
    assert.equal(f.severity, 'error');
    assertNames(f, 'Account.balance', /\(mutex\)/, [first]);
    assert.match(f.message, /released at line \d+/);
    assert.equal(f.related[0].range.start.line + 1, first);
    assert.equal(f.acquisitions.length, 2);
  });

  test('read -> read warns and names the read mode; write/read mixes are errors', async () => {
    const r = await analyze(text);
    const rr = findingAt(r.findings, 'double-lock', lineOf(text, 'let n = self.history.read()', 'fn read_then_read'));
    assert.equal(rr.severity, 'warning');
    assert.match(rr.message, /read/);
    const rw = findingAt(r.findings, 'double-lock', lineOf(text, 'self.history.write()', 'fn read_then_write'));
    assert.equal(rw.severity, 'error');
    assert.match(rw.message, /\(write\)[\s\S]*\(read\)/);
    const wr = findingAt(r.findings, 'double-lock', lineOf(text, 'self.history.read()', 'fn write_then_read'));
    assert.match(wr.message, /\(read\)[\s\S]*\(write\)/);
  });

  test('two instances of one class (a.balance then b.balance) warn about the transfer pattern', async () => {
    const r = await analyze(text);
    const f = findingAt(r.findings, 'double-lock', lineOf(text, 'let mut to = b.balance'));
    assert.equal(f.severity, 'warning');
    assert.match(f.message, /`a\.balance`[\s\S]*`b\.balance`/);
    assert.match(f.message, /Account\.balance/);
    assert.match(f.message, /released at line/);
  });

  test('parking_lot: read_recursive hint on read -> read', async () => {
    const r = await analyze(readRuleFixture('double_lock_crates.rs'));
    const f = only(r.findings, 'double-lock').find((x) => x.severity === 'warning')!;
    assert.match(f.message, /read_recursive/);
    assert.match(f.message, /parking_lot read/);
  });

  test('a closure run in place (iterator adaptor) under the guard is a double lock; spawned closures are not', async () => {
    const src = 'use std::sync::Mutex;\npub fn f(m: &Mutex<u32>) -> Vec<u32> {\n    let g = m.lock().unwrap();\n    (0..3).map(|i| i + *m.lock().unwrap()).collect()\n}\n' +
      'pub fn s(m: &\'static Mutex<u32>) {\n    let g = m.lock().unwrap();\n    std::thread::spawn(move || { let h = m.lock().unwrap(); });\n    drop(g);\n}\n';
    const r = await analyze(src);
    assert.deepEqual(only(r.findings, 'double-lock').map((f) => f.range.start.line + 1), [4]);
  });

  test('reentrantClasses option silences a class', async () => {
    const r = await analyze(text, { reentrantClasses: ['Account.balance'] });
    assert.equal(only(r.findings, 'double-lock').filter((f) => f.message.includes('Account.balance') && f.severity === 'error').length, 0);
  });
});

describe('poison-unwrap, let-underscore-lock, blocking-under-lock, guard-tightening, mutation-during-iteration, try-lock-flow-control', () => {
  test('poison-unwrap message names class and mode and both remedies', async () => {
    const text = readRuleFixture('poison_unwrap.rs');
    const r = await analyze(text);
    const f = findingAt(r.findings, 'poison-unwrap', lineOf(text, 'self.index.read().expect'));
    assertNames(f, 'Db.index', /\(read\)/);
    assert.match(f.message, /`\.expect\(\.\.\)`/);
    assert.match(f.message, /poisoned\.into_inner\(\)/);
  });

  test('let-underscore-lock is an error, names the mode, for both forms', async () => {
    const text = readRuleFixture('let_underscore_lock.rs');
    const r = await analyze(text);
    for (const [needle, mode] of [['let _ = self.hits.lock().unwrap()', /\(mutex\)/], ['let _ = self.hits.lock();', /\(mutex\)/], ['let _ = self.state.write()', /\(write\)/]] as const) {
      const f = findingAt(r.findings, 'let-underscore-lock', lineOf(text, needle));
      assert.equal(f.severity, 'error');
      assertNames(f, needle.includes('state') ? 'Counter.state' : 'Counter.hits', mode);
      assert.match(f.message, /released immediately/);
    }
  });

  test('let-underscore-lock: the `_ = m.lock()` assignment form says so, and its fix declares the binding', async () => {
    const text = readRuleFixture('let_underscore_lock.rs');
    const r = await analyze(text);
    const line = lineOf(text, '_ = m.lock().unwrap(); //~');
    const f = findingAt(r.findings, 'let-underscore-lock', line);
    assert.match(f.message, /`_ = \.\.\.`/);
    assert.equal(applyFix(text, f.fixes[0]).split('\n')[line - 1].trim(), 'let _guard = m.lock().unwrap(); //~ let-underscore-lock');
    assert.equal(applyFix(text, f.fixes[1]).split('\n')[line - 1].trim(), 'drop(m.lock().unwrap()); //~ let-underscore-lock');
  });

  test('blocking-under-lock names what blocks, the class, mode, acquisition and release', async () => {
    const text = readRuleFixture('blocking_under_lock.rs');
    const r = await analyze(text);
    const acq = lineOf(text, 'let data', 'fn fs_write');
    const f = findingAt(r.findings, 'blocking-under-lock', acq + 1);
    assertNames(f, 'Store.data', /\(mutex\)/, [acq, acq + 2]);
    assert.match(f.message, /file system I\/O/);
    assert.equal(f.related[0].range.start.line + 1, acq);
    const cv = findingAt(r.findings, 'blocking-under-lock', lineOf(text, 'self.ready.wait(q)', 'fn wait_other'));
    assert.match(cv.message, /condition variable of `Store\.queue`/);
    assert.match(cv.message, /`Store\.data`/);
  });

  test('blocking-under-lock: configured blockingFunctions are reported', async () => {
    const src = 'use std::sync::Mutex;\nfn flush_disk() {}\npub fn f(m: &Mutex<u32>) {\n    let g = m.lock().unwrap();\n    flush_disk();\n    let _ = *g;\n}\n';
    assert.equal(only((await analyze(src)).findings, 'blocking-under-lock').length, 0);
    const r = await analyze(src, { blockingFunctions: ['flush_disk'] });
    assert.equal(findingAt(r.findings, 'blocking-under-lock', 5).rule, 'blocking-under-lock');
  });

  test('guard-tightening is information, names last use and release lines', async () => {
    const text = readRuleFixture('guard_tightening.rs');
    const r = await analyze(text);
    const acq = lineOf(text, 'let beats', 'fn expire');
    const f = findingAt(r.findings, 'guard-tightening', acq);
    assert.equal(f.severity, 'information');
    assertNames(f, 'Monitor.beats', /\(mutex\)/, [acq + 1]);
    assert.match(f.message, /until line \d+/);
    assert.match(f.message, /drop\(beats\);/);
  });

  test('guard-tightening and guard-across-await offer no second drop of a guard already dropped on some path', async () => {
    const src = 'use std::sync::Mutex;\nasync fn tick() {}\npub async fn f(m: &Mutex<u32>) {\n    let g = m.lock().unwrap();\n    if *g > 3 { return; }\n    drop(g);\n    tick().await;\n}\n' +
      'pub fn h(m: &Mutex<u32>) -> Option<u32> {\n    let g = m.lock().unwrap();\n    let v = g.checked_add(1)?;\n    drop(g);\n    let a = v + 1;\n    let b = a + 1;\n    Some(b)\n}\n';
    const r = await analyze(src);
    for (const f of r.findings) {
      for (const fix of f.fixes) assert.doesNotMatch(fix.edits.map((e) => e.newText).join(''), /drop\(g\)/, `${f.rule}: ${fix.title}`);
    }
    assert.equal(only(r.findings, 'guard-tightening').length, 0);
  });

  test('mutation-during-iteration names the DashMap, the shard lock mode and where it was taken', async () => {
    const text = readRuleFixture('mutation_during_iteration.rs');
    const r = await analyze(text);
    const it = lineOf(text, 'for entry in self.peers.iter()');
    const f = findingAt(r.findings, 'mutation-during-iteration', it + 2);
    assert.equal(f.severity, 'error');
    assertNames(f, 'Sessions.peers', /shard read lock/, [it]);
    assert.match(f.message, /`remove`/);
    assert.match(f.message, /released at line/);
    const g = findingAt(r.findings, 'mutation-during-iteration', lineOf(text, 'self.peers.entry(k + 1)'));
    assert.match(g.message, /`get` reference/);
  });

  test('try-lock-flow-control is information naming class, mode and the construct', async () => {
    const text = readRuleFixture('try_lock_flow_control.rs');
    const r = await analyze(text);
    const f = findingAt(r.findings, 'try-lock-flow-control', lineOf(text, 'match self.queue.try_lock()', 'fn poll'));
    assert.equal(f.severity, 'information');
    assertNames(f, 'Worker.queue', /\(mutex\)/);
    assert.match(f.message, /`match`/);
    assert.match(f.message, /released at line \d+/);
    assert.match(findingAt(r.findings, 'try-lock-flow-control', lineOf(text, 'self.queue.try_lock()?')).message, /`\?`/);
    assert.match(findingAt(r.findings, 'try-lock-flow-control', lineOf(text, 'let Ok(q) = self.queue.try_lock() else')).message, /let \.\.\. else/);
  });
});

describe('engine options', () => {
  test('severity overrides and `off`', async () => {
    const text = readRuleFixture('double_lock.rs');
    const off = await analyze(text, { severities: { 'double-lock': 'off', 'poison-unwrap': 'hint' } });
    assert.equal(only(off.findings, 'double-lock').length, 0);
    assert.ok(only(off.findings, 'poison-unwrap').every((f) => f.severity === 'hint'));
    const up = await analyze(text, { severities: { 'double-lock': 'information' } });
    assert.ok(only(up.findings, 'double-lock').length > 0);
    assert.ok(only(up.findings, 'double-lock').every((f) => f.severity === 'information'));
  });

  test('applying the let _guard fix then re-analysing a CRLF file keeps positions right', async () => {
    const src = 'use std::sync::Mutex;\r\npub fn f(m: &Mutex<u32>) {\r\n    let _ = m.lock();\r\n    println!("x");\r\n}\r\n';
    const r = await analyze(src);
    const f = findingAt(r.findings, 'let-underscore-lock', 3);
    const fixed = applyFix(src, f.fixes[0]);
    assert.equal(fixed.split('\r\n')[2], '    let _guard = m.lock();');
    assert.equal(only((await analyze(fixed)).findings, 'let-underscore-lock').length, 0);
  });
});

describe('engine bugs found by these tests (outside the rule files); fixed ones stay as regression tests', () => {
  test('renamed lock imports keep their library (`use parking_lot::Mutex as PlMutex`)', async () => {
    const src = 'use parking_lot::Mutex as PlMutex;\nasync fn tick() {}\npub async fn f(m: &PlMutex<u32>) {\n    let g = m.lock();\n    tick().await;\n    let _ = *g;\n}\n';
    const r = await analyze(src);
    assert.equal(r.acquisitions[0]?.lockType.flavor, 'parking_lot');
    assert.match(findingAt(r.findings, 'guard-across-await', 4).message, /parking_lot mutex/);
  });

  test('drop(g) after an early exit ends the region (no guard-across-await at the later await)', async () => {
    const src = 'use std::sync::Mutex;\nasync fn tick() {}\npub async fn f(m: &Mutex<u32>) {\n    let g = m.lock().unwrap();\n    if *g > 3 { return; }\n    drop(g);\n    tick().await;\n}\n';
    const r = await analyze(src);
    assert.deepEqual(only(r.findings, 'guard-across-await').map((f) => f.range.start.line + 1), []);
  });

  test('drop(g) after `?` ends the region (no blocking-under-lock after it)', async () => {
    const src = 'use std::sync::Mutex;\npub fn f(m: &Mutex<Option<u32>>) -> Option<u32> {\n    let g = m.lock().unwrap();\n    let v = (*g)?;\n    drop(g);\n    std::thread::sleep(std::time::Duration::from_millis(1));\n    Some(v)\n}\n';
    const r = await analyze(src);
    assert.deepEqual(only(r.findings, 'blocking-under-lock').map((f) => f.range.start.line + 1), []);
  });

  test('DashMap `entry(k).or_insert(..)` keeps the shard write lock in the RefMut it returns', async () => {
    const src = 'use dashmap::DashMap;\npub fn f(map: &DashMap<u32, u32>) {\n    let e = map.entry(1).or_insert(0);\n    let v = map.get(&2);\n    drop(e);\n}\n';
    const r = await analyze(src);
    assert.deepEqual(only(r.findings, 'mutation-during-iteration').map((f) => f.range.start.line + 1), [4]);
  });

  test('lock calls inside macro arguments (println!, format!, assert!) are acquisitions', async () => {
    const src = 'use std::sync::Mutex;\npub fn f(m: &Mutex<u32>) {\n    let g = m.lock().unwrap();\n    println!("{}", m.lock().unwrap());\n}\npub fn h(m: &Mutex<Vec<u32>>) -> String {\n    format!("{:?}", m.lock().unwrap())\n}\n';
    const r = await analyze(src);
    assert.deepEqual(only(r.findings, 'double-lock').map((f) => f.range.start.line + 1), [4]);
    assert.deepEqual(only(r.findings, 'poison-unwrap').map((f) => f.range.start.line + 1), [3, 4, 7]);
  });

  test('a trailing `// locklens: allow(..)` applies to its own line only', async () => {
    const src = '#![allow(let_underscore_lock)]\nuse std::sync::Mutex;\npub fn f(m: &Mutex<u32>) {\n    let _ = m.lock(); // locklens: allow(let-underscore-lock)\n    let _ = m.lock();\n}\n';
    const r = await analyze(src);
    assert.deepEqual(only(r.findings, 'let-underscore-lock').map((f) => f.range.start.line + 1), [5]);
  });
});

describe('lock-returning accessors', () => {
  const lib = [
    'use std::sync::{Arc, Mutex, RwLock};',
    'static REGISTRY: Mutex<Vec<u32>> = Mutex::new(Vec::new());',
    'pub struct Inner { state: RwLock<u32> }',
    'pub struct S { a: Mutex<u32>, inner: Inner, shared: Arc<Mutex<u32>> }',
    'impl S {',
    '    fn a(&self) -> &Mutex<u32> { &self.a }',
    '    fn state(&self) -> &RwLock<u32> {',
    '        // the inner state',
    '        &self.inner.state',
    '    }',
    '    fn shared(&self) -> Arc<Mutex<u32>> { self.shared.clone() }',
    '    fn shared2(&self) -> Arc<Mutex<u32>> { Arc::clone(&self.shared) }',
    "    fn registry() -> &'static Mutex<Vec<u32>> { &REGISTRY }",
    '    fn either(&self, b: bool) -> &Mutex<u32> { if b { &self.a } else { &self.a } }',
    '}',
  ].join('\n');
  const user = [
    'use crate::S;',
    'pub fn relock(s: &S) -> u32 {',
    '    let g = s.a.lock().unwrap();',
    '    let h = s.a().lock().unwrap();',
    '    *g + *h',
    '}',
    'pub fn transfer(s: &S, other: &S) -> u32 {',
    '    let g = s.a().lock().unwrap();',
    '    let h = other.a().lock().unwrap();',
    '    *g + *h',
    '}',
    'pub fn through(s: &S) -> usize {',
    '    let r = *s.state().read().unwrap();',
    '    let a = *s.shared().lock().unwrap() + *s.shared2().lock().unwrap();',
    '    S::registry().lock().unwrap().len() + s.either(true).lock().unwrap().len() + (r + a) as usize',
    '}',
  ].join('\n');

  test('a call of an accessor locks the field or static its body names, declared in another file', async () => {
    const r = await analyze(user, { file: 'src/user.rs', others: [{ file: 'src/lib.rs', text: lib }] });
    const at = (line: number) => r.acquisitions.filter((a) => a.range.start.line + 1 === line).map((a) => [a.lock, a.instanceText]);
    assert.deepEqual(at(4), [['S.a', 's.a']]);
    assert.deepEqual(at(13), [['Inner.state', 's.inner.state']]);
    assert.deepEqual(at(14), [['S.shared', 's.shared'], ['S.shared', 's.shared']]);
    // A static is named by its path; a body that is not a plain path leaves the function as the class.
    assert.deepEqual(at(15).map(([lock]) => lock), ['REGISTRY', 'S::either()']);
  });

  test('a helper that only locks a field returns a guard of that field: re-locking through it is a double lock', async () => {
    const text = [
      'use std::sync::{Mutex, MutexGuard, RwLock, RwLockWriteGuard};',
      'pub struct S { a: Mutex<u32>, rw: RwLock<u32> }',
      'impl S {',
      "    fn a_guard(&self) -> MutexGuard<'_, u32> { self.a.lock().unwrap() }",
      "    fn writer(&self) -> RwLockWriteGuard<'_, u32> { self.rw.write().unwrap_or_else(|e| e.into_inner()) }",
      "    fn logged(&self) -> MutexGuard<'_, u32> { let g = self.a.lock().unwrap(); g }",
      '    pub fn twice(&self) -> u32 {',
      '        let g = self.a.lock().unwrap();',
      '        let h = self.a_guard();',
      '        *g + *h',
      '    }',
      '    pub fn read_then_write(&self, other: &S) -> u32 {',
      '        let r = self.rw.read().unwrap();',
      '        let w = other.writer();',
      '        *r + *w',
      '    }',
      '    pub fn opaque(&self) -> u32 { *self.logged() }',
      '}',
    ].join('\n');
    const r = await analyze(text);
    const at = (line: number) => r.acquisitions.filter((a) => a.range.start.line + 1 === line).map((a) => [a.lock, a.mode, a.instanceText ?? a.receiverText]);
    assert.deepEqual(at(9), [['S.a', 'mutex', 'self.a']]);
    assert.deepEqual(at(14), [['S.rw', 'write', 'other.rw']]);
    // A body that does more than lock keeps the helper as the class.
    assert.deepEqual(at(17).map(([lock]) => lock), ['S::logged()']);
    assertNames(findingAt(r.findings, 'double-lock', 9), 'S.a', /\(mutex\)/, [8]);
    assert.match(findingAt(r.findings, 'double-lock', 14).message, /opposite order/);
  });

  test('re-locking a field through its accessor is a double lock of the same object; another object is the transfer pattern', async () => {
    const r = await analyze(user, { file: 'src/user.rs', others: [{ file: 'src/lib.rs', text: lib }] });
    const same = findingAt(r.findings, 'double-lock', 4);
    assert.equal(same.severity, 'error');
    assertNames(same, 'S.a', /\(mutex\)/, [3]);
    const other = findingAt(r.findings, 'double-lock', 9);
    assert.equal(other.severity, 'warning');
    assert.match(other.message, /opposite order/);
  });
});

describe('locks returned by value', () => {
  test('a let bound to a call that makes a new lock is a local lock; a shared one keeps the function as its class', async () => {
    const text = [
      'use std::sync::{Arc, Mutex};',
      'fn new_counter() -> Mutex<u32> { Mutex::new(0) }',
      'fn shared_counter() -> Arc<Mutex<u32>> { unimplemented!() }',
      'pub fn f() -> u32 {',
      '    let a = new_counter();',
      '    let b: Mutex<u32> = new_counter();',
      '    let c = shared_counter();',
      '    let x = *a.lock().unwrap() + *b.lock().unwrap();',
      '    x + *c.lock().unwrap() + *new_counter().lock().unwrap()',
      '}',
    ].join('\n');
    const r = await analyze(text);
    assert.deepEqual(
      r.acquisitions.map((a) => a.lock),
      ['f::a', 'f::b', 'shared_counter()', 'new_counter()'],
    );
  });
});
