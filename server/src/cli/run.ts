// `locklens run [--format text|json] [--record FILE] [--stall-ms N] [--timeout-s N] -- CMD ARGS...`
//
// Starts a loopback listener for the runtime hook (random port, per-session random token), runs
// the program with LOCKLENS_ENDPOINT/LOCKLENS_TOKEN set, folds the hook's stream into a
// TraceModel, prints live lines (contention, inversions, stalls, deadlocks) to stderr and a final
// report. On a deadlock it reports, ends the program's process group and exits 3; --timeout-s
// ends it with 124; otherwise it exits with the program's status.
//
// The listener, trace files and site resolution are in server/src/trace/ (shared with the VS Code
// panel); this file is the command only.

import { spawn, type ChildProcess } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import { TraceModel } from '../analysis/trace/model';
import { buildReport, liveLine, reportText, type RunReport } from '../analysis/trace/report';
import { resolveSites, siteRoots, TraceListener, TraceRecorder, type ListenerOptions } from '../trace';
import { parseArgs, oneOf, UsageError } from './args';

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

// ---------------------------------------------------------------------------
// locklens run

const SIGNALS = os.constants.signals as Record<string, number>;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function positiveNumber(args: ReturnType<typeof parseArgs>, name: string, integer: boolean): number | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)) || n > 1e9) throw new UsageError(`--${name} must be a positive ${integer ? 'whole ' : ''}number`);
  return n;
}

export interface RunOptions {
  /** Extra environment for the program (tests). */
  env?: NodeJS.ProcessEnv;
  /** Listener settings (tests). */
  listener?: Partial<ListenerOptions>;
}

export async function runCommand(argv: string[], out: Out, options: RunOptions = {}): Promise<number> {
  const args = parseArgs(argv, { format: true, record: true, 'stall-ms': true, 'timeout-s': true });
  const format = oneOf(args, 'format', ['text', 'json'] as const, 'text');
  const stallMs = positiveNumber(args, 'stall-ms', true);
  const timeoutS = positiveNumber(args, 'timeout-s', false);
  const recordPath = args.flags.get('record');
  if (recordPath === true) throw new UsageError('--record needs a file name');
  if (args.positionals.length > 0) throw new UsageError(`unexpected '${args.positionals[0]}': put the program after --, as in: locklens run -- cargo run`);
  const command = args.rest;
  if (command.length === 0) throw new UsageError('missing the program to run after --');

  const model = new TraceModel();
  const listener = await TraceListener.start(model, options.listener);
  let recorder: TraceRecorder | undefined;
  if (typeof recordPath === 'string') {
    recorder = new TraceRecorder(recordPath, command);
    try {
      await recorder.ready();
    } catch (e) {
      await listener.close();
      out.stderr(`locklens: cannot write ${recordPath}: ${(e as Error).message}\n`);
      return 2;
    }
    recorder.attach(listener);
  }

  const started = Date.now();
  let outcome: RunReport['outcome'] = 'exited';
  let child: ChildProcess | undefined;
  let stopTimer: NodeJS.Timeout | undefined;
  let pendingDeadlockPid: number | undefined;

  const stopForDeadlock = () => {
    if (stopTimer) clearTimeout(stopTimer);
    stopTimer = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      out.stderr(`locklens: deadlock: ending ${command[0]} (pid ${child.pid}) and its process group\n`);
      killGroup(child, 'SIGKILL');
    }
  };

  // Live lines, with a budget per kind so that a storm does not bury the program's own output.
  const budget: Record<string, number> = { contention: 20, stall: 50, inversion: 50, 'order-cycle': 20, deadlock: 20 };
  model.onEvent((e) => {
    const line = liveLine(model, e);
    if (line && budget[e.kind] !== undefined) {
      const left = budget[e.kind]--;
      if (left > 0) out.stderr(line + '\n');
      else if (left === 0) out.stderr(`locklens: (further ${e.kind} lines are left for the final report)\n`);
    }
    if (e.kind === 'deadlock' && outcome === 'exited' && !e.msg.cycle.some((n) => n.timed)) {
      outcome = 'deadlock';
      pendingDeadlockPid = model.processes.get(e.process)?.pid;
      // Let the next snapshot (≤ snapshot_ms) bring the final counters, then end the program.
      stopTimer = setTimeout(stopForDeadlock, 1000);
    } else if (e.kind === 'snapshot' && pendingDeadlockPid !== undefined && model.processes.get(e.process)?.pid === pendingDeadlockPid) {
      pendingDeadlockPid = undefined;
      stopForDeadlock();
    }
  });

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    LOCKLENS_ENDPOINT: listener.endpoint,
    LOCKLENS_TOKEN: listener.token,
    // `run` ends the program itself once the report is in; a user's explicit `abort` is kept.
    LOCKLENS_ON_DEADLOCK: options.env?.LOCKLENS_ON_DEADLOCK ?? process.env.LOCKLENS_ON_DEADLOCK ?? 'report',
  };
  if (stallMs !== undefined) env.LOCKLENS_STALL_MS = String(stallMs);

  const signalHandlers: Array<[NodeJS.Signals, () => void]> = [];
  let timeoutTimer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  // The program is in its own group: pass on what the terminal sends to ours. Installed before
  // spawning: the program can run (and the user press Ctrl-C) before spawn() returns, and a
  // signal without a handler would end locklens and leave the program behind.
  let signalled = 0;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as NodeJS.Signals[]) {
    // a second one (a program that ignores the first) ends the group for good
    const h = () => {
      const now: NodeJS.Signals = ++signalled > 1 ? 'SIGKILL' : sig;
      out.stderr(now === 'SIGKILL' ? `locklens: ${sig} again: killing ${command[0]} (SIGKILL)\n` : `locklens: passing ${sig} to ${command[0]} (send it again to kill it)\n`);
      // (the handler runs after spawn() has returned, so `child` is set unless spawning failed)
      if (child) killGroup(child, now);
    };
    process.on(sig, h);
    signalHandlers.push([sig, h]);
  }
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    let settled = false;
    const settle = (r: { code: number | null; signal: NodeJS.Signals | null; error?: Error }) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    try {
      child = spawn(command[0], command.slice(1), {
        env,
        // Own process group, so that a deadlock or timeout ends the program and its children
        // (`cargo run` -> the binary). A background group must not read the terminal.
        detached: true,
        stdio: [process.stdin.isTTY ? 'ignore' : 'inherit', format === 'json' ? 'pipe' : 'inherit', 'inherit'],
      });
    } catch (e) {
      settle({ code: null, signal: null, error: e as Error });
      return;
    }
    const c = child;
    if (c.stdout) c.stdout.on('data', (d: Buffer) => out.stderr(d.toString('utf8')));
    c.once('error', (e) => settle({ code: null, signal: null, error: e }));
    c.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      if (!c.stdout) return settle({ code, signal });
      // Let piped output drain, but not forever: a daemon may have kept the pipe.
      const t = setTimeout(() => settle({ code, signal }), 2000);
      c.once('close', () => {
        clearTimeout(t);
        settle({ code, signal });
      });
    });
    // The program is in its own group: pass on what the terminal sends to ours.
    if (timeoutS !== undefined) {
      timeoutTimer = setTimeout(() => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        if (outcome === 'exited') outcome = 'timeout';
        out.stderr(`locklens: timeout: ${command[0]} still running after ${timeoutS} s, ending it\n`);
        killGroup(c, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(c, 'SIGKILL'), 2000);
      }, timeoutS * 1000);
    }
  });
  for (const [sig, h] of signalHandlers) process.off(sig, h);
  if (timeoutTimer) clearTimeout(timeoutTimer);
  if (killTimer) clearTimeout(killTimer);
  return finish(result);

  async function finish(r: { code: number | null; signal: NodeJS.Signals | null; error?: Error }): Promise<number> {
    if (stopTimer) clearTimeout(stopTimer);
    if (r.error) outcome = 'spawn-error';
    // The hook's socket closes with the process; give stragglers (children that inherited the
    // environment) a bounded moment.
    await Promise.race([listener.idle(), new Promise<void>((res) => setTimeout(res, 2000).unref())]);
    await listener.close();
    if (recorder) await recorder.close();
    let code: number;
    if (outcome === 'spawn-error') code = (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 127 : 126;
    else if (outcome === 'deadlock') code = 3;
    else if (outcome === 'timeout') code = 124;
    else code = r.code ?? (r.signal ? 128 + (SIGNALS[r.signal] ?? 0) : 1);
    if (r.error) out.stderr(`locklens: cannot run ${command[0]}: ${r.error.message}\n`);
    const report = buildReport(model, {
      argv: command,
      exitCode: r.code,
      signal: r.signal,
      durationMs: Date.now() - started,
      outcome,
      runExitCode: code,
      connections: { accepted: listener.stats.accepted, refused: listener.stats.refused, closed: listener.stats.closed },
    });
    resolveSites(report, siteRoots(command));
    if (format === 'json') out.stdout(JSON.stringify(report) + '\n');
    else
      out.stderr(
        reportText(report, {
          // clickable from the terminal: the resolved file relative to here when it is below here
          siteFile: (s) => {
            if (!s.path) return s.file;
            const rel = path.relative(process.cwd(), s.path);
            return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : s.path;
          },
        }),
      );
    if (recorder) out.stderr(`locklens: trace recorded to ${recorder.path} (${recorder.written} messages${recorder.skipped ? `, ${recorder.skipped} skipped: file size limit` : ''})\n`);
    return code;
  }
}

