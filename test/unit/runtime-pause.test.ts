// "Pause" on a deadlock (client/src/runtime/pause.ts, used by the Lock Panel controller): which
// debug session is paused, and how, with the editor's functions replaced by recorders.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEADLOCK_CHOICES, onDeadlockChoice, PAUSE_COMMAND, pauseDebugSession, type PauseDeps, type PausableSession } from '../../client/src/runtime/pause';

function recorder(active: string | undefined, opts: { commandFails?: boolean } = {}) {
  const calls: string[] = [];
  const deps: PauseDeps = {
    activeSessionId: () => active,
    executeCommand: async (command) => {
      calls.push(`command ${command}`);
      if (opts.commandFails) throw new Error('no debug session focused');
    },
    info: (m) => calls.push(`info ${m}`),
    log: (m) => calls.push(`log ${m}`),
  };
  return { calls, deps };
}

function session(id: string, calls: string[], fails = false): PausableSession {
  return {
    id,
    customRequest: async (command, args) => {
      calls.push(`request ${id} ${command} ${JSON.stringify(args)}`);
      if (fails) throw new Error('adapter went away');
    },
  };
}

describe('pause on deadlock', () => {
  it('the deadlocked session is the focused one: workbench.action.debug.pause', async () => {
    const { calls, deps } = recorder('dbg-1');
    assert.equal(await pauseDebugSession(session('dbg-1', calls), deps), 'command');
    assert.deepEqual(calls, [`command ${PAUSE_COMMAND}`]);
    assert.equal(PAUSE_COMMAND, 'workbench.action.debug.pause');
  });

  it('another session is focused: a DAP pause request to the deadlocked session, not the focused one', async () => {
    const { calls, deps } = recorder('dbg-other');
    assert.equal(await pauseDebugSession(session('dbg-1', calls), deps), 'request');
    assert.deepEqual(calls, ['request dbg-1 pause {"threadId":0}']);
  });

  it('no session focused at all: the deadlocked one is still paused by request', async () => {
    const { calls, deps } = recorder(undefined);
    assert.equal(await pauseDebugSession(session('dbg-1', calls), deps), 'request');
    assert.deepEqual(calls, ['request dbg-1 pause {"threadId":0}']);
  });

  it('a trace without a debug session (task run, replay) says so and pauses nothing', async () => {
    const { calls, deps } = recorder('dbg-1');
    assert.equal(await pauseDebugSession(undefined, deps), 'no-session');
    assert.deepEqual(calls, ['info LockLens: this trace has no debug session to pause.']);
  });

  it('failures are logged, never thrown', async () => {
    const a = recorder('dbg-2');
    assert.equal(await pauseDebugSession(session('dbg-1', a.calls, true), a.deps), 'failed');
    assert.deepEqual(a.calls, ['request dbg-1 pause {"threadId":0}', 'log runtime: pause failed: adapter went away']);
    const b = recorder('dbg-1', { commandFails: true });
    assert.equal(await pauseDebugSession(session('dbg-1', b.calls), b.deps), 'failed');
    assert.deepEqual(b.calls, [`command ${PAUSE_COMMAND}`, 'log runtime: pause failed: no debug session focused']);
  });

  it("the notification's buttons: Show shows, Pause pauses, dismissing does nothing", async () => {
    assert.deepEqual([...DEADLOCK_CHOICES], ['Show', 'Pause']);
    const done: string[] = [];
    const act = { show: () => void done.push('show'), pause: async () => void done.push('pause') };
    await onDeadlockChoice('Pause', act);
    await onDeadlockChoice('Show', act);
    await onDeadlockChoice(undefined, act);
    assert.deepEqual(done, ['pause', 'show']);
  });
});
