import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveInside } from '../../src/files/resolve';

// Real links in a temp folder, each checked against what the kernel itself makes of the path
// (realpath(3); node's JS realpathSync normalises link text and is wrong here), so the resolver
// cannot drift from the kernel's rules.

const root = realpathSync(mkdtempSync(join(tmpdir(), 'tts-resolve-')));
const tree = join(root, 'tree');
mkdirSync(join(tree, 'sub/deep'), { recursive: true });
writeFileSync(join(tree, 'file'), 'x');
writeFileSync(join(root, 'secret'), 'outside');
symlinkSync('.', join(tree, 's'));
symlinkSync('s/../secret', join(tree, 'escape')); // the case a textual check lets through
symlinkSync('sub/deep', join(tree, 'deep'));
symlinkSync('../file', join(tree, 'sub/up'));
symlinkSync('deep/../../file', join(tree, 'through')); // deep -> sub/deep, so ../.. is the tree
symlinkSync('deep/../../..', join(tree, 'climb')); // deep is sub/deep: three levels up is the tree's parent
symlinkSync(join(tree, 'file'), join(tree, 'absolute-inside'));
symlinkSync(join(root, 'secret'), join(tree, 'absolute-outside'));
symlinkSync('loop-b', join(tree, 'loop-a'));
symlinkSync('loop-a', join(tree, 'loop-b'));
symlinkSync('missing/../../secret', join(tree, 'dangling-out'));
symlinkSync('missing/x', join(tree, 'dangling-in'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('resolveInside follows links as the kernel does', () => {
  it.each([
    ['file', { kind: 'inside', path: 'file' }],
    ['escape', { kind: 'outside' }],
    ['sub/up', { kind: 'inside', path: 'file' }],
    ['through', { kind: 'inside', path: 'file' }],
    ['climb', { kind: 'outside' }],
    ['absolute-inside', { kind: 'inside', path: 'file' }],
    ['absolute-outside', { kind: 'outside' }],
    ['loop-a', { kind: 'loop' }],
    ['dangling-out', { kind: 'outside' }],
    ['dangling-in', { kind: 'inside', path: 'missing/x' }],
    ['s/s/s/sub', { kind: 'inside', path: 'sub' }],
  ])('%s', async (path, expected) => {
    const result = await resolveInside(tree, path, { absolute: 'host' });
    expect(result).toMatchObject(expected);
    if (result.kind === 'inside' && !path.startsWith('dangling')) expect(join(tree, result.path)).toBe(realpathSync.native(join(tree, path)));
    if (result.kind === 'outside' && !path.startsWith('dangling')) expect(realpathSync.native(join(tree, path)).startsWith(`${tree}/`)).toBe(false);
  });

  it('treats every absolute target as outside when asked (a tree that moves into an image)', async () => {
    expect(await resolveInside(tree, 'absolute-inside', { absolute: 'outside' })).toMatchObject({ kind: 'outside' });
  });
});
