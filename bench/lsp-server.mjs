// The LockLens language server over stdio, like `node bin/locklens.js lsp --stdio`, but with
// a configurable debounce (for bench/lsp.mjs to measure analysis time without the delay).
//
//   node bench/lsp-server.mjs --debounce MS
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const i = process.argv.indexOf('--debounce');
const debounceMs = i >= 0 ? Number(process.argv[i + 1]) : undefined;
const { startStdio } = require(path.join(REPO, 'out', 'server', 'src', 'lsp', 'main.js'));
startStdio(debounceMs === undefined ? {} : { debounceMs });
