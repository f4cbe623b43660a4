#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled TypeScript under out/ (run `npm run build` first).
const path = require('path');
const main = path.join(__dirname, '..', 'out', 'server', 'src', 'cli', 'main.js');
let cli;
try {
  cli = require(main);
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(main)) {
    process.stderr.write('locklens: not built yet; run `npm run build` in ' + path.join(__dirname, '..') + '\n');
    process.exit(2);
  }
  throw err;
}
cli.dropOutputOnClosedPipe();
const argv = process.argv.slice(2);
// Commands that analyse and print: once their output is flushed there is nothing left to wait
// for, so the process ends without waiting for V8's background work to wind down (~10 ms).
const ONE_SHOT = new Set(['check', 'regions', 'report', 'graph']);
cli.main(argv).then((code) => {
  if (!ONE_SHOT.has(argv[0])) {
    process.exitCode = code;
    return;
  }
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
