// Entry point VS Code loads in the extension host (extensionTestsPath).  It must export
// `run(): Promise<void>`; VS Code reports exit code 0 when the promise resolves, 1 when it rejects.
//
// Mocha 11 (CommonJS; mocha 12 is ESM-only and cannot be `require`d here), BDD interface,
// spec reporter on the console (the harness prints it), plus a JSON summary written to
// $LOCKLENS_TEST_RESULTS for the harness's closing line.
import * as fs from 'fs';
import * as path from 'path';
import * as util from 'util';
import Mocha from 'mocha';

/**
 * When set, every line of mocha's report starts with this marker, so a harness that receives the
 * whole workbench and extension-host console (runner.mjs) can pick the report out of it.
 */
const REPORT_MARKER = process.env.LOCKLENS_TEST_REPORT_MARKER ?? '';

interface Results {
  passes: number;
  failures: Array<{ title: string; error: string }>;
  pending: string[];
}

export function run(): Promise<void> {
  // The spec reporter prints through Base.consoleLog; route it through one marked console line each.
  Mocha.reporters.Base.consoleLog = (...args: unknown[]) => {
    for (const line of util.format(...args).split('\n')) console.log(REPORT_MARKER + line);
  };
  const mocha = new Mocha({
    ui: 'bdd',
    reporter: 'spec',
    color: false,
    // A single test may wait for the language server's first analysis of a crate.
    timeout: 60_000,
    slow: 5_000,
  });
  // LOCKLENS_TEST_GREP narrows a run to matching test titles, like mocha's --grep.
  if (process.env.LOCKLENS_TEST_GREP) mocha.grep(process.env.LOCKLENS_TEST_GREP);

  const here = __dirname;
  const files = fs
    .readdirSync(here)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  if (files.length === 0) return Promise.reject(new Error(`no *.test.js files next to ${here}`));
  for (const f of files) mocha.addFile(path.join(here, f));

  const results: Results = { passes: 0, failures: [], pending: [] };
  const resultsFile = process.env.LOCKLENS_TEST_RESULTS;
  const save = () => {
    if (resultsFile) fs.writeFileSync(resultsFile, JSON.stringify(results, null, 2));
  };

  return new Promise<void>((resolve, reject) => {
    const runner = mocha.run((failures) => {
      save();
      if (failures > 0) reject(new Error(`${failures} extension test(s) failed`));
      else resolve();
    });
    runner.on('pass', () => results.passes++);
    runner.on('pending', (test) => results.pending.push(test.fullTitle()));
    runner.on('fail', (test, err: Error) => {
      results.failures.push({ title: test.fullTitle(), error: (err && (err.stack || err.message)) || String(err) });
    });
  });
}
