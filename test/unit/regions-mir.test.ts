/**
 * Guard regions vs. rustc's MIR.
 *
 * For every fixture `test/fixtures/regions/*.rs` and edition (2021, 2024):
 *  - the oracle (`test/support/mir.ts`) runs `rustc -Zunpretty=mir` and lists every
 *    guard value with the positions where rustc drops / moves it;
 *  - the CLI runs as `node bin/locklens.js regions <file> --edition <E> --format json`;
 *  - one subtest per fixture function compares them:
 *      * every rustc guard must be reported by the CLI (matched by acquire start line:column),
 *      * every CLI guard must exist in rustc's MIR,
 *      * the set of release LINES must be equal (CLI `early-exit` releases are extra path
 *        information and are excluded: rustc attributes early-exit drops to the scope end),
 *      * the LAST release position (line and column) must be equal.
 *    A guard rustc returns to the caller (`returned`) must have a CLI release of kind `moved`;
 *    its position is not compared (MIR only knows the function's end).
 *
 * Also: a self-test of the oracle against literal expectations (canned MIR text, and a
 * tiny fixture compiled by rustc) so the oracle itself is trusted.
 *
 * Skips (with the reason) when rustc is not installed. Never sleeps: waits on processes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeMir, Edition, MirGuard, mirGuards, sourceFunctions } from '../support/mir';
import { ROOT } from '../support/engine-harness';
import { checkFunction, type CliGuard, groupByFunction, type Outcome, pooled, pos, runCli, settle, SKIP_RUSTC } from '../support/mir-compare';

/* ----------------------------------------------------------------- setup */

const FIXTURE_DIR = path.join(ROOT, 'test', 'fixtures', 'regions');
const SELFTEST_FIXTURE = path.join(FIXTURE_DIR, 'oracle', 'selftest.rs');
const EDITIONS: Edition[] = ['2021', '2024'];

const fixtures = fs.existsSync(FIXTURE_DIR)
  ? fs
      .readdirSync(FIXTURE_DIR)
      .filter((f) => f.endsWith('.rs'))
      .sort()
  : [];


/* ----------------------------------------------------------------- tests */

describe('guard regions vs rustc MIR', () => {
  if (!SKIP_RUSTC && fixtures.length === 0) {
    test('fixtures exist', () => assert.fail(`no fixtures found in ${FIXTURE_DIR}`));
  }
  const jobs = new Map<string, { mir: Promise<Outcome<MirGuard[]>>; cli: Promise<Outcome<CliGuard[]>> }>();
  const jobFor = (file: string, edition: Edition) => {
    const key = `${file}#${edition}`;
    let j = jobs.get(key);
    if (!j) {
      const abs = path.join(FIXTURE_DIR, file);
      j = { mir: settle(pooled(() => mirGuards(abs, edition))), cli: settle(pooled(() => runCli(abs, edition))) };
      jobs.set(key, j);
    }
    return j;
  };
  if (!SKIP_RUSTC) {
    // start everything up front; the pool keeps at most POOL_SIZE processes running
    for (const f of fixtures) for (const e of EDITIONS) jobFor(f, e);
  }

  for (const file of fixtures) {
    for (const edition of EDITIONS) {
      test(`${file} --edition ${edition}`, { skip: SKIP_RUSTC }, async (t) => {
        const abs = path.join(FIXTURE_DIR, file);
        const src = fs.readFileSync(abs, 'utf8');
        const lines = src.split(/\r?\n/);
        const j = jobFor(file, edition);
        const [mir, cli] = await Promise.all([j.mir, j.cli]);
        if (!mir.ok) assert.fail(`oracle failed (fixture must compile as a lib under edition ${edition}):\n${mir.error}`);
        if (!cli.ok) assert.fail(`CLI failed, nothing to compare against ${mir.value.length} rustc guards:\n${cli.error}`);
        const groups = groupByFunction(src, mir.value, cli.value);
        for (const g of groups) {
          await t.test(`${g.fn.name} [${edition}]`, () => checkFunction(g, lines, edition, file));
        }
      });
    }
  }
});

/* ---------------------------------------------------------- oracle self-test */

// Trimmed real rustc 1.95 output for:
//   5 pub fn f(m: &Mutex<Vec<u32>>) -> usize {
//   6     m.lock().unwrap().push(1);
//   7     let g = m.lock().unwrap();
//   8     let n = g.len();
//   9     drop(g);
//  10     n
//  11 }
const CANNED_MIR = `fn f(_1: &std::sync::Mutex<Vec<u32>>) -> usize {
    debug m => _1;                       // in scope 0 at t.rs:5:10: 5:11
    let mut _0: usize;                   // return place in scope 0 at t.rs:5:35: 5:40
    let _2: ();                          // in scope 0 at t.rs:6:5: 6:30
    let mut _3: &mut std::vec::Vec<u32>; // in scope 0 at t.rs:6:5: 6:30
    let mut _4: &mut std::sync::MutexGuard<'_, std::vec::Vec<u32>>; // in scope 0 at t.rs:6:5: 6:22
    let mut _5: std::sync::MutexGuard<'_, std::vec::Vec<u32>>; // in scope 0 at t.rs:6:5: 6:22
    let mut _6: std::result::Result<std::sync::MutexGuard<'_, std::vec::Vec<u32>>, std::sync::PoisonError<std::sync::MutexGuard<'_, std::vec::Vec<u32>>>>; // in scope 0 at t.rs:6:5: 6:13
    let mut _8: std::result::Result<std::sync::MutexGuard<'_, std::vec::Vec<u32>>, std::sync::PoisonError<std::sync::MutexGuard<'_, std::vec::Vec<u32>>>>; // in scope 0 at t.rs:7:13: 7:21
    let mut _11: std::sync::MutexGuard<'_, std::vec::Vec<u32>>; // in scope 0 at t.rs:9:10: 9:11
    scope 1 {
        debug g => _7;                   // in scope 1 at t.rs:7:9: 7:10
        let _7: std::sync::MutexGuard<'_, std::vec::Vec<u32>>; // in scope 1 at t.rs:7:9: 7:10
    }

    bb0: {
        _6 = std::sync::Mutex::<Vec<u32>>::lock(copy _1) -> [return: bb1, unwind continue]; // scope 0 at t.rs:6:5: 6:13
                                         // mir::ConstOperand
                                         // + span: t.rs:6:7: 6:11
    }

    bb1: {
        _5 = Result::<std::sync::MutexGuard<'_, Vec<u32>>, PoisonError<std::sync::MutexGuard<'_, Vec<u32>>>>::unwrap(move _6) -> [return: bb2, unwind continue]; // scope 0 at t.rs:6:5: 6:22
    }

    bb2: {
        _4 = &mut _5;                    // scope 0 at t.rs:6:5: 6:22
        _3 = <std::sync::MutexGuard<'_, Vec<u32>> as DerefMut>::deref_mut(move _4) -> [return: bb3, unwind: bb9]; // scope 0 at t.rs:6:5: 6:30
    }

    bb3: {
        _2 = Vec::<u32>::push(copy _3, const 1_u32) -> [return: bb4, unwind: bb9]; // scope 0 at t.rs:6:5: 6:30
    }

    bb4: {
        drop(_5) -> [return: bb5, unwind continue]; // scope 0 at t.rs:6:30: 6:31
    }

    bb5: {
        _8 = std::sync::Mutex::<Vec<u32>>::lock(copy _1) -> [return: bb6, unwind continue]; // scope 0 at t.rs:7:13: 7:21
    }

    bb6: {
        _7 = Result::<std::sync::MutexGuard<'_, Vec<u32>>, PoisonError<std::sync::MutexGuard<'_, Vec<u32>>>>::unwrap(move _8) -> [return: bb7, unwind continue]; // scope 0 at t.rs:7:13: 7:30
    }

    bb7: {
        _11 = move _7;                   // scope 1 at t.rs:9:10: 9:11
        _10 = std::mem::drop::<std::sync::MutexGuard<'_, Vec<u32>>>(move _11) -> [return: bb8, unwind: bb10]; // scope 1 at t.rs:9:5: 9:12
    }

    bb8: {
        return;                          // scope 0 at t.rs:11:2: 11:2
    }

    bb9 (cleanup): {
        drop(_5) -> [return: bb11, unwind terminate(cleanup)]; // scope 0 at t.rs:6:30: 6:31
    }

    bb10 (cleanup): {
        drop(_7) -> [return: bb11, unwind terminate(cleanup)]; // scope 0 at t.rs:11:1: 11:2
    }

    bb11 (cleanup): {
        resume;                          // scope 0 at t.rs:5:1: 11:2
    }
}
`;

const compact = (gs: MirGuard[]) =>
  gs.map((g) => ({
    fn: g.fn,
    guardType: g.guardType,
    acquire: pos(g.acquire),
    releases: g.releases.map((r) => `${pos(r)} ${r.kind}`),
    moved: g.moved,
    fromParam: g.fromParam,
  }));

describe('MIR oracle self-test', () => {
  test('parses canned MIR: statement temporary, explicit drop, cleanup blocks ignored', () => {
    const gs = analyzeMir(CANNED_MIR);
    assert.deepEqual(compact(gs), [
      { fn: 'f', guardType: 'MutexGuard', acquire: '6:5', releases: ['6:30 drop'], moved: false, fromParam: false },
      { fn: 'f', guardType: 'MutexGuard', acquire: '7:13', releases: ['9:5 explicit-drop'], moved: false, fromParam: false },
    ]);
    assert.equal(gs[1].binding, 'g');
    assert.equal(gs[1].local, '_7');
    assert.equal(gs[1].finalLocal, '_11');
  });

  test('finds fixture functions and impl owners', () => {
    const fns = sourceFunctions(
      [
        'struct S;',
        'impl S {',
        '    fn a(&self) -> &\'static str { "}" }',
        '    // fn fake() {',
        '}',
        'fn top<\'a>(x: &\'a u8) -> char {',
        "    let c = '{';",
        '    c',
        '}',
      ].join('\n'),
    );
    assert.deepEqual(
      fns.map((f) => `${f.name}:${f.startLine}-${f.endLine}`),
      ['S::a:3-3', 'top:6-9'],
    );
  });

  test('literal facts for oracle/selftest.rs', { skip: SKIP_RUSTC }, async () => {
    const [g21, g24] = await Promise.all([mirGuards(SELFTEST_FIXTURE, '2021'), mirGuards(SELFTEST_FIXTURE, '2024')]);
    const expected = (iflet: string, recover: string) => [
      // m.lock().unwrap().push(1);  -> the `;`
      { fn: 'temp', guardType: 'MutexGuard', acquire: '7:5', releases: ['7:30 drop'], moved: false, fromParam: false },
      // let g = ...; g.len() tail   -> fn `}`
      { fn: 'temp', guardType: 'MutexGuard', acquire: '8:13', releases: ['10:1 drop'], moved: false, fromParam: false },
      // drop(r)                     -> start of `drop(`
      { fn: 'explicit', guardType: 'RwLockReadGuard', acquire: '13:13', releases: ['15:5 explicit-drop'], moved: false, fromParam: false },
      // take(g)                     -> moved at the call start
      { fn: 'handoff', guardType: 'MutexGuard', acquire: '22:13', releases: ['23:5 moved'], moved: true, fromParam: false },
      // returned guard              -> `returned` at the fn `}`
      { fn: 'give', guardType: 'MutexGuard', acquire: '27:5', releases: ['28:1 returned'], moved: true, fromParam: false },
      // if let tail: 2021 fn `}`, 2024 before `else`
      { fn: 'iflet', guardType: 'RwLockWriteGuard', acquire: '31:23', releases: [iflet], moved: false, fromParam: false },
      // Condvar::wait consumes the guard; its result is a new guard moved back into `ready`
      { fn: 'waits', guardType: 'MutexGuard', acquire: '39:21', releases: ['41:17 moved', '43:1 drop'], moved: true, fromParam: false },
      { fn: 'waits', guardType: 'MutexGuard', acquire: '41:17', releases: ['41:17 moved', '43:1 drop'], moved: true, fromParam: false },
      // tail temporary: 2021 fn `}`, 2024 end of the tail expression
      { fn: 'recover', guardType: 'MutexGuard', acquire: '46:6', releases: [recover], moved: false, fromParam: false },
      // `|e| e.into_inner()`: derived from the closure's parameter, not an acquisition
      { fn: 'recover::{closure#0}', guardType: 'MutexGuard', acquire: '46:34', releases: ['46:47 returned'], moved: true, fromParam: true },
    ];
    assert.deepEqual(compact(g21), expected('36:1 drop', '47:1 drop'));
    assert.deepEqual(compact(g24), expected('33:5 drop', '46:48 drop'));
  });
});
