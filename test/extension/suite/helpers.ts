// Helpers for the extension tests.  Every wait here is for a VS Code event (diagnostics
// changed, tabs changed) with a deadline, never a fixed sleep.
import * as assert from 'assert';
import * as path from 'path';
import * as vscode from 'vscode';
import { RULE_IDS as CATALOGUE_RULE_IDS } from '../../../common/rules';

export const EXTENSION_ID = 'locklens.locklens';

/** Rule ids the engine reports: the editors' rule catalogue, plus the note on files that do not parse. */
export const RULE_IDS = [...CATALOGUE_RULE_IDS, 'parse-error'] as const;

/** Commands the extension contributes; `locklens.test.decoratedRanges` is for tests only. */
export const COMMANDS = [
  'locklens.showLockGraph',
  'locklens.generateReport',
  'locklens.toggleGuardRegions',
  'locklens.restartServer',
] as const;

export function extension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not loaded in the extension development host`);
  return ext;
}

export async function activate(): Promise<vscode.Extension<unknown>> {
  const ext = extension();
  await ext.activate();
  return ext;
}

export function workspaceRoot(): vscode.Uri {
  const folders = vscode.workspace.workspaceFolders;
  assert.ok(folders && folders.length === 1, 'the test workspace (one folder) is not open');
  return folders[0].uri;
}

/** A file of the fixture workspace, e.g. `fly-router/src/lib.rs`. */
export function fixture(rel: string): vscode.Uri {
  return vscode.Uri.joinPath(workspaceRoot(), ...rel.split('/'));
}

export async function open(rel: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(fixture(rel));
  assert.strictEqual(doc.languageId, 'rust', `${rel} did not open as Rust`);
  return vscode.window.showTextDocument(doc, { preview: false });
}

/** Position of the first occurrence of `needle` in the document (after `after`, if given). */
export function positionOf(doc: vscode.TextDocument, needle: string, after?: string): vscode.Position {
  const text = doc.getText();
  const from = after === undefined ? 0 : text.indexOf(after);
  assert.ok(from >= 0, `"${after}" not found in ${path.basename(doc.uri.path)}`);
  const at = text.indexOf(needle, from);
  assert.ok(at >= 0, `"${needle}" not found in ${path.basename(doc.uri.path)}`);
  return doc.positionAt(at);
}

export function lineOf(doc: vscode.TextDocument, needle: string, after?: string): number {
  return positionOf(doc, needle, after).line;
}

/** A diagnostic's rule id: `code` may be a string, a number or `{ value, target }`. */
export function ruleOf(d: vscode.Diagnostic): string | undefined {
  const code = d.code;
  if (code === undefined) return undefined;
  if (typeof code === 'object') return String(code.value);
  return String(code);
}

export function locklensDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'locklens');
}

export function describeDiagnostics(diags: readonly vscode.Diagnostic[]): string {
  if (diags.length === 0) return '(none)';
  return diags
    .map((d) => `  ${d.range.start.line + 1}:${d.range.start.character + 1} [${d.source}/${ruleOf(d)}] ${d.message}`)
    .join('\n');
}

/**
 * Resolves with the LockLens diagnostics of `uri` as soon as `ready(diags)` holds: checked now,
 * then on every `onDidChangeDiagnostics` event for that file.  Fails after `timeoutMs` with the
 * diagnostics it saw last.
 */
export function waitForDiagnostics(
  uri: vscode.Uri,
  ready: (diags: vscode.Diagnostic[]) => boolean,
  what: string,
  timeoutMs = 45_000,
): Promise<vscode.Diagnostic[]> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const diags = locklensDiagnostics(uri);
      if (!ready(diags)) return false;
      cleanup();
      resolve(diags);
      return true;
    };
    const sub = vscode.languages.onDidChangeDiagnostics((e) => {
      if (e.uris.some((u) => u.toString() === uri.toString())) check();
    });
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(
          `timed out after ${timeoutMs / 1000} s waiting for ${what} in ${vscode.workspace.asRelativePath(uri)}; ` +
            `LockLens diagnostics there now:\n${describeDiagnostics(locklensDiagnostics(uri))}`,
        ),
      );
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      sub.dispose();
    };
    check();
  });
}

export const hasRule = (rule: string, line?: number) => (diags: vscode.Diagnostic[]) =>
  diags.some((d) => ruleOf(d) === rule && (line === undefined || d.range.start.line === line));

/** Waits for the next event of `event` that satisfies `predicate` (no fixed sleeps). */
export function nextEvent<T>(
  event: vscode.Event<T>,
  predicate: (e: T) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const sub = event((e) => {
      if (!predicate(e)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(e);
    });
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`));
    }, timeoutMs);
  });
}

/** Text of every hover VS Code's hover providers return at `pos`, joined. */
export async function hoverText(uri: vscode.Uri, pos: vscode.Position): Promise<string> {
  const hovers = (await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, pos)) ?? [];
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))
    .join('\n');
}

export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
