import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { crateRootAbove, packageDirs, SiteResolver } from '../../client/src/runtime/sites';

describe('runtime sites → files', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-sites-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const write = (rel: string, text = '') => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };
  write('ws/Cargo.toml', '[workspace]');
  write('ws/app/Cargo.toml', '[package]');
  write('ws/app/src/main.rs');
  write('ws/app/target/debug/app');
  write('secret.txt');

  it('finds the crate above a program in target/', () => {
    assert.equal(crateRootAbove(path.join(root, 'ws', 'app', 'target', 'debug')), path.join(root, 'ws', 'app'));
    assert.deepEqual(packageDirs([path.join(root, 'ws')]).sort(), [path.join(root, 'ws'), path.join(root, 'ws', 'app')]);
  });

  it('resolves rustc paths against the roots, never outside them', () => {
    const r = new SiteResolver([path.join(root, 'ws')]);
    assert.equal(r.resolve('src/main.rs'), undefined);
    r.addRoots([path.join(root, 'ws', 'app')]);
    assert.equal(r.resolve('src/main.rs'), path.join(root, 'ws', 'app', 'src', 'main.rs'), 'a new root clears cached misses');
    assert.equal(r.resolve('../../secret.txt'), undefined, 'relative paths stay inside their root');
    assert.equal(r.resolve('src/main.rs\0.txt'), undefined);
    assert.equal(r.resolve(path.join(root, 'ws', 'app', 'src', 'main.rs')), path.join(root, 'ws', 'app', 'src', 'main.rs'), 'absolute paths of existing files');
    assert.equal(r.resolve(path.join(root, 'ws', 'app', 'src')), undefined, 'not a directory');
  });
});
