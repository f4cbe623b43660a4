// A check goes on when the engine fails on one file: that file is reported, the others analysed.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Engine } from '../../server/src/analysis';
import { getEngine, LocalShard } from '../../server/src/workspace/check';

test('an engine failure on one file is that file\'s error, not the whole check\'s', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-shard-'));
  try {
    const text = 'use std::sync::Mutex;\nfn f(m: &Mutex<u8>) { let _ = m.lock(); }\n';
    for (const name of ['bad.rs', 'good.rs']) fs.writeFileSync(path.join(dir, name), text);
    const engine = await getEngine();
    const failing = Object.create(engine) as Engine;
    failing.analyzeFile = ((source: never, file: string, index: never, options: never) => {
      if (file === 'bad.rs') throw new Error('boom');
      return engine.analyzeFile(source, file, index, options);
    }) as Engine['analyzeFile'];
    const shard = new LocalShard(failing);
    const jobs = ['bad.rs', 'good.rs'].map((rel) => ({ abs: path.join(dir, rel), rel, crateIdx: 0 }));
    const declared = await shard.declare(jobs, {});
    const { buildCrateIndex } = await import('../../server/src/analysis');
    const index = buildCrateIndex('2021', declared.map((d) => d.declarations!));
    const analysed = await shard.analyze([{ crateIdx: 0, index, options: { edition: '2021' } }]);
    const bad = analysed.find((a) => a.analysis.file === 'bad.rs')!;
    const good = analysed.find((a) => a.analysis.file === 'good.rs')!;
    assert.equal(bad.error, 'boom');
    assert.deepEqual(bad.analysis.findings, []);
    assert.equal(good.error, undefined);
    assert.ok(good.analysis.findings.some((f) => f.rule === 'let-underscore-lock'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
