// The server as a real child process: over stdio (`startStdio`, used by `locklens lsp --stdio`)
// and over Node IPC (the VS Code client runs out/server/src/lsp/main.js with --node-ipc).

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ChildProcess, fork, spawn } from 'node:child_process';
import * as path from 'node:path';
import {
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  MessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import type { InitializeResult, PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { fixturePath, uriOf } from '../support/lsp-harness';

const MAIN = path.resolve(__dirname, '..', '..', 'server', 'src', 'lsp', 'main.js');
const WS = fixturePath('test', 'fixtures', 'lsp', 'ws', 'ledger');

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function session(connection: MessageConnection, child: ChildProcess): Promise<void> {
  const diagnostics = new Promise<PublishDiagnosticsParams>((resolve) => {
    connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      if (p.uri === 'untitled:process.rs') resolve(p);
    });
  });
  connection.onRequest('window/workDoneProgress/create', () => null);
  connection.onRequest('client/registerCapability', () => null);
  connection.listen();
  const init = await connection.sendRequest<InitializeResult>('initialize', {
    processId: process.pid,
    rootUri: uriOf(WS),
    workspaceFolders: [{ uri: uriOf(WS), name: 'ledger' }],
    capabilities: {},
  });
  assert.equal(init.serverInfo?.name, 'locklens');
  await connection.sendNotification('initialized', {});
  // A loose document: the real engine analyses it (the let _ = lock is reported).
  await connection.sendNotification('textDocument/didOpen', {
    textDocument: {
      uri: 'untitled:process.rs',
      languageId: 'rust',
      version: 1,
      text: 'use std::sync::Mutex;\nstruct S { m: Mutex<u32> }\nimpl S {\n    fn f(&self) {\n        let _ = self.m.lock();\n    }\n}\n',
    },
  });
  const p = await diagnostics;
  assert.ok(p.diagnostics.some((d) => d.code === 'let-underscore-lock'), JSON.stringify(p.diagnostics));
  const exit = exited(child);
  await connection.sendRequest('shutdown');
  await connection.sendNotification('exit');
  assert.equal(await exit, 0, 'exits with 0 after shutdown + exit');
  connection.dispose();
}

describe('language server processes', () => {
  it('serves over stdio via startStdio()', async () => {
    const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(MAIN)}).startStdio()`], { stdio: ['pipe', 'pipe', 'inherit'] });
    const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    await session(connection, child);
  });

  it('serves over Node IPC when run as the client server module', async () => {
    const child = fork(MAIN, ['--node-ipc'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    await session(connection, child);
  });
});
