// Hovering a lock acquisition names the lock it takes.
import * as assert from 'assert';
import { activate, closeAllEditors, hasRule, hoverText, open, positionOf, waitForDiagnostics } from './helpers';

describe('hover', () => {
  before(activate);
  after(closeAllEditors);

  it('names the lock class on a .lock() call (MIDAS: Odb.odb)', async () => {
    const { document: doc } = await open('midas/src/lib.rs');
    // The server has analysed the file once its findings are published.
    await waitForDiagnostics(doc.uri, hasRule('lock-order-inversion'), 'the first analysis (lock-order-inversion)');
    const at = positionOf(doc, 'lock()', 'pub fn db_set_value').translate(0, 1);
    const text = await hoverText(doc.uri, at);
    assert.match(text, /Odb\.odb/, `hover at ${at.line + 1}:${at.character + 1} does not name the lock:\n${text || '(no hover)'}`);
  });

  it('names the RwLock on a .read() call (Fly.io: Router.load)', async () => {
    const { document: doc } = await open('fly-router/src/lib.rs');
    await waitForDiagnostics(doc.uri, hasRule('scrutinee-guard'), 'the first analysis (scrutinee-guard)');
    const at = positionOf(doc, 'read()', 'if let Some(Load::Local(load))').translate(0, 1);
    const text = await hoverText(doc.uri, at);
    assert.match(text, /Router\.load/, `hover at ${at.line + 1}:${at.character + 1} does not name the lock:\n${text || '(no hover)'}`);
  });
});
