// LockLens VS Code extension: starts the language server over IPC and adds what LSP has no
// words for: guard-region decorations, the lock graph webview, the report, the status bar.

import * as fs from 'fs';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { StatusNotification, StatusParams } from '../../common/protocol';
import { statusView } from '../../common/presentation/status';
import { RestartPolicy } from '../../common/restartPolicy';
import { GuardRegionDecorations } from './decorations';
import { LockGraphPanel, ShowGraphArgs } from './lockGraphPanel';
import { generateReport } from './report';
import { RuntimeController } from './runtime/controller';

const VISIBLE_KEY = 'locklens.guardRegions.visible';

let client: LanguageClient | undefined;

/** `dist/server.js` when the extension is bundled, else the compiled sources. */
export function serverModule(context: vscode.ExtensionContext): string {
  const bundled = context.asAbsolutePath('dist/server.js');
  return fs.existsSync(bundled) ? bundled : context.asAbsolutePath('out/server/src/lsp/main.js');
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('LockLens');
  context.subscriptions.push(output);
  const log = (message: string) => output.appendLine(`[${new Date().toISOString()}] ${message}`);

  const status = vscode.window.createStatusBarItem('locklens.status', vscode.StatusBarAlignment.Left, 10);
  status.name = 'LockLens';
  status.command = 'workbench.actions.view.problems';
  context.subscriptions.push(status);
  let lastStatus: StatusParams | undefined;

  const decorations = new GuardRegionDecorations(() => client, context.workspaceState.get<boolean>(VISIBLE_KEY, true), log);
  context.subscriptions.push(decorations);
  const graphPanel = new LockGraphPanel(() => client);
  context.subscriptions.push(graphPanel);
  const runtime = new RuntimeController(context, () => client, log);
  context.subscriptions.push(runtime);

  const renderStatus = () => {
    const view = statusView(lastStatus, decorations.shown);
    status.text = view.text;
    status.tooltip = view.tooltip;
    status.backgroundColor = view.emphasis ? new vscode.ThemeColor(`statusBarItem.${view.emphasis}Background`) : undefined;
    status.show();
  };
  renderStatus();

  const module = serverModule(context);
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const restarts = new RestartPolicy(4, 3 * 60 * 1000);
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'rust' },
      { scheme: 'untitled', language: 'rust' },
    ],
    outputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    initializationOptions: {},
    errorHandler: {
      error: (error, _message, count) => {
        log(`connection error: ${error.message}`);
        return { action: count !== undefined && count > 5 ? ErrorAction.Shutdown : ErrorAction.Continue };
      },
      closed: () => {
        if (restarts.crashed()) {
          log('the language server stopped unexpectedly; restarting it');
          return { action: CloseAction.Restart };
        }
        lastStatus = { state: 'error', filesDone: 0, filesTotal: 0, findings: 0, message: 'the language server crashed repeatedly' };
        renderStatus();
        return {
          action: CloseAction.DoNotRestart,
          message: 'The LockLens language server crashed 5 times in 3 minutes and will not be restarted. See the LockLens output, then run "LockLens: Restart Language Server".',
        };
      },
    },
  };

  const createClient = () => {
    const c = new LanguageClient('locklens', 'LockLens', serverOptions, clientOptions);
    context.subscriptions.push(
      c.onNotification(StatusNotification.type, (params) => {
        lastStatus = params;
        renderStatus();
      }),
      c.onDidChangeState((e) => {
        if (e.newState === State.Running) {
          decorations.reset();
          decorations.refreshVisible();
        }
      }),
    );
    return c;
  };

  client = createClient();
  context.subscriptions.push({ dispose: () => void client?.stop() });

  context.subscriptions.push(
    vscode.commands.registerCommand('locklens.showLockGraph', (args?: ShowGraphArgs) => graphPanel.show(args && typeof args === 'object' ? args : {})),
    vscode.commands.registerCommand('locklens.generateReport', async () => {
      try {
        return await generateReport(context, client);
      } catch (err) {
        void vscode.window.showErrorMessage(`LockLens: could not write the report: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      }
    }),
    vscode.commands.registerCommand('locklens.toggleGuardRegions', async () => {
      decorations.setVisible(!decorations.shown);
      await context.workspaceState.update(VISIBLE_KEY, decorations.shown);
      renderStatus();
      return decorations.shown;
    }),
    vscode.commands.registerCommand('locklens.restartServer', async () => {
      restarts.reset();
      lastStatus = undefined;
      renderStatus();
      if (client && client.state !== State.Stopped) {
        await client.restart();
      } else {
        client = createClient();
        await client.start();
      }
    }),
    vscode.commands.registerCommand('locklens.showLockPanel', () => runtime.showPanel()),
    vscode.commands.registerCommand('locklens.openTrace', (file?: unknown) => runtime.openTrace(typeof file === 'string' ? file : file instanceof vscode.Uri ? file.fsPath : undefined)),
    vscode.commands.registerCommand('locklens.saveTrace', (file?: unknown) => runtime.saveTrace(typeof file === 'string' ? file : file instanceof vscode.Uri ? file.fsPath : undefined)),
    vscode.commands.registerCommand('locklens.runWithTracing', (args?: unknown) => runtime.runWithTracing(args && typeof args === 'object' ? (args as object) : {})),
    // Test-only: the Lock Panel's model (optionally once it shows a deadlock or some locks).
    vscode.commands.registerCommand('locklens.test.lockPanelState', (opts?: unknown) => runtime.state(opts && typeof opts === 'object' ? (opts as object) : {})),
    // Test-only (not in contributes.commands): the ranges currently decorated in a document.
    vscode.commands.registerCommand('locklens.test.decoratedRanges', async (uri?: vscode.Uri | string) => {
      const target = typeof uri === 'string' ? vscode.Uri.parse(uri) : uri ?? vscode.window.activeTextEditor?.document.uri;
      if (!target) return { tint: {}, gutter: {}, active: {} };
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target.toString());
      if (doc) await decorations.fetch(doc);
      return decorations.decorated(target);
    }),
  );

  try {
    await client.start();
    log(`language server started (${module})`);
  } catch (err) {
    log(`could not start the language server: ${err instanceof Error ? err.message : String(err)}`);
    lastStatus = { state: 'error', filesDone: 0, filesTotal: 0, findings: 0, message: 'the language server could not start' };
    renderStatus();
  }
}

export async function deactivate(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) await c.stop();
}
