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
cli.runAsProcess(process.argv.slice(2));
