/**
 * Guard regions of generated functions vs. rustc's MIR.
 *
 * The fixture corpus (regions-mir.test.ts) holds the cases someone thought of; here
 * test/support/rustgen.ts nests the same constructs in random combinations (a guard bound in an
 * if-let arm of a loop inside a block tail, ...), and every guard of every function must agree
 * with rustc exactly as in the corpus test. Seeds are fixed, so a failure replays:
 *
 *   LOCKLENS_FUZZ_FROM=<first seed> LOCKLENS_FUZZ_SEEDS=<how many> node --test out/test/unit/regions-fuzz.test.js
 *
 * prints each failing function with its seed; `node scripts/fuzz-regions.mjs <seed>` writes
 * that file out. Skips when rustc is not installed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Edition, mirGuards } from '../support/mir';
import { checkFunction, groupByFunction, pooled, runCli, settle, SKIP_RUSTC } from '../support/mir-compare';
import { generateFile } from '../support/rustgen';

const FROM = Number(process.env.LOCKLENS_FUZZ_FROM ?? 1);
const SEEDS = Number(process.env.LOCKLENS_FUZZ_SEEDS ?? 24);
const EDITIONS: Edition[] = ['2021', '2024'];

describe('guard regions of generated functions vs rustc MIR', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-fuzz-'));
  const files = Array.from({ length: SEEDS }, (_, i) => {
    const seed = FROM + i;
    const file = path.join(dir, `gen${seed}.rs`);
    const generated = generateFile(seed);
    fs.writeFileSync(file, generated.text);
    return { seed, file, text: generated.text, count: generated.functions.length };
  });
  const jobs = new Map(
    files.flatMap((f) =>
      EDITIONS.map((e) => [`${f.seed}#${e}`, SKIP_RUSTC ? undefined : { mir: settle(pooled(() => mirGuards(f.file, e))), cli: settle(pooled(() => runCli(f.file, e))) }] as const),
    ),
  );

  for (const f of files) {
    for (const edition of EDITIONS) {
      test(`seed ${f.seed} --edition ${edition}`, { skip: SKIP_RUSTC }, async (t) => {
        const j = jobs.get(`${f.seed}#${edition}`)!;
        const [mir, cli] = await Promise.all([j.mir, j.cli]);
        if (!mir.ok) assert.fail(`generated file does not compile under ${edition} (a generator bug):\n${mir.error}`);
        if (!cli.ok) assert.fail(`CLI failed:\n${cli.error}`);
        assert.ok(mir.value.length > 0, 'the generated functions take locks');
        const lines = f.text.split('\n');
        for (const g of groupByFunction(f.text, mir.value, cli.value)) {
          await t.test(`${g.fn.name} [${edition}]`, () => checkFunction(g, lines, edition, path.basename(f.file)));
        }
      });
    }
  }

  test('the generated files are removed', { skip: SKIP_RUSTC }, async () => {
    await Promise.all([...jobs.values()].flatMap((j) => (j ? [j.mir, j.cli] : [])));
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(fs.existsSync(dir), false);
  });
});
