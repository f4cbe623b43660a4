// `LockLens: Show Lock Graph`: a webview with the lock-order graph of the current crate
// (or the whole workspace). Strict CSP with a fresh nonce; the webview can only ask to open
// one of the sites it was given.

import { randomBytes } from 'crypto';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { LockGraphRequest, LockGraphSite } from '../../common/protocol';
import { renderLockGraphHtml } from '../../common/presentation/graphHtml';

export interface ShowGraphArgs {
  uri?: string;
  function?: string;
}

export class LockGraphPanel implements vscode.Disposable {
  static readonly viewType = 'locklens.lockGraph';
  private panel: vscode.WebviewPanel | undefined;
  private sites: LockGraphSite[] = [];
  private lastArgs: ShowGraphArgs = {};
  private lastKey = '';
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly client: () => LanguageClient | undefined) {
    // Keep the graph live: the server republishes diagnostics after every analysis.
    this.subscription = vscode.languages.onDidChangeDiagnostics(() => {
      if (!this.panel?.visible) return;
      if (this.refreshTimer) clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => {
        this.refreshTimer = undefined;
        this.render().catch(() => undefined);
      }, 1000);
    });
  }

  async show(args: ShowGraphArgs = {}): Promise<void> {
    const client = this.client();
    if (!client) {
      void vscode.window.showWarningMessage('LockLens: the language server is not running.');
      return;
    }
    // Scope: the crate of the given document, else of the active Rust editor (captured now:
    // once the panel opens, the webview is the active editor), else the whole workspace.
    const active = vscode.window.activeTextEditor?.document;
    const uri = args.uri ?? (active?.languageId === 'rust' ? client.code2ProtocolConverter.asUri(active.uri) : undefined);
    this.lastArgs = { ...args, ...(uri ? { uri } : {}) };
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel(LockGraphPanel.viewType, 'LockLens: Lock Graph', vscode.ViewColumn.Beside, {
        enableScripts: true,
        enableFindWidget: true,
        localResourceRoots: [],
        retainContextWhenHidden: false,
      });
      this.panel.onDidDispose(() => {
        this.panel = undefined;
        this.lastKey = '';
      });
      this.panel.webview.onDidReceiveMessage((m) => this.onMessage(m));
      this.panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.visible) void this.render();
      });
    } else {
      this.panel.reveal(vscode.ViewColumn.Beside);
    }
    await this.render();
  }

  private async render(): Promise<void> {
    const client = this.client();
    const panel = this.panel;
    if (!client || !panel) return;
    const uri = this.lastArgs.uri;
    const graph = await client.sendRequest(LockGraphRequest.type, uri ? { textDocument: { uri } } : {});
    // Unchanged graph: keep the page (and its scroll position) as it is.
    const key = JSON.stringify([graph, this.lastArgs.function ?? null]);
    if (key === this.lastKey && panel.webview.html) return;
    this.lastKey = key;
    const nonce = randomBytes(18).toString('base64');
    const { html, sites } = renderLockGraphHtml(graph, {
      nonce,
      cspSource: panel.webview.cspSource,
      focusFunction: this.lastArgs.function,
      title: 'Lock graph',
      label: (u) => vscode.workspace.asRelativePath(vscode.Uri.parse(u)),
    });
    this.sites = sites;
    panel.webview.html = html;
  }

  private async onMessage(message: unknown): Promise<void> {
    if (typeof message !== 'object' || message === null) return;
    const m = message as { command?: unknown; index?: unknown };
    if (m.command !== 'open' || typeof m.index !== 'number' || !Number.isInteger(m.index)) return;
    const site = this.sites[m.index];
    if (!site) return;
    const range = new vscode.Range(site.range.start.line, site.range.start.character, site.range.end.line, site.range.end.character);
    await vscode.window.showTextDocument(vscode.Uri.parse(site.uri), { selection: range, viewColumn: vscode.ViewColumn.One });
  }

  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.subscription.dispose();
    this.panel?.dispose();
  }
}
