#!/usr/bin/env node
// Checks that the extension-test harness cannot pass a failing run: runs runner.mjs on test
// modules that fail (see selftest/) and expects a non-zero exit and the right counts.
//   node test/extension/selftest.mjs
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const cases = [
  { module: 'selftest/rejects.js', expectExit: (c) => c === 1, expectOut: /failed to load or run\(\) threw/ },
  { module: 'selftest/one-failing-test.js', expectExit: (c) => c === 1, expectOut: /^1 passed, 1 failed, 0 skipped$/m },
];
let failed = 0;
for (const c of cases) {
  const r = spawnSync(process.execPath, [path.join(here, 'runner.mjs'), '--tests', path.join(here, c.module), '--timeout', '120'], {
    encoding: 'utf8',
  });
  const out = `${r.stdout}${r.stderr}`;
  // A failed run keeps its run folder for inspection; these failures are expected.
  const kept = /kept (\S+)/.exec(out)?.[1];
  if (kept) fs.rmSync(path.resolve(here, '..', '..', kept), { recursive: true, force: true });
  const ok = c.expectExit(r.status) && c.expectOut.test(out);
  if (!ok) failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${c.module}: runner exit ${r.status}`);
  if (!ok) console.log(out.split('\n').map((l) => `    ${l}`).join('\n'));
}
console.log(`${cases.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
