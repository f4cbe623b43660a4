// Shared machinery for LockLens's two real-VS-Code harnesses:
//   test/extension/runner.mjs  mocha suite inside the extension host of code-server
//   test/e2e/drive.mjs         the packaged extension driven through the UI like a person
//
// Both run code-server (VS Code's server build, installed by scripts/install-code-server.sh) on
// 127.0.0.1 and open it in Debian's headless Chromium through playwright-core.  Everything waits
// on events (a log line, a process exit, a callback from the page) with a deadline; nothing
// sleeps for a fixed time.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const E2E_DIR = path.resolve(process.env.LOCKLENS_E2E_DIR || path.join(REPO_ROOT, '.locklens-e2e'));
export const CODE_SERVER_VERSION = process.env.CODE_SERVER_VERSION || '4.100.3';

const T0 = Date.now();
/** A logger that prefixes lines with the harness name and the seconds since start. */
export function logger(name) {
  return (...args) => console.log(`[${name} +${((Date.now() - T0) / 1000).toFixed(1)}s]`, ...args);
}

/** Thrown for a missing prerequisite; the message says how to get it. */
export class SetupError extends Error {}

/** Path of the code-server launcher installed by scripts/install-code-server.sh. */
export function findCodeServer() {
  const dir = path.join(E2E_DIR, 'code-server');
  const bin = path.join(dir, 'node_modules', '.bin', 'code-server');
  const marker = path.join(dir, `.install-ok-${CODE_SERVER_VERSION}`);
  if (!fs.existsSync(bin) || !fs.existsSync(marker)) {
    throw new SetupError(
      `code-server ${CODE_SERVER_VERSION} is not installed in ${dir}.\n` +
        `  Install it (offline-capable, needs root for apt): bash scripts/install-code-server.sh`,
    );
  }
  return bin;
}

/** Debian's Chromium (or $CHROMIUM); playwright-core does not bring a browser of its own. */
export function findChromium() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) {
    throw new SetupError(
      `no Chromium found (looked at ${candidates.join(', ')}).\n` +
        `  Install it: bash scripts/install-code-server.sh (apt-get install chromium), or set CHROMIUM=/path/to/chromium`,
    );
  }
  return found;
}

/** A fresh directory under .locklens-e2e/runs/ for one run: workspace, profiles, logs. */
export function makeRunDir(prefix) {
  const base = path.join(E2E_DIR, 'runs');
  fs.mkdirSync(base, { recursive: true });
  const dir = fs.mkdtempSync(path.join(base, `${prefix}-`));
  for (const sub of ['home', 'user-data/User', 'extensions', 'logs', 'browser-profile', 'tmp']) {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
  }
  // No Welcome/Walkthrough editor: on a fresh profile it opens late and steals keyboard focus
  // (it closed a just-opened Quick Open in 2 of 6 runs without this setting, 0 of 6 with it).
  fs.writeFileSync(
    path.join(dir, 'user-data', 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'telemetry.telemetryLevel': 'off',
        // Run directories live inside the LockLens repository: no "open the parent repository?" toast.
        'git.openRepositoryInParentFolders': 'never',
      },
      null,
      2,
    ) + '\n',
  );
  return dir;
}

/**
 * The fixture workspace: test/extension/workspace/ (a Cargo workspace with the MIDAS and Fly.io
 * crates) plus examples/demo-crate copied in as demo-crate/.  Copied so tests may edit files.
 */
export function prepareFixtureWorkspace(dest) {
  fs.cpSync(path.join(REPO_ROOT, 'test', 'extension', 'workspace'), dest, { recursive: true });
  fs.cpSync(path.join(REPO_ROOT, 'examples', 'demo-crate'), path.join(dest, 'demo-crate'), {
    recursive: true,
    filter: (src) => !src.split(path.sep).includes('target'),
  });
  return dest;
}

/**
 * Rejects after `ms` with `message`; `promise` wins if it settles first.  The timer is cleared
 * either way so it never keeps the process alive.
 */
export function withDeadline(promise, ms, message) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (gave up after ${Math.round(ms / 1000)} s)`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * A code-server process in its own process group.  `start()` resolves with the URL once the
 * server logs the address it listens on (it binds 127.0.0.1:0, so the port is free by
 * construction).  `stop()` ends the whole group.
 */
export class CodeServer {
  constructor({ bin, runDir, extensionsDir, userDataDir, env = {}, extraArgs = [], log = () => {} }) {
    this.bin = bin;
    this.runDir = runDir;
    this.extensionsDir = extensionsDir ?? path.join(runDir, 'extensions');
    this.userDataDir = userDataDir ?? path.join(runDir, 'user-data');
    this.logFile = path.join(runDir, 'logs', 'code-server.log');
    this.env = env;
    this.extraArgs = extraArgs;
    this.log = log;
    this.child = null;
    this.exited = null; // Promise<{code, signal}> once started
    this.url = null;
  }

  baseEnv() {
    // HOME: code-server writes ~/.config/code-server and ~/.local/share/code-server.
    return { ...process.env, HOME: path.join(this.runDir, 'home'), TMPDIR: path.join(this.runDir, 'tmp'), ...this.env };
  }

  commonArgs() {
    return ['--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir];
  }

  /** `code-server --install-extension <vsix>` into this server's extensions dir (before start). */
  async installExtension(vsix) {
    const out = await runToEnd(this.bin, [...this.commonArgs(), '--install-extension', vsix], this.baseEnv());
    if (out.code !== 0 || !/successfully installed/i.test(out.output)) {
      throw new Error(`code-server --install-extension ${vsix} failed (exit ${out.code}):\n${out.output}`);
    }
    return out.output.trim();
  }

  async listExtensions() {
    const out = await runToEnd(this.bin, [...this.commonArgs(), '--list-extensions', '--show-versions'], this.baseEnv());
    return out.output.split('\n').filter((l) => /^[\w-]+\.[\w-]+@/.test(l.trim())).map((l) => l.trim());
  }

  async start(timeoutMs = 60_000) {
    const args = [
      '--auth', 'none',
      '--bind-addr', '127.0.0.1:0',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      ...this.commonArgs(),
      ...this.extraArgs,
    ];
    const logStream = fs.createWriteStream(this.logFile);
    this.child = spawn(this.bin, args, { env: this.baseEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.log(`code-server pid ${this.child.pid} (process group ${this.child.pid}), log: ${path.relative(REPO_ROOT, this.logFile)}`);

    let seen = '';
    const listening = new Promise((resolve, reject) => {
      const onData = (chunk) => {
        logStream.write(chunk);
        if (this.url) return;
        seen += chunk.toString();
        const m = seen.match(/HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)\//);
        if (m) {
          this.url = m[1];
          resolve(this.url);
        }
      };
      this.child.stdout.on('data', onData);
      this.child.stderr.on('data', onData);
      this.child.once('error', reject);
      this.exited.then(({ code, signal }) => {
        if (!this.url) reject(new Error(`code-server exited before listening (code ${code}, signal ${signal}):\n${seen}`));
      });
    });
    this.exited.then(() => logStream.end());
    await withDeadline(listening, timeoutMs, `code-server did not report a listening address; log: ${this.logFile}`);
    return this.url;
  }

  /** The code-server remote authority seen by the workbench: `vscode-remote://127.0.0.1:PORT/path`. */
  remoteUri(fsPath) {
    return `vscode-remote://${new URL(this.url).host}${fsPath}`;
  }

  async stop(timeoutMs = 15_000) {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      if (child) killGroup(child.pid, 'SIGKILL'); // stragglers of an already-exited leader
      return;
    }
    killGroup(child.pid, 'SIGTERM');
    try {
      await withDeadline(this.exited, timeoutMs, 'code-server did not stop on SIGTERM');
    } catch (e) {
      this.log(`${e.message}; sending SIGKILL to its process group`);
    }
    // The leader is gone; anything left in its group (extension host, language server,
    // file watcher) is ended too.
    killGroup(child.pid, 'SIGKILL');
  }
}

/** Signal every process in group `pgid`; false when the group is already empty. */
export function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (e) {
    if (e.code === 'ESRCH') return false;
    throw e;
  }
}

function runToEnd(bin, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** Headless Debian Chromium with the flags that proved stable under code-server. */
export async function launchBrowser(runDir, { viewport = { width: 1400, height: 900 } } = {}) {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(path.join(runDir, 'browser-profile'), {
    executablePath: findChromium(),
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox', // root, and no user namespaces in CI containers
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Stop everything on SIGINT/SIGTERM too; `cleanup` must be idempotent. */
export function onInterrupt(cleanup) {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, async () => {
      console.error(`\n${sig}: stopping the processes this run started...`);
      try {
        await cleanup();
      } finally {
        process.exit(130);
      }
    });
  }
}

export function relToRepo(p) {
  const r = path.relative(REPO_ROOT, p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
}
