// The extension loads in a Rust workspace and registers its commands.
import * as assert from 'assert';
import * as vscode from 'vscode';
import { COMMANDS, activate, closeAllEditors, extension, open } from './helpers';

describe('activation', () => {
  after(closeAllEditors);

  it('is loaded in the extension development host', () => {
    const ext = extension();
    assert.strictEqual(ext.packageJSON.name, 'locklens');
    assert.strictEqual(ext.packageJSON.publisher, 'locklens');
  });

  it('declares activation on Rust files or Cargo workspaces', () => {
    const events: string[] = extension().packageJSON.activationEvents ?? [];
    assert.ok(
      events.some((e) => e === 'onLanguage:rust' || /^workspaceContains:.*Cargo\.toml$/.test(e)),
      `activationEvents has neither onLanguage:rust nor workspaceContains:**/Cargo.toml: ${JSON.stringify(events)}`,
    );
  });

  it('activates without error when a Rust file is opened', async () => {
    await open('demo-crate/src/lib.rs');
    const ext = await activate(); // rejects if activate() threw inside the extension
    assert.strictEqual(ext.isActive, true);
  });

  it('registers every contributed command', async () => {
    await activate();
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = [...COMMANDS, 'locklens.test.decoratedRanges'].filter((c) => !registered.has(c));
    assert.deepStrictEqual(missing, [], `commands not registered after activation: ${missing.join(', ')}`);
  });

  it('contributes its commands to the command palette with a LockLens title', () => {
    const contributed: Array<{ command: string; title: string; category?: string }> =
      extension().packageJSON.contributes?.commands ?? [];
    for (const id of COMMANDS) {
      const c = contributed.find((x) => x.command === id);
      assert.ok(c, `${id} is not in contributes.commands`);
      assert.match(`${c.category ?? ''} ${c.title}`, /LockLens/, `${id} has no "LockLens" title or category`);
    }
    assert.ok(
      !contributed.some((c) => c.command === 'locklens.test.decoratedRanges'),
      'the test-only command must not be contributed to the palette',
    );
  });
});
