// The poison-unwrap quick fix rewrites the code and the diagnostic goes away.
import * as assert from 'assert';
import * as vscode from 'vscode';
import { activate, closeAllEditors, describeDiagnostics, hasRule, lineOf, open, ruleOf, waitForDiagnostics } from './helpers';

describe('quick fixes', () => {
  before(activate);
  after(closeAllEditors);

  it('poison-unwrap: applying the fix removes the diagnostic', async () => {
    const { document: doc } = await open('midas/src/counters.rs');
    const line = lineOf(doc, 'self.events.lock().unwrap()');
    const diags = await waitForDiagnostics(doc.uri, hasRule('poison-unwrap', line), `poison-unwrap on line ${line + 1}`);
    const target = diags.find((d) => ruleOf(d) === 'poison-unwrap' && d.range.start.line === line)!;

    const actions =
      (await vscode.commands.executeCommand<Array<vscode.CodeAction | vscode.Command>>(
        'vscode.executeCodeActionProvider',
        doc.uri,
        target.range,
        vscode.CodeActionKind.QuickFix.value,
      )) ?? [];
    const fixes = actions.filter(
      (a): a is vscode.CodeAction =>
        'kind' in a && !!a.diagnostics?.some((d) => ruleOf(d) === 'poison-unwrap' && d.range.isEqual(target.range)),
    );
    assert.ok(
      fixes.length > 0,
      `no quick fix for the poison-unwrap diagnostic; actions offered: ${actions.map((a) => a.title).join(' | ') || '(none)'}`,
    );
    const fix = fixes.find((a) => a.isPreferred) ?? fixes[0];
    assert.ok(fix.edit || fix.command, `quick fix "${fix.title}" has neither an edit nor a command`);

    const gone = waitForDiagnostics(
      doc.uri,
      (d) => !hasRule('poison-unwrap', line)(d),
      `the poison-unwrap diagnostic on line ${line + 1} to disappear after "${fix.title}"`,
    );
    if (fix.edit) assert.ok(await vscode.workspace.applyEdit(fix.edit), `applying "${fix.title}" failed`);
    if (fix.command) await vscode.commands.executeCommand(fix.command.command, ...(fix.command.arguments ?? []));
    const after = await gone;

    const fixedLine = doc.lineAt(line).text;
    assert.ok(!/\.lock\(\)\.unwrap\(\)/.test(fixedLine), `line ${line + 1} still unwraps the lock result: ${fixedLine}`);
    assert.ok(!hasRule('poison-unwrap')(after), `poison-unwrap diagnostics remain:\n${describeDiagnostics(after)}`);
    await doc.save(); // the workspace is a temporary copy; saving avoids a "save changes?" prompt on close
  });
});
