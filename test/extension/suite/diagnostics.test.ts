// Diagnostics appear when a file is opened, each with source `locklens` and the rule id as code.
import * as assert from 'assert';
import * as vscode from 'vscode';
import {
  RULE_IDS,
  activate,
  closeAllEditors,
  describeDiagnostics,
  hasRule,
  lineOf,
  open,
  ruleOf,
  waitForDiagnostics,
} from './helpers';

describe('diagnostics on open', () => {
  before(activate);
  after(closeAllEditors);

  it('Fly.io if-let: scrutinee-guard on the if-let and a double-lock for the write in the else arm', async () => {
    const { document: doc } = await open('fly-router/src/lib.rs');
    const ifLet = lineOf(doc, 'if let Some(Load::Local(load))');
    const write = lineOf(doc, 'self.load.write()', 'if let Some(Load::Local(load))');
    const diags = await waitForDiagnostics(
      doc.uri,
      (d) => hasRule('scrutinee-guard', ifLet)(d) && hasRule('double-lock')(d),
      `scrutinee-guard on line ${ifLet + 1} and a double-lock`,
    );
    const double = diags.filter((d) => ruleOf(d) === 'double-lock');
    assert.ok(
      double.some((d) => d.range.start.line === write || d.range.start.line === ifLet),
      `double-lock should point at the write (line ${write + 1}) or the if-let (line ${ifLet + 1}):\n${describeDiagnostics(double)}`,
    );
  });

  it('demo crate catalog.rs (Fly.io through a call): scrutinee-guard and double-lock', async () => {
    const { document: doc } = await open('demo-crate/src/catalog.rs');
    const ifLet = lineOf(doc, 'if let Some(Load::Local(load))');
    await waitForDiagnostics(
      doc.uri,
      (d) => hasRule('scrutinee-guard', ifLet)(d) && hasRule('double-lock')(d),
      `scrutinee-guard on line ${ifLet + 1} and a double-lock`,
    );
  });

  it('MIDAS: lock-order-inversion between the ODB and SYSMSG locks', async () => {
    const { document: doc } = await open('midas/src/lib.rs');
    const diags = await waitForDiagnostics(doc.uri, hasRule('lock-order-inversion'), 'a lock-order-inversion');
    const inversion = diags.filter((d) => ruleOf(d) === 'lock-order-inversion');
    const text = inversion
      .flatMap((d) => [d.message, ...(d.relatedInformation ?? []).map((r) => r.message)])
      .join('\n');
    assert.match(text, /odb/i, `the inversion should name the ODB lock:\n${text}`);
    assert.match(text, /sysmsg/i, `the inversion should name the SYSMSG lock:\n${text}`);
    assert.ok(
      inversion.some((d) => (d.relatedInformation ?? []).length > 0),
      'a lock-order inversion should link to the other acquisition order (relatedInformation)',
    );
  });

  it('demo crate midas.rs: lock-hierarchy against the order declared in Cargo.toml', async () => {
    const { document: doc } = await open('demo-crate/src/midas.rs');
    await waitForDiagnostics(doc.uri, hasRule('lock-hierarchy'), 'a lock-hierarchy finding');
  });

  it('demo crate cache.rs: guard across await, blocking under lock, let-underscore lock', async () => {
    const { document: doc } = await open('demo-crate/src/cache.rs');
    const awaitLine = lineOf(doc, 'let mut entries = self.entries.lock()', 'pub async fn refresh');
    const blocking = lineOf(doc, 'std::fs::write');
    const underscore = lineOf(doc, 'let _ = self.hits.lock()');
    await waitForDiagnostics(
      doc.uri,
      (d) =>
        hasRule('guard-across-await')(d) &&
        d.some((x) => ruleOf(x) === 'guard-across-await' && x.range.start.line >= awaitLine && x.range.start.line <= awaitLine + 1) &&
        hasRule('blocking-under-lock', blocking)(d) &&
        hasRule('let-underscore-lock', underscore)(d),
      `guard-across-await (line ${awaitLine + 1}), blocking-under-lock (line ${blocking + 1}), let-underscore-lock (line ${underscore + 1})`,
    );
  });

  it('demo crate heartbeat.rs: the re-lock in record() is a double-lock', async () => {
    const { document: doc } = await open('demo-crate/src/heartbeat.rs');
    const relock = lineOf(doc, 'self.last_heartbeat.lock().unwrap().clear()');
    await waitForDiagnostics(doc.uri, hasRule('double-lock', relock), `double-lock on line ${relock + 1}`);
  });

  it('every LockLens diagnostic carries source "locklens" and a known rule id as code', async () => {
    const files = ['fly-router/src/lib.rs', 'midas/src/lib.rs', 'demo-crate/src/cache.rs'];
    for (const f of files) {
      const { document: doc } = await open(f);
      await waitForDiagnostics(doc.uri, (d) => d.length > 0, 'any LockLens diagnostic');
    }
    const all = vscode.languages.getDiagnostics().flatMap(([, ds]) => ds.filter((d) => d.source === 'locklens'));
    assert.ok(all.length > 0);
    const unknown = all.filter((d) => !(RULE_IDS as readonly string[]).includes(ruleOf(d) ?? ''));
    assert.deepStrictEqual(unknown.map((d) => `${ruleOf(d)}: ${d.message}`), [], 'diagnostics with an unknown rule id');
  });
});
