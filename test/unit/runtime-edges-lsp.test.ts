// Runtime-confirmed lock-order inversions (`locklens/runtimeEdges`) through the language server,
// in-process over real JSON-RPC streams (scripted engine): they follow the user's severity for
// `lock-order-inversion` like static findings do: the crate's `[package.metadata.locklens]`
// severities, the `locklens.severity` setting over them, `off` removing them, and a configuration
// change republishing them.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Diagnostic, PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { RuntimeEdgesNotification, type RuntimeEdge, type RuntimeEdgesParams } from '../../common/protocol';
import { fakeHost } from '../support/lsp-fake-host';
import { LspHarness, uriOf } from '../support/lsp-harness';

const LIB = 'impl Odb {\n    fn a(&self) {\n        let g = self.odb.lock();\n        let h = self.sysmsg.lock();\n    }\n    fn b(&self) {\n        let h = self.sysmsg.lock();\n        let g = self.odb.lock();\n    }\n}\n';

const runtime = (p: PublishDiagnosticsParams | undefined): Diagnostic[] => (p?.diagnostics ?? []).filter((d) => d.source === 'locklens (runtime)');

/** A→B at lines 3→4 and B→A at lines 7→8 of `uri`, runtime-only classes: a runtime-confirmed inversion. */
function abba(uri: string): RuntimeEdge[] {
  const site = (line: number) => ({ file: 'src/lib.rs', line, col: 17, uri });
  const cls = (name: string) => ({ name, kind: 'std.mutex', created: { file: 'src/lib.rs', line: 1, col: 1 } });
  return [
    { from: cls('RT_A'), to: cls('RT_B'), fromSite: site(3), toSite: site(4), thread: 'odbedit #1' },
    { from: cls('RT_B'), to: cls('RT_A'), fromSite: site(7), toSite: site(8), thread: 'cm_watchdog #2' },
  ];
}

describe('language server: runtime lock-order diagnostics follow the severity settings', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-rt-sev-'));
  const settings: Record<string, unknown> = {};
  const lsp = new LspHarness({ host: fakeHost(), configuration: () => settings });
  const crate = (name: string, metadata: string) => {
    const root = path.join(dir, name);
    fs.mkdirSync(path.join(root, 'src'), { recursive: true });
    fs.writeFileSync(path.join(root, 'Cargo.toml'), `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n${metadata}`);
    const lib = path.join(root, 'src', 'lib.rs');
    fs.writeFileSync(lib, LIB);
    return uriOf(lib);
  };
  const plain = crate('plain', '');
  const quiet = crate('quiet', '\n[package.metadata.locklens]\nseverity = { lock-order-inversion = "information" }\n');
  const send = (session: string, uri: string) => lsp.client.sendNotification(RuntimeEdgesNotification.method, { session, label: `run of ${session}`, edges: abba(uri) } satisfies RuntimeEdgesParams);
  const severities = (uri: string, want: number[]) =>
    lsp.waitForDiagnostics(
      uri,
      (p) => JSON.stringify(runtime(p).map((d) => d.severity)) === JSON.stringify(want),
      `runtime diagnostics with severities ${JSON.stringify(want)}`,
    );

  before(async () => {
    await lsp.initialize([dir]);
    await lsp.waitForReady();
  });
  after(async () => {
    await lsp.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('default: a runtime-confirmed inversion is an error at both acquisitions', async () => {
    await send('s1', plain);
    const p = await severities(plain, [1, 1]);
    const ds = runtime(p);
    assert.ok(ds.every((d) => d.code === 'lock-order-inversion' && /Runtime-confirmed lock-order inversion/.test(d.message)));
    assert.deepEqual(ds.map((d) => d.range.start.line).sort(), [3, 7]);
  });

  it("the crate's [package.metadata.locklens] severity applies", async () => {
    await send('s2', quiet);
    await severities(quiet, [3, 3]);
    // the other crate keeps the default
    assert.deepEqual(runtime(lsp.diagnostics.get(plain)).map((d) => d.severity), [1, 1]);
  });

  it('locklens.severity wins over the crate, is applied on a configuration change, and off removes them', async () => {
    settings.severity = { 'lock-order-inversion': 'warning' };
    await lsp.client.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    await severities(plain, [2, 2]);
    await severities(quiet, [2, 2]);
    settings.severity = { 'lock-order-inversion': 'off' };
    await lsp.client.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    await severities(plain, []);
    await severities(quiet, []);
    delete settings.severity;
    await lsp.client.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    await severities(plain, [1, 1]);
    await severities(quiet, [3, 3]);
  });
});
