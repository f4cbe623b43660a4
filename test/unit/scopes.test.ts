// Scopes.usesOf finds a binding's uses from the text (occurrences of its name, confirmed on the
// tree); it must find exactly what visiting every identifier of the block finds.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Scopes, type LocalDecl } from '../../server/src/analysis/scopes';
import type { Node } from '../../server/src/analysis/syntax';
import { getTestEngine, ROOT, rustFiles } from '../support/engine-harness';


/** Every local binding some identifier of `fnNode` resolves to. */
function bindingsOf(fnNode: Node, scopes: Scopes): Set<LocalDecl> {
  const out = new Set<LocalDecl>();
  for (const id of fnNode.descendantsOfType(['identifier', 'self'])) {
    const d = id && scopes.resolve(id.text, id);
    if (d) out.add(d);
  }
  return out;
}

test('uses found from the text equal the uses found by visiting every identifier', async () => {
  const engine = await getTestEngine();
  const files = [
    ...rustFiles(path.join(ROOT, 'test', 'fixtures')),
    ...rustFiles(path.join(ROOT, 'examples')),
    // Real code with macros, shadowing, closures and lifetimes, when installed.
    ...rustFiles('/usr/share/cargo/registry/tokio-1.24.2/src/sync'),
  ];
  let bindings = 0;
  let uses = 0;
  for (const file of files) {
    const parsed = engine.parse(fs.readFileSync(file, 'utf8'));
    try {
      for (const fnNode of parsed.tree.rootNode.descendantsOfType('function_item')) {
        if (!fnNode) continue;
        const scopes = new Scopes(fnNode);
        for (const d of bindingsOf(fnNode, scopes)) {
          const ids = (nodes: Node[]) => nodes.map((n) => n.id);
          const fromText = scopes.usesOf(d, d.scope);
          assert.deepEqual(ids(fromText), ids(scopes.usesInTree(d, d.scope)), `${path.relative(ROOT, file)}: uses of \`${d.name}\` declared at ${d.node.startPosition.row + 1}`);
          bindings++;
          uses += fromText.length;
        }
      }
    } finally {
      parsed.dispose();
    }
  }
  assert.ok(bindings > 500 && uses > 500, `${bindings} bindings, ${uses} uses`);
});

test('a match guard uses names; only the pattern binds them', async () => {
  const engine = await getTestEngine();
  const text = [
    'fn f(s: &S, x: u32) -> u32 {',
    '    match x {',
    '        n if *s.a.lock().unwrap() > n => n,',
    '        Some(y) if y > x => y,',
    '        _ => 0,',
    '    }',
    '}',
  ].join('\n');
  const parsed = engine.parse(text);
  try {
    const fnNode = parsed.tree.rootNode.descendantsOfType('function_item')[0]!;
    const scopes = new Scopes(fnNode);
    const at = (line: number, name: string, nth = 0) => {
      const ids = fnNode.descendantsOfType('identifier').filter((n) => n!.text === name && n!.startPosition.row === line);
      return scopes.resolve(name, ids[nth]!);
    };
    assert.equal(at(2, 's')?.kind, 'param', '`s` in the guard is the parameter');
    assert.equal(at(2, 'n', 1)?.kind, 'pattern', '`n` in the guard is the arm\'s binding');
    assert.equal(at(3, 'x')?.kind, 'param');
    assert.equal(at(3, 'y', 1)?.node.startPosition.column, 13);
  } finally {
    parsed.dispose();
  }
});
