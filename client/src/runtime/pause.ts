// "Pause" on a deadlock (the notification's button, or the Lock Panel's): pauses the debug session
// of the deadlocked program. Kept free of the vscode module (the controller passes the editor's
// functions in) so that the decision is unit-tested.
//
// `workbench.action.debug.pause` pauses the *focused* debug session, so it is used only when the
// deadlocked program's session is the active one; with several sessions (another one focused) the
// deadlocked session gets a DAP `pause` request directly. A trace without a debug session (a task
// run, a replay) has nothing to pause: the user is told so.

export interface PausableSession {
  readonly id: string;
  customRequest(command: string, args?: unknown): PromiseLike<unknown>;
}

export interface PauseDeps {
  /** The focused debug session (`vscode.debug.activeDebugSession`). */
  activeSessionId(): string | undefined;
  executeCommand(command: string): PromiseLike<unknown>;
  info(message: string): void;
  log(message: string): void;
}

export const PAUSE_COMMAND = 'workbench.action.debug.pause';

/** What was done, for the caller's log and the tests. */
export type PauseOutcome = 'no-session' | 'command' | 'request' | 'failed';

export async function pauseDebugSession(target: PausableSession | undefined, deps: PauseDeps): Promise<PauseOutcome> {
  if (!target) {
    deps.info('LockLens: this trace has no debug session to pause.');
    return 'no-session';
  }
  try {
    if (deps.activeSessionId() === target.id) {
      await deps.executeCommand(PAUSE_COMMAND);
      return 'command';
    }
    await target.customRequest('pause', { threadId: 0 });
    return 'request';
  } catch (err) {
    deps.log(`runtime: pause failed: ${err instanceof Error ? err.message : String(err)}`);
    return 'failed';
  }
}

/** The deadlock notification's buttons. */
export const DEADLOCK_CHOICES = ['Show', 'Pause'] as const;

/** Acts on the button the user chose on the deadlock notification (nothing when it was dismissed). */
export async function onDeadlockChoice(choice: string | undefined, act: { show(): void; pause(): Promise<unknown> }): Promise<void> {
  if (choice === 'Show') act.show();
  else if (choice === 'Pause') await act.pause();
}
