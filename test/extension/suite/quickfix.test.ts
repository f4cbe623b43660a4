// Quick fixes for a finding: the engine's fix rewrites the code, the allow comment silences the
// rule on that line, and either way the diagnostic goes away.
import * as assert from 'assert';
import * as vscode from 'vscode';
import { activate, closeAllEditors, describeDiagnostics, hasRule, lineOf, open, ruleOf, waitForDiagnostics } from './helpers';

/**
 * The quick fixes offered for `diagnostic`.  `vscode.executeCodeActionProvider` returns
 * CodeActions without their `diagnostics` (the API command does not copy them), so the fixes
 * are the QuickFix actions for the diagnostic's range.
 */
async function quickFixes(uri: vscode.Uri, diagnostic: vscode.Diagnostic): Promise<vscode.CodeAction[]> {
  const actions =
    (await vscode.commands.executeCommand<Array<vscode.CodeAction | vscode.Command>>(
      'vscode.executeCodeActionProvider',
      uri,
      diagnostic.range,
      vscode.CodeActionKind.QuickFix.value,
    )) ?? [];
  return actions.filter((a): a is vscode.CodeAction => 'kind' in a && !!a.kind && vscode.CodeActionKind.QuickFix.contains(a.kind));
}

async function apply(fix: vscode.CodeAction): Promise<void> {
  assert.ok(fix.edit || fix.command, `quick fix "${fix.title}" has neither an edit nor a command`);
  if (fix.edit) assert.ok(await vscode.workspace.applyEdit(fix.edit), `applying "${fix.title}" failed`);
  if (fix.command) await vscode.commands.executeCommand(fix.command.command, ...(fix.command.arguments ?? []));
}

async function poisonUnwrapOn(doc: vscode.TextDocument, line: number): Promise<vscode.Diagnostic> {
  const diags = await waitForDiagnostics(doc.uri, hasRule('poison-unwrap', line), `poison-unwrap on line ${line + 1}`);
  return diags.find((d) => ruleOf(d) === 'poison-unwrap' && d.range.start.line === line)!;
}

describe('quick fixes', () => {
  before(activate);
  after(closeAllEditors);

  it('poison-unwrap: the preferred fix rewrites the unwrap and the diagnostic goes away', async () => {
    const { document: doc } = await open('midas/src/counters.rs');
    const line = lineOf(doc, 'let mut events = self.events.lock().unwrap()');
    const target = await poisonUnwrapOn(doc, line);

    const fixes = (await quickFixes(doc.uri, target)).filter((a) => !a.title.startsWith('Allow '));
    assert.ok(fixes.length > 0, 'no quick fix (other than the allow comment) for the poison-unwrap diagnostic');
    const fix = fixes.find((a) => a.isPreferred) ?? fixes[0];

    const gone = waitForDiagnostics(
      doc.uri,
      (d) => !hasRule('poison-unwrap', line)(d),
      `the poison-unwrap diagnostic on line ${line + 1} to disappear after "${fix.title}"`,
    );
    await apply(fix);
    const after = await gone;

    const fixedLine = doc.lineAt(line).text;
    assert.ok(!/\.lock\(\)\.unwrap\(\)/.test(fixedLine), `line ${line + 1} still unwraps the lock result: ${fixedLine}`);
    assert.match(fixedLine, /into_inner/, `"${fix.title}" should recover the guard from the PoisonError: ${fixedLine}`);
    assert.ok(!hasRule('poison-unwrap', line)(after), `poison-unwrap remains on line ${line + 1}:\n${describeDiagnostics(after)}`);
    await doc.save(); // the workspace is a temporary copy; saving avoids a "save changes?" prompt on close
  });

  it('the "Allow <rule> here" fix adds a suppression comment and the diagnostic goes away', async () => {
    const { document: doc } = await open('midas/src/counters.rs');
    const needle = '*self.events.lock().unwrap() = 0';
    const target = await poisonUnwrapOn(doc, lineOf(doc, needle));

    const allow = (await quickFixes(doc.uri, target)).find((a) => a.title.startsWith('Allow poison-unwrap'));
    assert.ok(allow, 'no "Allow poison-unwrap here" quick fix');
    // The comment may be inserted above the line, which moves it: find it again afterwards.
    const gone = waitForDiagnostics(
      doc.uri,
      (d) => doc.getText().includes('locklens: allow(poison-unwrap)') && !hasRule('poison-unwrap', lineOf(doc, needle))(d),
      'the suppressed poison-unwrap diagnostic to disappear',
    );
    await apply(allow);
    await gone;
    await doc.save();
  });
});
