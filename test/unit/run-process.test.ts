// `locklens run` as a process, with a fake hook (test/support/trace-fake-hook.ts) so that it runs
// without cargo: environment handed to the program, deadlock -> report + end + exit 3, stalls,
// hostile streams, exit status pass-through, --timeout-s, --record, usage errors. Every test waits
// on process exit, bounded by a timeout; nothing sleeps.

import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import type { RunReport } from '../../server/src/analysis/trace/report';
import { loadTrace } from '../../server/src/trace';
import { ROOT, within } from '../support/trace-harness';

const CLI = path.join(ROOT, 'bin', 'locklens.js');
const FAKE = path.join(ROOT, 'out', 'test', 'support', 'trace-fake-hook.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-run-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function locklensRun(args: string[], timeoutMs = 120_000, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'run', ...args], { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, RUST_BACKTRACE: '', ...env } }, (err, stdout, stderr) => {
      const code: unknown = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - t0 });
    });
  });
}

function json(r: Run): RunReport {
  try {
    return JSON.parse(r.stdout) as RunReport;
  } catch (e) {
    throw new Error(`stdout is not one JSON object (${(e as Error).message}):\n${r.stdout.slice(0, 500)}\nstderr:\n${r.stderr.slice(0, 2000)}`);
  }
}

const fake = (scenario: string) => ['--', process.execPath, FAKE, scenario];

describe('locklens run (fake hook)', { concurrency: 4 }, () => {
  test('the program gets a loopback endpoint, a fresh token and report mode', async () => {
    const r = await locklensRun(['--stall-ms', '250', ...fake('env')]);
    assert.equal(r.code, 0, r.stderr);
    const env = JSON.parse(r.stdout.trim().split('\n')[0]) as Record<string, string>;
    assert.match(env.LOCKLENS_ENDPOINT, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.match(env.LOCKLENS_TOKEN, /^[0-9a-f]{64}$/);
    assert.equal(env.LOCKLENS_STALL_MS, '250');
    assert.equal(env.LOCKLENS_ON_DEADLOCK, 'report');
    assert.match(r.stderr, /no LockLens hook connected/);
  });

  test('deadlock: reported with threads, locks and sites, program ended, exit 3', async () => {
    const r = await locklensRun(['--format', 'json', ...fake('deadlock')]);
    assert.equal(r.code, 3, r.stderr);
    const rep = json(r);
    assert.equal(rep.outcome, 'deadlock');
    assert.equal(rep.exitCode, 3);
    assert.equal(rep.program.signal, 'SIGKILL');
    assert.equal(rep.deadlocks.length, 1);
    const c = rep.deadlocks[0].cycle;
    assert.deepEqual(c.map((n) => [n.thread.name, n.holds.map((h) => `${h.lock.name}@${h.site.line}`), `${n.waitsFor.lock.name}@${n.waitsFor.site.line}`]), [
      ['odbedit', ['ODB@26'], 'SYSMSG@34'],
      ['cm_watchdog', ['SYSMSG@39'], 'ODB@41'],
    ]);
    assert.equal(rep.orderInversions.length, 1);
    assert.match(r.stderr, /locklens: DEADLOCK thread #1 "odbedit"/);
    assert.match(r.stderr, /locklens: lock-order inversion/);
  });

  test('deadlock in text mode: the report goes to stderr, stdout stays the program\'s', async () => {
    const r = await locklensRun(fake('deadlock'));
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /locklens run report: DEADLOCK/);
    assert.match(r.stderr, /holds {4}"ODB" \(std\.mutex\) mutex, acquired at src\/fake\.rs:26:9/);
    assert.match(r.stderr, /waits on "SYSMSG" \(std\.mutex\) mutex at src\/fake\.rs:34:9, held by #2/);
  });

  test('stall: live line and report, program exit status kept', async () => {
    const r = await locklensRun(fake('stall'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /fake: done/);
    assert.match(r.stderr, /locklens: STALL thread #3 waiting 1050 ms for "L1" \(mutex\) at src\/lib\.rs:30:5, held by thread #4/);
    assert.match(r.stderr, /Stalls \(1\)/);
  });

  test('hostile stream: counted in the report, exit status of the program', async () => {
    const r = await locklensRun(['--format', 'json', ...fake('hostile')]);
    assert.equal(r.code, 5, r.stderr);
    const rep = json(r);
    assert.equal(rep.outcome, 'exited');
    assert.equal(rep.stream.rejectedTotal, 3, JSON.stringify(rep.stream));
    assert.equal(rep.stream.rejected['invalid UTF-8'], 1);
  });

  test('--timeout-s ends the program and its children: exit 124', async () => {
    // text mode: the program's stdout is this test's pipe, shared with the grandchild, so the
    // run only comes back (before the 120 s bound) if the whole process group was ended
    const r = await locklensRun(['--timeout-s', '1', ...fake('hang')]);
    assert.equal(r.code, 124, r.stderr);
    assert.match(r.stderr, /locklens: timeout: .* still running after 1 s, ending it/);
    assert.match(r.stderr, /locklens run report: TIMEOUT/);
    const j = await locklensRun(['--timeout-s', '0.5', '--format', 'json', ...fake('hang')]);
    assert.equal(j.code, 124, j.stderr);
    assert.equal(json(j).outcome, 'timeout');
  });

  test('exit status and signals pass through', async () => {
    assert.equal((await locklensRun(['--', process.execPath, '-e', 'process.exit(7)'])).code, 7);
    assert.equal((await locklensRun(['--', 'sh', '-c', 'kill -TERM $$'])).code, 143);
  });

  test('signals to locklens reach the program; a second one ends an unwilling program', async () => {
    /**
     * Starts `locklens run -- argv`; once the program printed "ready PID", sends SIGINT, and
     * again each time locklens says it passed one on, `times` in all. Resolves with the exit
     * status. (Signals sent back to back would merge into one.) On timeout everything started
     * here is killed, so a failure cannot hang the suite.
     */
    const interrupted = (argv: string[], times: number) => {
      let p: ReturnType<typeof spawn> | undefined;
      let programPid = 0;
      return within(
        new Promise<number | string>((resolve) => {
          p = spawn(process.execPath, [CLI, 'run', '--', ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
          const proc = p;
          let out = '';
          let sent = 0;
          const send = () => {
            if (sent < times) {
              sent++;
              proc.kill('SIGINT');
            }
          };
          proc.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /ready (\d+)/.exec(out);
            if (m && programPid === 0) {
              programPid = Number(m[1]);
              send();
            }
          });
          let err = '';
          proc.stderr!.on('data', (d: Buffer) => {
            err += d.toString();
            if (/locklens: passing SIGINT/.test(d.toString())) send();
          });
          proc.on('exit', (code, signal) => resolve(code ?? `${signal}: ${err}`));
        }),
        60_000,
        'locklens run to exit',
      ).finally(() => {
        if (p && p.exitCode === null) p.kill('SIGKILL');
        if (programPid) {
          try {
            process.kill(-programPid, 'SIGKILL');
          } catch {
            // gone, as it should be
          }
        }
      });
    };
    assert.equal(await interrupted([process.execPath, '-e', 'console.log("ready " + process.pid); setInterval(() => {}, 1000)'], 1), 130);
    assert.equal(await interrupted(['sh', '-c', 'trap "" INT; echo ready $$; while :; do sleep 1; done'], 2), 137);
  });

  test('a program that cannot be started: 127 with a message', async () => {
    const r = await locklensRun(['--', path.join(tmp, 'no-such-program')]);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /locklens: cannot run .*no-such-program/);
  });

  test('usage errors: exit 2', async () => {
    for (const args of [[], ['--stall-ms', '0', '--', 'true'], ['--timeout-s', 'x', '--', 'true'], ['--format', 'xml', '--', 'true'], ['prog'], ['--bogus', '--', 'true']]) {
      const r = await locklensRun(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^locklens: /);
    }
  });

  test('--record writes a trace (token redacted) that loadTrace replays', async () => {
    const file = path.join(tmp, 'deadlock.ndjson');
    const r = await locklensRun(['--record', file, ...fake('deadlock')]);
    assert.equal(r.code, 3, r.stderr);
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /"token":"<redacted>"/);
    assert.doesNotMatch(text, /[0-9a-f]{64}/);
    const { model, header } = await loadTrace(file);
    assert.deepEqual(header.argv, [process.execPath, FAKE, 'deadlock']);
    assert.equal(model.deadlocks.length, 1);
    assert.equal(model.stats.rejectedTotal, 0);
  });

  test('--record to an unwritable place: exit 2 before running anything', async () => {
    const r = await locklensRun(['--record', path.join(tmp, 'missing-dir', 'x.ndjson'), '--', process.execPath, '-e', 'console.log("ran")']);
    assert.equal(r.code, 2);
    assert.doesNotMatch(r.stdout, /ran/);
  });
});
