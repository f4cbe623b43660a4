#!/usr/bin/env node
// Host 2 for the extension test suite: desktop VS Code (Electron) through @vscode/test-electron,
// against the oldest VS Code that package.json `engines.vscode` accepts and against stable.
//
//   npm run test:electron        (builds first)
//   node test/extension/electron.mjs [--versions 1.82.0,stable]
//
// test-electron downloads VS Code from Microsoft's update server.  Where that server cannot be
// reached (these development machines and CI reach only the npm registry and Debian apt), a host
// whose VS Code is not already cached is reported as SKIPPED with the reason, and such a run
// exits 0 printing SKIPPED: it did not test anything, and says so.  A host that could run and
// failed makes the run fail.  The code-server host (runner.mjs) runs the same suite offline.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { E2E_DIR, REPO_ROOT, logger, makeRunDir, prepareFixtureWorkspace, relToRepo, withDeadline } from './harness.mjs';

const log = logger('test:electron');
const { values: opts } = util.parseArgs({ options: { versions: { type: 'string' } } });

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
/** `^1.82.0` / `>=1.82.0` / `1.82.0` -> `1.82.0` */
function minimumVersion(range) {
  const m = /^\s*(?:\^|>=|~)?\s*(\d+\.\d+\.\d+)\s*$/.exec(range || '');
  if (!m) throw new Error(`cannot read a minimum version from engines.vscode "${range}"`);
  return m[1];
}
const versions = opts.versions ? opts.versions.split(',') : [minimumVersion(pkg.engines?.vscode), 'stable'];
const testsModule = path.join(REPO_ROOT, 'out', 'test', 'extension', 'suite', 'index.js');
const cachePath = path.join(E2E_DIR, 'vscode-test');

/** Errors that mean "the download server cannot be reached", not "the tests failed". */
function isOfflineError(e) {
  const codes = ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH'];
  const text = `${e?.code ?? ''} ${e?.message ?? e}`;
  return codes.some((c) => text.includes(c)) || /timed? ?out|socket hang up|getaddrinfo/i.test(text);
}

/** Desktop VS Code on Linux needs an X display; start Xvfb when there is none. */
async function ensureDisplay() {
  if (process.platform !== 'linux' || process.env.DISPLAY) return null;
  const xvfb = ['/usr/bin/Xvfb', '/usr/local/bin/Xvfb'].find((p) => fs.existsSync(p));
  if (!xvfb) {
    throw new Error('VS Code (Electron) needs an X display and there is neither $DISPLAY nor Xvfb (apt-get install xvfb)');
  }
  // -displayfd: Xvfb picks a free display number and writes it to us once it accepts clients.
  const child = spawn(xvfb, ['-displayfd', '3', '-screen', '0', '1400x900x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  const display = await withDeadline(
    new Promise((resolve, reject) => {
      let out = '';
      child.stdio[3].on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(`:${out.trim()}`);
      });
      child.once('exit', (code) => reject(new Error(`Xvfb exited with code ${code}`)));
    }),
    20_000,
    'Xvfb did not report a display',
  );
  process.env.DISPLAY = display;
  log(`started Xvfb on ${display} (pid ${child.pid})`);
  return child;
}

async function runHost(version, te, ensureDisplayOnce) {
  let executable;
  try {
    executable = await te.downloadAndUnzipVSCode({ version, cachePath, timeout: 30_000, reporter: new te.SilentReporter() });
  } catch (e) {
    if (isOfflineError(e)) {
      return { version, status: 'SKIPPED', why: `VS Code ${version} cannot be downloaded here (${e.code || e.message}) and is not cached in ${relToRepo(cachePath)}` };
    }
    return { version, status: 'FAILED', why: `downloading VS Code ${version}: ${e.message}` };
  }
  await ensureDisplayOnce();

  const runDir = makeRunDir(`electron-${version}`);
  const workspace = prepareFixtureWorkspace(path.join(runDir, 'workspace'));
  const resultsFile = path.join(runDir, 'mocha-results.json');
  log(`VS Code ${version}: ${relToRepo(executable)}; run dir ${relToRepo(runDir)}`);
  try {
    await te.runTests({
      vscodeExecutablePath: executable,
      extensionDevelopmentPath: REPO_ROOT,
      extensionTestsPath: testsModule,
      extensionTestsEnv: { LOCKLENS_TEST_RESULTS: resultsFile },
      // runTests itself adds --no-sandbox, --disable-gpu-sandbox, --disable-updates,
      // --skip-welcome, --skip-release-notes and --disable-workspace-trust.
      launchArgs: [
        workspace,
        '--disable-extensions', // only LockLens (the extension under development) is loaded
        '--user-data-dir', path.join(runDir, 'user-data'),
        '--extensions-dir', path.join(runDir, 'extensions'),
        '--disable-gpu',
      ],
    });
  } catch (e) {
    const results = fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, 'utf8')) : null;
    return { version, status: 'FAILED', why: e.message, results };
  }
  const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
  if (results.passes + results.failures.length === 0) return { version, status: 'FAILED', why: 'no test ran', results };
  fs.rmSync(runDir, { recursive: true, force: true });
  return { version, status: 'PASSED', results };
}

async function main() {
  if (!fs.existsSync(testsModule)) {
    console.error(`test:electron: ${relToRepo(testsModule)} does not exist; compile the suite: npx tsc -b test/extension`);
    return 2;
  }
  const te = await import('@vscode/test-electron');
  let xvfb = null;
  let displayTried = false;
  const ensureDisplayOnce = async () => {
    if (displayTried) return;
    displayTried = true;
    xvfb = await ensureDisplay();
  };

  const outcomes = [];
  try {
    for (const v of versions) {
      log(`host: VS Code ${v} (desktop, Electron) with --disable-extensions`);
      try {
        outcomes.push(await runHost(v, te, ensureDisplayOnce));
      } catch (e) {
        outcomes.push({ version: v, status: 'FAILED', why: e.message });
      }
    }
  } finally {
    if (xvfb) xvfb.kill('SIGTERM');
  }

  console.log('');
  for (const o of outcomes) {
    const counts = o.results ? ` (${o.results.passes} passed, ${o.results.failures.length} failed, ${o.results.pending.length} skipped)` : '';
    console.log(`VS Code ${o.version}: ${o.status}${counts}${o.why ? ` - ${o.why}` : ''}`);
  }
  if (outcomes.some((o) => o.status === 'FAILED')) return 1;
  if (outcomes.every((o) => o.status === 'SKIPPED')) {
    console.log('\nSKIPPED: no desktop VS Code could be run here, so nothing was tested on Electron.');
    console.log('The same suite runs offline in code-server: npm run test:extension');
    return 0;
  }
  const skipped = outcomes.filter((o) => o.status === 'SKIPPED').map((o) => o.version);
  if (skipped.length) console.log(`\nSKIPPED on ${skipped.join(', ')}; passed on the others.`);
  return 0;
}

process.exit(await main());
