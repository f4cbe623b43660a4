// `LockLens: Generate Report`: a Markdown report of every LockLens finding in the workspace
// and the lock-order cycles, written to the extension's storage and opened in an editor.

import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { LockGraphRequest, LockGraphResult } from '../../common/protocol';
import { renderReport, ReportFinding, ReportSeverity } from '../../common/presentation/report';

const SEVERITY: Record<number, ReportSeverity> = {
  [vscode.DiagnosticSeverity.Error]: 'error',
  [vscode.DiagnosticSeverity.Warning]: 'warning',
  [vscode.DiagnosticSeverity.Information]: 'information',
  [vscode.DiagnosticSeverity.Hint]: 'hint',
};

export function collectFindings(): ReportFinding[] {
  const out: ReportFinding[] = [];
  for (const [uri, diagnostics] of vscode.languages.getDiagnostics()) {
    for (const d of diagnostics) {
      if (d.source !== 'locklens') continue;
      const code = typeof d.code === 'object' ? d.code.value : d.code;
      const docs = typeof d.code === 'object' ? d.code.target.toString() : undefined;
      out.push({
        file: vscode.workspace.asRelativePath(uri),
        line: d.range.start.line,
        character: d.range.start.character,
        rule: String(code ?? 'unknown'),
        severity: SEVERITY[d.severity] ?? 'warning',
        message: d.message,
        ...(docs ? { docs } : {}),
      });
    }
  }
  return out;
}

export async function generateReport(context: vscode.ExtensionContext, client: LanguageClient | undefined): Promise<vscode.Uri> {
  let graph: LockGraphResult | undefined;
  if (client?.isRunning()) {
    try {
      graph = await client.sendRequest(LockGraphRequest.type, {});
    } catch {
      graph = undefined;
    }
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.name ?? 'workspace';
  const markdown = renderReport({
    title: `LockLens report — ${folder}`,
    generatedAt: new Date().toISOString(),
    findings: collectFindings(),
    graph,
    label: (u) => vscode.workspace.asRelativePath(vscode.Uri.parse(u)),
  });
  const dir = context.storageUri ?? context.globalStorageUri;
  await vscode.workspace.fs.createDirectory(dir);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = vscode.Uri.joinPath(dir, `locklens-report-${stamp}.md`);
  await vscode.workspace.fs.writeFile(file, Buffer.from(markdown, 'utf8'));
  const doc = await vscode.workspace.openTextDocument(file);
  await vscode.window.showTextDocument(doc, { preview: false });
  return file;
}
