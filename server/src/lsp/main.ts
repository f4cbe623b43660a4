// Entry points of the LockLens language server.
//  - `startServer(connection)`: serve on any connection (tests use in-memory streams).
//  - `startStdio()`: `npx locklens lsp --stdio`.
//  - run directly (the VS Code client's server module): transport from argv (--node-ipc).

import { Connection, createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { LockLensServer, ServerOptions } from './server';

export { LockLensServer, ServerOptions };

export function startServer(connection: Connection, options: ServerOptions = {}): LockLensServer {
  const server = new LockLensServer(connection, options);
  connection.listen();
  return server;
}

export function startStdio(options: ServerOptions = {}): LockLensServer {
  return startServer(createConnection(ProposedFeatures.all, process.stdin, process.stdout), options);
}

if (require.main === module) {
  startServer(createConnection(ProposedFeatures.all));
}
