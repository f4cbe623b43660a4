#!/usr/bin/env node
// Runs LockLens's extension test suite (mocha, test/extension/suite/) inside the Node extension
// host of a real VS Code: code-server 4.100.3 (VS Code 1.100.3) opened in headless Chromium.
//
//   npm run test:extension                 builds, then runs this file
//   node test/extension/runner.mjs [--extension DIR] [--tests MODULE] [--timeout SECONDS] [--keep]
//
// How: the workbench URL's `payload` carries extensionDevelopmentPath + extensionTestsPath (as
// vscode-remote URIs), which is what VS Code's own browser integration tests do.  The workbench
// loads the extension under development into the extension host, runs the test module's `run()`
// and, when it settles, calls window.codeAutomationExit(code), which playwright exposes to us.
// The extension host's console (mocha's spec reporter) reaches us through window.codeAutomationLog.
//
// Exit code: the suite's (0 = all passed), 2 for a missing prerequisite, 1 for a harness failure.
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import {
  CodeServer,
  REPO_ROOT,
  SetupError,
  findChromium,
  findCodeServer,
  launchBrowser,
  logger,
  makeRunDir,
  onInterrupt,
  prepareFixtureWorkspace,
  relToRepo,
  withDeadline,
} from './harness.mjs';

const log = logger('test:extension');
/** Prefix of mocha's report lines in the console (passed to the suite, see suite/index.ts). */
const REPORT_MARKER = '[locklens-test] ';

const { values: opts } = util.parseArgs({
  options: {
    extension: { type: 'string', default: REPO_ROOT },
    tests: { type: 'string', default: path.join(REPO_ROOT, 'out', 'test', 'extension', 'suite', 'index.js') },
    timeout: { type: 'string', default: '300' },
    keep: { type: 'boolean', default: false },
  },
});
const extensionDir = path.resolve(opts.extension);
const testsModule = path.resolve(opts.tests);
const suiteTimeoutMs = Number(opts.timeout) * 1000;

function preflight() {
  const bin = findCodeServer();
  findChromium();
  const pkgFile = path.join(extensionDir, 'package.json');
  if (!fs.existsSync(pkgFile)) throw new SetupError(`no package.json in the extension folder ${extensionDir}`);
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
  const main = pkg.main && path.resolve(extensionDir, pkg.main);
  if (!main || !(fs.existsSync(main) || fs.existsSync(main + '.js'))) {
    throw new SetupError(
      `the extension's entry point ${pkg.main ? relToRepo(main) : '(package.json has no "main")'} does not exist.\n` +
        `  Build it first: npm run build`,
    );
  }
  if (!fs.existsSync(testsModule)) {
    throw new SetupError(`the test module ${relToRepo(testsModule)} does not exist.\n  Compile the suite: npx tsc -b test/extension`);
  }
  return { bin, pkg };
}

let server = null;
let browser = null;
let pageErrors = 0;
let runDir = null;
let cleanedUp = false;
async function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  if (browser) await browser.close().catch((e) => log(`closing the browser: ${e.message}`));
  if (server) await server.stop();
  if (runDir && !opts.keep) fs.rmSync(runDir, { recursive: true, force: true });
}
onInterrupt(cleanup);

/** Renders one console call from the extension host (format string + args, like console.log). */
function formatHostLog(args) {
  if (!Array.isArray(args) || args.length === 0) return '';
  const [first, ...rest] = args;
  if (typeof first === 'string' && /%[sdifoOjc%]/.test(first)) {
    // Drop the arguments of %c (CSS) directives, which mean nothing on a terminal.
    const kept = [];
    let i = 0;
    first.replace(/%[sdifoOjc%]/g, (m) => {
      if (m === '%%') return m;
      if (m !== '%c') kept.push(rest[i]);
      i++;
      return m;
    });
    return util.format(first.replace(/%c/g, ''), ...kept, ...rest.slice(i));
  }
  return args.map((a) => (typeof a === 'string' ? a : util.inspect(a, { depth: 4 }))).join(' ');
}

async function main() {
  const { bin, pkg } = preflight();
  runDir = makeRunDir('ext');
  const workspace = prepareFixtureWorkspace(path.join(runDir, 'workspace'));
  const resultsFile = path.join(runDir, 'mocha-results.json');
  log(`extension ${pkg.publisher}.${pkg.name}@${pkg.version} from ${relToRepo(extensionDir)}`);
  log(`tests     ${relToRepo(testsModule)}`);
  const bundledServer = path.join(extensionDir, 'dist', 'server.js');
  if (fs.existsSync(bundledServer)) {
    // The client starts dist/server.js when it exists, else out/server/src/lsp/main.js.
    log(`note: ${relToRepo(bundledServer)} exists, so the extension runs that bundled server, not out/ (delete dist/ to test the tsc output)`);
  }
  log(`run dir   ${relToRepo(runDir)}${opts.keep ? ' (kept)' : ''}`);

  // Empty --extensions-dir: only the extension under development is loaded.  The suite writes
  // its structured results where LOCKLENS_TEST_RESULTS says (the extension host inherits the
  // server's environment).
  server = new CodeServer({
    bin,
    runDir,
    env: { LOCKLENS_TEST_RESULTS: resultsFile, LOCKLENS_TEST_REPORT_MARKER: REPORT_MARKER },
    log,
  });
  const url = await server.start();
  log(`code-server listening on ${url}`);

  browser = await launchBrowser(runDir);
  const page = browser.pages()[0] ?? (await browser.newPage());

  let settle;
  const finished = new Promise((resolve) => (settle = resolve));
  await page.exposeFunction('codeAutomationExit', (code) => settle({ kind: 'exit', code }));
  // The workbench forwards its own console and the extension host's here.  Mocha's report
  // (marked by the suite) is printed; everything goes to logs/console.log.
  const consoleLog = fs.createWriteStream(path.join(runDir, 'logs', 'console.log'));
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const text = formatHostLog(args);
    consoleLog.write(`[${type}] ${text}\n`);
    for (const line of text.split('\n')) {
      if (line.startsWith(REPORT_MARKER)) process.stdout.write(line.slice(REPORT_MARKER.length) + '\n');
    }
  });
  page.on('crash', () => settle({ kind: 'error', message: 'the browser page crashed' }));
  // Uncaught workbench errors go to the console log; a count is printed at the end.
  page.on('pageerror', (e) => {
    pageErrors++;
    consoleLog.write(`[pageerror] ${e.stack || e.message}\n`);
  });
  server.exited.then(({ code, signal }) =>
    settle({ kind: 'error', message: `code-server exited during the run (code ${code}, signal ${signal})` }),
  );

  const payload = [
    ['extensionDevelopmentPath', server.remoteUri(extensionDir)],
    ['extensionTestsPath', server.remoteUri(testsModule)],
    ['skipWelcome', 'true'],
  ];
  const target = `${url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  log(`opening the workbench; the suite runs inside its extension host (deadline ${opts.timeout} s)`);
  await page.goto(target);

  let outcome;
  try {
    outcome = await withDeadline(finished, suiteTimeoutMs, 'the extension tests did not report an exit code');
  } catch (e) {
    outcome = { kind: 'error', message: e.message };
    const shot = path.join(runDir, 'logs', 'timeout.png');
    await page.screenshot({ path: shot }).catch(() => {});
    opts.keep = true; // keep the logs and screenshot for inspection
    log(`screenshot of the workbench: ${relToRepo(shot)}`);
  }

  const results = fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, 'utf8')) : null;
  return report(outcome, results);
}

function report(outcome, results) {
  console.log('');
  if (outcome.kind === 'error') {
    log(`HARNESS FAILURE: ${outcome.message}`);
    log(`logs: ${relToRepo(path.join(runDir, 'logs'))} (code-server.log, console.log; run dir kept)`);
    opts.keep = true;
    return 1;
  }
  if (outcome.code !== 0) opts.keep = true; // keep logs of a failed run
  if (pageErrors) log(`${pageErrors} uncaught error(s) in the workbench page (in logs/console.log)`);
  log(`the extension host reported exit code ${outcome.code}; its console: ${relToRepo(path.join(runDir, 'logs', 'console.log'))}${opts.keep ? '' : ' (deleted with the run dir; --keep keeps it)'}`);
  if (!results) {
    // The test module failed before mocha ran (it could not be loaded, or run() threw).
    log(`no mocha results were written: the test module failed to load or run() threw; see ${relToRepo(path.join(runDir, 'logs', 'console.log'))}`);
    opts.keep = true;
    return outcome.code === 0 ? 1 : outcome.code;
  }
  if (results.failures.length) {
    // mocha's report above has the errors and stacks; this is the short list.
    console.log('\nFailed:');
    results.failures.forEach((f) => console.log(`  - ${f.title}: ${f.error.split('\n')[0]}`));
  }
  if (results.pending.length) {
    console.log('\nPending (it.skip; the reason is in the test file):');
    results.pending.forEach((t) => console.log(`  - ${t}`));
  }
  console.log(`\n${results.passes} passed, ${results.failures.length} failed, ${results.pending.length} skipped`);
  if (results.passes + results.failures.length === 0) {
    log('no test ran: that is a failure, not a pass');
    return 1;
  }
  return outcome.code;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  if (e instanceof SetupError) {
    console.error(`\ntest:extension cannot run: ${e.message}`);
    code = 2;
  } else {
    console.error(`\ntest:extension harness error: ${e.stack || e}`);
    if (runDir) opts.keep = true;
    code = 1;
  }
} finally {
  await cleanup();
  if (opts.keep && runDir) log(`kept ${relToRepo(runDir)}`);
}
process.exit(code);
