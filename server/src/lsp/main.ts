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
  const connection = createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  guardProcess(connection);
  return startServer(connection, options);
}

/** In a server process, a stray exception is logged to the client instead of killing the server. */
function guardProcess(connection: Connection): void {
  const report = (what: string) => (err: unknown) => {
    try {
      connection.console.error(`locklens: ${what}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    } catch {
      // No connection left to report on.
    }
  };
  process.on('uncaughtException', report('uncaught exception'));
  process.on('unhandledRejection', report('unhandled rejection'));
}

if (require.main === module) {
  const connection = createConnection(ProposedFeatures.all);
  guardProcess(connection);
  startServer(connection);
}
