// The runtime-hook examples under `locklens run`, as processes, through `cargo run`:
//   midas_abba     ABBA deadlock of two threads     -> exit 3, the cycle with both threads, locks, sites
//   flyio_catalog  read guard then write, same thread -> exit 3, a cycle of one
//   contention     four workers                     -> exit 0, contention counters and distributions
// The examples are built once first (CARGO_TARGET_DIR=runtime-hook/target). Like
// runtime-hook/scripts/test.sh, cargo resolves the crate's optional dependencies from Debian's
// packaged crates (/usr/share/cargo/registry, --config flags on these commands only) when they
// are installed, else from cargo's own cache; without cargo, or when neither has them, the tests
// are skipped with the reason. Waits are on process exit only.

import { strict as assert } from 'node:assert';
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import type { RunReport } from '../../server/src/analysis/trace/report';
import { ROOT, TRACE_FIXTURES } from '../support/trace-harness';

const CLI = path.join(ROOT, 'bin', 'locklens.js');
const HOOK = path.join(ROOT, 'runtime-hook');
const MANIFEST = path.join('runtime-hook', 'Cargo.toml');
const REG = process.env.LOCKLENS_DEBIAN_REGISTRY ?? '/usr/share/cargo/registry';
const DEBIAN_FLAGS = ['--config', 'source.crates-io.replace-with="debian"', '--config', `source.debian.directory="${REG}"`];
const ENV = { ...process.env, CARGO_TARGET_DIR: path.join(HOOK, 'target'), CARGO_TERM_COLOR: 'never', RUST_BACKTRACE: '', LOCKLENS_EXAMPLE_TIMEOUT_MS: '120000' };

/** The extra cargo flags to resolve the hook's dependencies offline, or why the tests are skipped. */
function cargoSetup(): { flags: string[] } | { skip: string } {
  const v = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return { skip: 'cargo not found (install rustc/cargo to run the runtime-hook examples under locklens run)' };
  const have = (c: string) => fs.existsSync(REG) && fs.readdirSync(REG).some((d) => d.startsWith(`${c}-`) && /^\d/.test(d.slice(c.length + 1)));
  if (have('parking_lot') && have('tokio') && have('lock_api')) return { flags: DEBIAN_FLAGS };
  // no Debian crates: maybe cargo's own cache has them
  const m = spawnSync('cargo', ['metadata', '--offline', '--quiet', '--format-version', '1', '--manifest-path', MANIFEST], { cwd: ROOT, env: ENV, encoding: 'utf8' });
  if (m.status === 0) return { flags: [] };
  return { skip: `cargo cannot resolve the hook's optional dependencies offline (no Debian crates in ${REG}, none in cargo's cache): apt-get install librust-parking-lot-dev librust-tokio-dev` };
}

const SETUP = cargoSetup();
const SKIP = 'skip' in SETUP ? SETUP.skip : undefined;
const DEBIAN = 'flags' in SETUP ? SETUP.flags : [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], timeoutMs = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'run', ...args], { cwd: ROOT, env: ENV, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code: unknown = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const cargoRun = (example: string) => ['--', 'cargo', 'run', '--offline', '--quiet', '--manifest-path', MANIFEST, ...DEBIAN, '--example', example];

function report(r: Run): RunReport {
  try {
    return JSON.parse(r.stdout) as RunReport;
  } catch (e) {
    throw new Error(`stdout is not one JSON object (${(e as Error).message}); exit ${r.code}\nstdout:\n${r.stdout.slice(0, 800)}\nstderr:\n${r.stderr.slice(-3000)}`);
  }
}

/** The source line a reported site points at (rustc's path is relative to the package). */
function sourceLine(site: { file: string; line: number; path?: string }): string {
  assert.ok(site.path, `site ${site.file}:${site.line} was not resolved to a file`);
  assert.equal(site.path, path.join(HOOK, site.file));
  return fs.readFileSync(site.path!, 'utf8').split('\n')[site.line - 1];
}

describe('runtime-hook examples under locklens run', { skip: SKIP, concurrency: 1 }, () => {
  before(() => {
    const b = spawnSync('cargo', ['build', '--examples', '--offline', '--quiet', '--manifest-path', MANIFEST, ...DEBIAN], { cwd: ROOT, env: ENV, encoding: 'utf8', timeout: 900_000 });
    assert.equal(b.status, 0, `cargo build --examples failed:\n${b.stderr}`);
  });

  test('midas_abba: exit 3, the cycle with both threads, both locks and both sites', async () => {
    const r = await run(['--format', 'json', ...cargoRun('midas_abba')]);
    assert.equal(r.code, 3, r.stderr);
    const rep = report(r);
    assert.equal(rep.outcome, 'deadlock');
    assert.equal(rep.deadlocks.length, 1, JSON.stringify(rep.deadlocks));
    const cycle = rep.deadlocks[0].cycle;
    assert.equal(cycle.length, 2);
    const by = (t: string) => cycle.find((n) => n.thread.name === t)!;
    const odbedit = by('odbedit');
    const watchdog = by('cm_watchdog');
    assert.ok(odbedit && watchdog, JSON.stringify(cycle.map((n) => n.thread)));
    // odbedit holds ODB (db_set_value) and waits for SYSMSG (cm_msg); cm_watchdog the reverse
    assert.deepEqual([odbedit.holds.map((h) => h.lock.name), odbedit.waitsFor.lock.name], [['ODB'], 'SYSMSG']);
    assert.deepEqual([watchdog.holds.map((h) => h.lock.name), watchdog.waitsFor.lock.name], [['SYSMSG'], 'ODB']);
    assert.deepEqual(odbedit.heldBy, [watchdog.thread.id]);
    assert.deepEqual(watchdog.heldBy, [odbedit.thread.id]);
    for (const s of [odbedit.holds[0].site, odbedit.waitsFor.site, watchdog.holds[0].site, watchdog.waitsFor.site]) assert.equal(s.file, 'examples/midas_abba.rs');
    assert.match(sourceLine(odbedit.holds[0].site), /self\.odb\.lock\(\)/);
    assert.match(sourceLine(odbedit.waitsFor.site), /self\.sysmsg\.lock\(\)/);
    assert.match(sourceLine(watchdog.holds[0].site), /self\.sysmsg\.lock\(\)/);
    assert.match(sourceLine(watchdog.waitsFor.site), /self\.odb\.lock\(\)/);
    assert.doesNotMatch(r.stderr, /exiting \(watchdog\)|unreachable/);
    assert.match(r.stderr, /locklens: DEADLOCK/);
  });

  test('flyio_catalog: exit 3, one thread waiting for write on a lock it holds for read', async () => {
    const r = await run(['--format', 'json', ...cargoRun('flyio_catalog')]);
    assert.equal(r.code, 3, r.stderr);
    const rep = report(r);
    assert.equal(rep.deadlocks.length, 1);
    const [n] = rep.deadlocks[0].cycle;
    assert.equal(rep.deadlocks[0].cycle.length, 1);
    assert.equal(n.thread.name, 'main');
    assert.deepEqual(n.heldBy, [n.thread.id]);
    assert.equal(n.holds.length, 1);
    assert.equal(n.holds[0].lock.name, 'catalog.load');
    assert.equal(n.holds[0].mode, 'read');
    assert.equal(n.waitsFor.mode, 'write');
    assert.equal(n.holds[0].lock.id, n.waitsFor.lock.id);
    assert.match(sourceLine(n.holds[0].site), /if let Some\(Load::Local\(load\)\) = self\.load\.read\(\)/);
    assert.match(sourceLine(n.waitsFor.site), /self\.load\.write\(\)/);
    // the program's output went through (to stderr in JSON mode), up to the deadlock
    assert.match(r.stderr, /warm-app -> 7/);
    assert.doesNotMatch(r.stderr, /cold-app -> /);
  });

  test('contention: exit 0 with contention counters and wait distributions', async () => {
    const r = await run(['--format', 'json', ...cargoRun('contention')]);
    assert.equal(r.code, 0, r.stderr);
    const rep = report(r);
    assert.equal(rep.outcome, 'exited');
    assert.equal(rep.deadlocks.length, 0);
    assert.equal(rep.orderInversions.length, 0);
    const names = rep.locks.map((l) => l.lock.name);
    for (const n of ['sessions', 'stats', 'counter']) assert.ok(names.includes(n), names.join(','));
    const stats = rep.locks.find((l) => l.lock.name === 'stats')!;
    assert.ok(stats.acquisitions >= 75_000, String(stats.acquisitions));
    const contended = rep.locks.filter((l) => l.contended > 0);
    assert.ok(contended.length > 0, 'no contention seen');
    for (const l of contended) {
      assert.ok(l.waitMsTotal > 0);
      for (const s of l.sites.filter((x) => x.contended > 0)) assert.ok(s.wait.p50Ms <= s.wait.p99Ms && s.wait.p99Ms <= s.wait.maxMs, JSON.stringify(s.wait));
    }
    assert.equal(rep.locks[0].contended > 0 || rep.locks[0].waitEvents > 0, true, 'most contended first');
    assert.match(r.stderr, /hits=\d+ misses=\d+ counter=75000/);
  });

  test('a stall names the holder and its line; an inversion that never deadlocked is reported', async () => {
    // test/fixtures/trace/stall_inversion.rs in a temporary crate depending on runtime-hook
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-stall-'));
    try {
      fs.mkdirSync(path.join(dir, 'src'));
      const src = fs.readFileSync(path.join(TRACE_FIXTURES, 'stall_inversion.rs'), 'utf8');
      fs.writeFileSync(path.join(dir, 'src', 'main.rs'), src);
      fs.writeFileSync(path.join(dir, 'Cargo.toml'), `[package]\nname = "stall-inversion"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[dependencies]\nlocklens = { path = ${JSON.stringify(HOOK)} }\n\n[workspace]\n`);
      const manifest = path.join(dir, 'Cargo.toml');
      const b = spawnSync('cargo', ['build', '--offline', '--quiet', '--manifest-path', manifest, ...DEBIAN], { cwd: ROOT, env: ENV, encoding: 'utf8', timeout: 900_000 });
      assert.equal(b.status, 0, `cargo build failed:\n${b.stderr}`);
      const lineOf = (marker: string) => src.split('\n').findIndex((l) => l.includes(`// ${marker}`)) + 1;
      const r = await run(['--format', 'json', '--stall-ms', '300', '--', 'cargo', 'run', '--offline', '--quiet', '--manifest-path', manifest, ...DEBIAN]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /config=1 flushed=true/);
      const rep = report(r);
      assert.equal(rep.deadlocks.length, 0);
      // the stall: main waits for config at MAIN-WAITS, held by the reloader since RELOADER-HOLDS
      assert.equal(rep.stalls.length, 1, JSON.stringify(rep.stalls));
      const st = rep.stalls[0];
      assert.equal(st.thread.name, 'main');
      assert.equal(st.lock.name, 'config');
      assert.equal(st.site.line, lineOf('MAIN-WAITS'));
      assert.ok(st.waitedMs >= 300, String(st.waitedMs));
      assert.deepEqual(st.holders.map((h) => [h.thread.name, h.site.line, h.site.path]), [['reloader', lineOf('RELOADER-HOLDS'), path.join(dir, 'src', 'main.rs')]]);
      // the inversion: config -> cache, then cache -> config
      assert.equal(rep.orderInversions.length, 1, JSON.stringify(rep.orderInversions));
      const inv = rep.orderInversions[0];
      assert.deepEqual([inv.ab.from.lock.name, inv.ab.to.lock.name, inv.ba.from.lock.name, inv.ba.to.lock.name], ['config', 'cache', 'cache', 'config']);
      assert.deepEqual([inv.ab.from.site.line, inv.ab.to.site.line, inv.ba.from.site.line, inv.ba.to.site.line], ['ORDER-1-FIRST', 'ORDER-1-SECOND', 'ORDER-2-FIRST', 'ORDER-2-SECOND'].map(lineOf));
      // the wait itself ended: counted at its site, nobody left waiting
      const config = rep.locks.find((l) => l.lock.name === 'config')!;
      assert.equal(config.stalls, 1);
      const site = config.sites.find((x) => x.site.line === lineOf('MAIN-WAITS'))!;
      assert.equal(site.contended, 1);
      assert.ok(site.wait.maxMs >= 300, JSON.stringify(site.wait));
      assert.ok(config.instances.every((i) => i.waiters.length === 0), JSON.stringify(config.instances));
      assert.match(r.stderr, /locklens: STALL thread #\d+ "main" waiting \d+ ms for "config" \(mutex\) at src\/main\.rs:\d+:\d+, held by thread #\d+ "reloader"/);
      assert.match(r.stderr, /locklens: lock-order inversion "config" -> "cache"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('text mode on midas_abba: live lines and the report on stderr', async () => {
    const r = await run(cargoRun('midas_abba'));
    assert.equal(r.code, 3);
    assert.match(r.stderr, /locklens run report: DEADLOCK/);
    // sites are printed as paths from the working directory (clickable in a terminal)
    assert.match(r.stderr, /holds {4}"ODB" \(std\.mutex\) mutex, acquired at runtime-hook\/examples\/midas_abba\.rs:26:\d+/);
    assert.match(r.stderr, /waits on "SYSMSG" \(std\.mutex\) mutex at runtime-hook\/examples\/midas_abba\.rs:34:\d+/);
  });
});
