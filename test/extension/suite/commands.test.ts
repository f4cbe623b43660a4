// The contributed commands do what their titles say.
import * as assert from 'assert';
import * as vscode from 'vscode';
import { activate, closeAllEditors, hasRule, locklensDiagnostics, nextEvent, open, waitForDiagnostics } from './helpers';

function lockGraphTab(): vscode.Tab | undefined {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .find((t) => t.input instanceof vscode.TabInputWebview && /locklens/i.test(t.input.viewType));
}

/** Counts the ranges in whatever shape `locklens.test.decoratedRanges` returns (array or map of arrays). */
function countRanges(value: unknown): number {
  if (value instanceof vscode.Range) return 1;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countRanges(v), 0);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('start' in o && 'end' in o) return 1; // a serialised range
    return Object.values(o).reduce((n: number, v) => n + countRanges(v), 0);
  }
  return 0;
}

describe('commands', () => {
  before(activate);
  after(closeAllEditors);

  it('locklens.showLockGraph opens the lock graph webview', async () => {
    await open('midas/src/lib.rs');
    const opened = lockGraphTab()
      ? Promise.resolve()
      : nextEvent(vscode.window.tabGroups.onDidChangeTabs, () => !!lockGraphTab(), 'the lock graph webview tab');
    await vscode.commands.executeCommand('locklens.showLockGraph');
    await opened;
    const tab = lockGraphTab()!;
    assert.match(tab.label, /lock/i, `unexpected lock graph tab label: ${tab.label}`);
  });

  it('locklens.toggleGuardRegions hides and shows the guard regions', async () => {
    const { document: doc } = await open('demo-crate/src/heartbeat.rs');
    await waitForDiagnostics(doc.uri, hasRule('double-lock'), 'the first analysis (double-lock)');
    const shown = countRanges(await vscode.commands.executeCommand('locklens.test.decoratedRanges', doc.uri));
    assert.ok(shown > 0, 'no guard regions are decorated in heartbeat.rs');
    await vscode.commands.executeCommand('locklens.toggleGuardRegions');
    const hidden = countRanges(await vscode.commands.executeCommand('locklens.test.decoratedRanges', doc.uri));
    assert.strictEqual(hidden, 0, 'guard regions are still decorated after toggling them off');
    await vscode.commands.executeCommand('locklens.toggleGuardRegions');
    const again = countRanges(await vscode.commands.executeCommand('locklens.test.decoratedRanges', doc.uri));
    assert.strictEqual(again, shown, 'toggling twice should restore the same guard regions');
  });

  it('locklens.restartServer restarts the language server and diagnostics come back', async () => {
    const { document: doc } = await open('midas/src/lib.rs');
    await waitForDiagnostics(doc.uri, hasRule('lock-order-inversion'), 'the first analysis (lock-order-inversion)');
    // A restart clears the server's diagnostics, then the new server publishes them again.
    let cleared = false;
    const back = nextEvent(
      vscode.languages.onDidChangeDiagnostics,
      (e) => {
        if (!e.uris.some((u) => u.toString() === doc.uri.toString())) return false;
        const diags = locklensDiagnostics(doc.uri);
        if (diags.length === 0) cleared = true;
        return cleared && hasRule('lock-order-inversion')(diags);
      },
      'diagnostics to be cleared and published again after the restart',
      60_000,
    );
    await vscode.commands.executeCommand('locklens.restartServer');
    await back;
  });

  it('locklens.generateReport writes a Markdown report of the findings and opens it', async () => {
    const { document: midas } = await open('midas/src/lib.rs');
    await waitForDiagnostics(midas.uri, hasRule('lock-order-inversion'), 'the first analysis (lock-order-inversion)');
    const uri = await vscode.commands.executeCommand<vscode.Uri>('locklens.generateReport');
    assert.ok(uri instanceof vscode.Uri, `generateReport returned ${String(uri)}, not the report's URI`);
    assert.match(uri.path, /\.md$/);
    const editor = vscode.window.activeTextEditor;
    assert.strictEqual(editor?.document.uri.toString(), uri.toString(), 'the report is not the active editor');
    const text = editor!.document.getText();
    assert.match(text, /lock-order-inversion/, 'the report does not list the MIDAS lock-order inversion');
    assert.match(text, /Odb\.odb/, 'the report does not name the MIDAS locks');
  });
});
