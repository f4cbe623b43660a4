// Runtime tracing: a debug session (VS Code's built-in Node debugger) runs a small Node script that
// starts the runtime-hook example midas_abba (an ABBA deadlock on every run). LockLens's debug
// configuration provider gives the session a listener; the Lock Panel opens when the program's
// first events arrive and its model holds the deadlock cycle with both threads and sites.
// The example is built with cargo offline (CARGO_TARGET_DIR=runtime-hook/target); without cargo,
// or when cargo cannot build it offline, the test is skipped with the reason.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { activate, closeAllEditors, extension, fixture, nextEvent, workspaceRoot } from './helpers';

interface PanelState {
  open: boolean;
  model?: {
    state: string;
    locks: Array<{ label: string; holders: Array<{ thread: { name: string | null } }>; waiters: Array<{ thread: { name: string | null }; state: string }>; inCycle: boolean }>;
    cycles: Array<{ nodes: Array<{ thread: { name: string | null }; waitsFor: string; waitSite: number; holds: Array<{ lock: string; site: number }> }> }>;
    sites: Array<{ file: string; line: number; path?: string }>;
  };
  decorations: Record<string, string[]>;
}

/** Runs a command to its end (no shell); resolves with its status and output. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; out: string; error?: string }> {
  return new Promise((resolve) => {
    let out = '';
    const p = spawn(cmd, args, { cwd, env });
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', (e) => resolve({ code: null, out, error: e.message }));
    p.on('close', (code) => resolve({ code, out }));
  });
}

interface Built {
  binary: string;
  cargo: string;
  /** Variables cargo needs here (CARGO_HOME/RUSTUP_HOME when found through the real home). */
  env: Record<string, string>;
  flags: string[];
}

/** Builds midas_abba; returns the binary, or why it cannot be built here. */
async function buildExample(repo: string): Promise<Built | { skip: string }> {
  const hook = path.join(repo, 'runtime-hook');
  const env: NodeJS.ProcessEnv = { ...process.env, CARGO_TARGET_DIR: path.join(hook, 'target'), CARGO_TERM_COLOR: 'never' };
  // The harness gives code-server its own HOME, which hides a rustup install (~/.cargo, ~/.rustup):
  // look there too, with the real home from the password database.
  const home = os.userInfo().homedir;
  let cargo = 'cargo';
  let version = await run(cargo, ['--version'], env, repo);
  if (version.code !== 0 && fs.existsSync(path.join(home, '.cargo', 'bin', 'cargo'))) {
    cargo = path.join(home, '.cargo', 'bin', 'cargo');
    env.CARGO_HOME ??= path.join(home, '.cargo');
    if (fs.existsSync(path.join(home, '.rustup'))) env.RUSTUP_HOME ??= path.join(home, '.rustup');
    version = await run(cargo, ['--version'], env, repo);
  }
  if (version.code !== 0) return { skip: `cargo not found (${version.error ?? version.out.trim()}): install rustc/cargo to test runtime tracing` };
  const reg = process.env.LOCKLENS_DEBIAN_REGISTRY ?? '/usr/share/cargo/registry';
  const debian = fs.existsSync(path.join(reg)) && fs.readdirSync(reg).some((d) => d.startsWith('tokio-'));
  const flags = debian ? ['--config', 'source.crates-io.replace-with="debian"', '--config', `source.debian.directory="${reg}"`] : [];
  const b = await run(cargo, ['build', '--offline', '--quiet', '--manifest-path', path.join(hook, 'Cargo.toml'), ...flags, '--example', 'midas_abba'], env, repo);
  if (b.code !== 0) return { skip: `cargo cannot build runtime-hook's midas_abba offline: ${b.out.trim().split('\n').slice(-3).join(' / ')}` };
  const binary = path.join(hook, 'target', 'debug', 'examples', process.platform === 'win32' ? 'midas_abba.exe' : 'midas_abba');
  const cargoEnv: Record<string, string> = { CARGO_TARGET_DIR: env.CARGO_TARGET_DIR! };
  if (env.CARGO_HOME) cargoEnv.CARGO_HOME = env.CARGO_HOME;
  if (env.RUSTUP_HOME) cargoEnv.RUSTUP_HOME = env.RUSTUP_HOME;
  return fs.existsSync(binary) ? { binary, cargo, env: cargoEnv, flags } : { skip: `cargo built midas_abba but ${binary} is missing` };
}

describe('runtime tracing: Lock Panel', function () {
  let binary = '';
  let repo = '';
  let built: Built;

  before(async function () {
    this.timeout(900_000);
    await activate();
    repo = extension().extensionPath;
    const b = await buildExample(repo);
    if ('skip' in b) {
      console.log(`runtime tracing: SKIPPED: ${b.skip}`);
      this.skip();
    }
    built = b as Built;
    binary = built.binary;
  });
  after(closeAllEditors);

  it('a Node debug session running midas_abba: the Lock Panel shows the deadlock cycle with both sites; decorations clear when it ends', async function () {
    this.timeout(180_000);
    assert.ok(vscode.workspace.isTrusted, 'the test workspace must be trusted (code-server runs with --disable-workspace-trust)');
    const script = fixture('run-traced.js').fsPath;
    assert.ok(fs.existsSync(script), `${script} is missing from the test workspace`);
    const config: vscode.DebugConfiguration = {
      type: 'node',
      request: 'launch',
      name: 'midas_abba (LockLens runtime test)',
      program: script,
      args: [binary],
      cwd: workspaceRoot().fsPath,
      console: 'internalConsole',
      // The example's watchdog ends it if the test does not.
      env: { LOCKLENS_EXAMPLE_TIMEOUT_MS: '120000' },
    };
    const started = nextEvent(vscode.debug.onDidStartDebugSession, (s) => s.name === config.name, 'the debug session to start', 60_000);
    assert.ok(await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], config), 'startDebugging returned false');
    const session = await started;
    assert.equal(typeof session.configuration.locklensTracing, 'string', 'LockLens gave the session a listener');
    assert.match(String(session.configuration.env?.LOCKLENS_ENDPOINT), /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.match(String(session.configuration.env?.LOCKLENS_TOKEN), /^[0-9a-f]{64}$/);

    const state = (await vscode.commands.executeCommand('locklens.test.lockPanelState', { until: 'deadlock', timeoutMs: 120_000 })) as PanelState;
    assert.ok(state.open, 'the Lock Panel opened by itself');
    const model = state.model!;
    assert.equal(model.cycles.length, 1, `one deadlock: ${JSON.stringify(model.cycles)}`);
    const nodes = model.cycles[0].nodes;
    const site = (i: number) => `${model.sites[i].file}:${model.sites[i].line}`;
    const byName = new Map(nodes.map((n) => [n.thread.name, n]));
    const odbedit = byName.get('odbedit');
    const watchdog = byName.get('cm_watchdog');
    assert.ok(odbedit && watchdog, `threads in the cycle: ${nodes.map((n) => n.thread.name).join(', ')}`);
    assert.equal(odbedit.waitsFor, 'SYSMSG');
    assert.equal(watchdog.waitsFor, 'ODB');
    assert.deepEqual(odbedit.holds.map((h) => h.lock), ['ODB']);
    assert.deepEqual(watchdog.holds.map((h) => h.lock), ['SYSMSG']);
    const source = fs.readFileSync(path.join(repo, 'runtime-hook', 'examples', 'midas_abba.rs'), 'utf8').split('\n');
    const lineOf = (needle: string, from = 0) => source.findIndex((l, i) => i >= from && l.includes(needle)) + 1;
    assert.equal(site(odbedit.holds[0].site), `examples/midas_abba.rs:${lineOf('self.odb.lock()')}`);
    assert.equal(site(odbedit.waitSite), `examples/midas_abba.rs:${lineOf('self.sysmsg.lock()')}`);
    const cmMsg = lineOf('fn cm_msg_with_client_name');
    assert.equal(site(watchdog.holds[0].site), `examples/midas_abba.rs:${lineOf('self.sysmsg.lock()', cmMsg)}`);
    assert.equal(site(watchdog.waitSite), `examples/midas_abba.rs:${lineOf('self.odb.lock()', cmMsg)}`);
    // Sites resolve to the example's source (found above the program's target/ folder).
    assert.equal(model.sites[odbedit.waitSite].path, path.join(repo, 'runtime-hook', 'examples', 'midas_abba.rs'));
    // The table: both locks in the cycle, each held by one thread and waited for by the other.
    for (const [lock, holder, waiter] of [['ODB', 'odbedit', 'cm_watchdog'], ['SYSMSG', 'cm_watchdog', 'odbedit']]) {
      const row = model.locks.find((l) => l.label === lock);
      assert.ok(row?.inCycle, `${lock} is in the table, marked as deadlocked`);
      assert.deepEqual(row.holders.map((h) => h.thread.name), [holder], `${lock} holder`);
      assert.deepEqual(row.waiters.map((w) => [w.thread.name, w.state]), [[waiter, 'deadlocked']], `${lock} waiters`);
    }
    // Live decorations at the acquisition sites.
    const decoKey = Object.keys(state.decorations).find((k) => k.endsWith('/midas_abba.rs'));
    assert.ok(decoKey, `decorations: ${JSON.stringify(state.decorations)}`);
    assert.ok(state.decorations[decoKey].some((t) => t.startsWith(`${lineOf('self.sysmsg.lock()')}: deadlock: odbedit #`)), JSON.stringify(state.decorations[decoKey]));

    // The observed lock-order edges reach the language server: both orders were seen, so each
    // second acquisition is a runtime-confirmed lock-order inversion.
    const example = vscode.Uri.file(path.join(repo, 'runtime-hook', 'examples', 'midas_abba.rs'));
    const runtimeDiags = () => vscode.languages.getDiagnostics(example).filter((d) => d.source === 'locklens (runtime)');
    if (runtimeDiags().length < 2) {
      await nextEvent(vscode.languages.onDidChangeDiagnostics, () => runtimeDiags().length >= 2, `runtime lock-order diagnostics on ${example.fsPath}`, 60_000);
    }
    const inversions = runtimeDiags().filter((d) => d.code === 'lock-order-inversion' && d.severity === vscode.DiagnosticSeverity.Error);
    assert.deepEqual(inversions.map((d) => d.range.start.line + 1).sort((a, b) => a - b), [lineOf('self.sysmsg.lock()'), lineOf('self.odb.lock()', cmMsg)], runtimeDiags().map((d) => `${d.range.start.line + 1}: ${d.message}`).join('\n'));
    assert.match(inversions[0].message, /Runtime-confirmed lock-order inversion: (odbedit|cm_watchdog) #\d+ held/);
    assert.ok(inversions.every((d) => (d.relatedInformation ?? []).length >= 2), 'related information points at the other acquisitions');

    // Ending the session closes the listener and clears the decorations; the panel keeps the last state.
    const ended = nextEvent(vscode.debug.onDidTerminateDebugSession, (s) => s.id === session.id, 'the debug session to end', 60_000);
    await vscode.debug.stopDebugging(session);
    await ended;
    const after = (await vscode.commands.executeCommand('locklens.test.lockPanelState')) as PanelState;
    assert.deepEqual(after.decorations, {});
    assert.equal(after.model?.state, 'ended');
    assert.equal(after.model?.cycles.length, 1);
  });
  it('the session was recorded: Save Trace, then Open Trace replays it into the panel', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-trace-'));
    const file = path.join(dir, 'midas.locklens-trace');
    const saved = await vscode.commands.executeCommand('locklens.saveTrace', file);
    assert.equal(saved, file);
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text.split('\n')[0], /"format":"locklens-trace"/);
    assert.ok(!/"token":"[0-9a-f]{64}"/.test(text), 'the session token is not in the trace file');
    const replayed = (await vscode.commands.executeCommand('locklens.openTrace', file)) as PanelState['model'];
    assert.ok(replayed, 'Open Trace returned the panel model');
    assert.equal(replayed.state, 'replay');
    assert.equal(replayed.cycles.length, 1);
    assert.deepEqual(replayed.cycles[0].nodes.map((n) => n.waitsFor).sort(), ['ODB', 'SYSMSG']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('LockLens: Run with Lock Tracing runs cargo run as a task with a listener', async function () {
    this.timeout(180_000);
    const session = (await vscode.commands.executeCommand('locklens.runWithTracing', {
      cwd: path.join(repo, 'runtime-hook'),
      command: 'run',
      args: ['--offline', '--quiet', ...built.flags, '--example', 'midas_abba'],
      cargo: built.cargo,
      // The example's watchdog ends the deadlocked program after 3 s, which ends the task.
      env: { ...built.env, LOCKLENS_EXAMPLE_TIMEOUT_MS: '3000' },
    })) as string | undefined;
    assert.equal(typeof session, 'string', 'the task started');
    const live = (await vscode.commands.executeCommand('locklens.test.lockPanelState', { until: 'deadlock', session, timeoutMs: 120_000 })) as PanelState;
    assert.deepEqual(live.model!.cycles[0].nodes.map((n) => n.thread.name).sort(), ['cm_watchdog', 'odbedit']);
    const ended = (await vscode.commands.executeCommand('locklens.test.lockPanelState', { until: 'ended', session, timeoutMs: 120_000 })) as PanelState;
    assert.equal(ended.model!.state, 'ended');
    assert.deepEqual(ended.decorations, {});
  });
});
