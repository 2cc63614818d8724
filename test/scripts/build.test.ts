// The build's chunk names and its third-party licence file (scripts/build/*.mjs), with real esbuild
// builds of small projects and the real packages in node_modules.
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { chunkName, stableChunkNames } from '../../scripts/build/chunk-names.mjs';
import { bundledPackages, checkLicenses, licenseOf, packageDirOf, renderLicenses } from '../../scripts/build/licenses.mjs';

const repo = join(import.meta.dirname, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'tts-build-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Builds two entries that share `shared.mjs` (and optionally `extra.mjs`) the way scripts/build.mjs does. */
async function buildProject(name: string, shared: string, withExtra = false) {
  const root = join(scratch, name);
  mkdirSync(join(root, 'src'), { recursive: true });
  const source = withExtra ? `import { extra } from './extra.mjs';\nexport const shared = () => extra() + ${JSON.stringify(shared)};\n` : `export const shared = () => ${JSON.stringify(shared)};\n`;
  writeFileSync(join(root, 'src/shared.mjs'), source);
  writeFileSync(join(root, 'src/extra.mjs'), 'export const extra = () => "extra";\n');
  for (const entry of ['a', 'b']) writeFileSync(join(root, `src/${entry}.mjs`), `import { shared } from './shared.mjs';\nconsole.log('${entry}', shared());\n`);
  const dist = join(root, 'dist');
  const result = await build({
    entryPoints: { 'a/index': join(root, 'src/a.mjs'), 'b/index': join(root, 'src/b.mjs') },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    outdir: dist,
    splitting: true,
    chunkNames: 'chunks/chunk-[hash]',
    absWorkingDir: root,
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const files = stableChunkNames(result, { root, dist });
  for (const file of files) {
    mkdirSync(join(file.path, '..'), { recursive: true });
    writeFileSync(file.path, file.contents);
  }
  return { dist, chunks: readdirSync(join(dist, 'chunks')) };
}

describe('chunk names', () => {
  it('depend on the set of modules a chunk holds, not their order', () => {
    expect(chunkName(['src/a.ts', 'node_modules/x/i.js'])).toBe(chunkName(['node_modules/x/i.js', 'src/a.ts']));
    expect(chunkName(['src/a.ts'])).not.toBe(chunkName(['src/a.ts', 'src/b.ts']));
    expect(chunkName(['src/a.ts'])).toMatch(/^chunk-[0-9a-f]{10}\.mjs$/);
  });

  it('stay the same when a shared module changes, and the renamed chunks still load', async () => {
    const before = await buildProject('v1', 'one');
    const after = await buildProject('v2', 'two: a longer answer');
    expect(after.chunks).toEqual(before.chunks);
    expect(after.chunks).toHaveLength(1);
    // Every import was rewritten to the new name: the entries run.
    expect(execFileSync(process.execPath, [join(after.dist, 'a/index.mjs')], { encoding: 'utf8' })).toBe('a two: a longer answer\n');
    expect(readFileSync(join(after.dist, 'b/index.mjs'), 'utf8')).toContain(`../chunks/${after.chunks[0]}`);
  });

  it('change when the modules a chunk holds change', async () => {
    const before = await buildProject('v3', 'one');
    const after = await buildProject('v4', 'one', true);
    expect(after.chunks).not.toEqual(before.chunks);
  });
});

describe('third-party licences', () => {
  it('finds the package folder of a bundled module, nested and scoped ones too', () => {
    expect(packageDirOf('node_modules/dockerode/lib/docker.js')).toBe('node_modules/dockerode');
    expect(packageDirOf('node_modules/@actions/github/node_modules/@actions/http-client/lib/index.js')).toBe('node_modules/@actions/github/node_modules/@actions/http-client');
    expect(packageDirOf('src/actions/deploy.ts')).toBeUndefined();
    expect(packageDirOf('stub-unused:ssh2')).toBeUndefined();
  });

  it('lists only packages whose code is in an output', () => {
    const metafile = {
      outputs: {
        'dist/a.mjs': { inputs: { 'node_modules/yaml/dist/index.js': { bytesInOutput: 10 }, 'node_modules/ms/index.js': { bytesInOutput: 0 }, 'src/a.ts': { bytesInOutput: 5 } } },
      },
    };
    expect(bundledPackages([metafile])).toEqual(['node_modules/yaml']);
  });

  it("takes a package's own licence file, and a declared licence's standard text when it ships none", () => {
    const yaml = licenseOf(repo, 'node_modules/yaml');
    expect(yaml.license).toBe('ISC');
    expect(yaml.text).toBe(readFileSync(join(repo, 'node_modules/yaml/LICENSE'), 'utf8').trim());
    // split-ca declares ISC in package.json and ships no licence file.
    const splitCa = licenseOf(repo, 'node_modules/split-ca');
    expect(splitCa.text).toContain('split-ca ships no licence file; its package.json declares ISC');
    expect(splitCa.text).toContain('Copyright (c) Charles Bushong');
  });

  /** A dist/ whose one bundle holds modules of these packages, as esbuild's comments name them. */
  function fakeDist(name: string, dirs: string[], licenses?: string) {
    const dist = join(scratch, name);
    mkdirSync(join(dist, 'chunks'), { recursive: true });
    writeFileSync(join(dist, 'chunks/chunk-0.mjs'), dirs.map((dir) => `// ${dir}/index.js\nvar x = 1;\n`).join(''));
    if (licenses !== undefined) writeFileSync(join(dist, 'licenses.txt'), licenses);
    return dist;
  }

  it('passes when every bundled package has its text, and names each one that has not', () => {
    const dirs = ['node_modules/yaml', 'node_modules/dockerode', 'node_modules/split-ca'];
    expect(checkLicenses(repo, fakeDist('complete', dirs, renderLicenses(repo, dirs)))).toEqual([]);

    const partial = renderLicenses(repo, ['node_modules/yaml', 'node_modules/split-ca']);
    expect(checkLicenses(repo, fakeDist('partial', dirs, partial))).toEqual(['dockerode 5.0.1 (Apache-2.0), bundled from node_modules/dockerode, has no section in dist/licenses.txt']);

    const emptied = renderLicenses(repo, dirs).replace(licenseOf(repo, 'node_modules/yaml').text, 'text removed');
    expect(checkLicenses(repo, fakeDist('emptied', dirs, emptied))).toEqual([expect.stringMatching(/^yaml \S+ \(ISC\): dist\/licenses.txt does not hold its licence text/)]);

    expect(checkLicenses(repo, fakeDist('missing', dirs))[0]).toMatch(/licenses\.txt is missing/);
    expect(checkLicenses(repo, fakeDist('no-comments', [], ''))[0]).toMatch(/no bundled package found/);
  });

  it('passes on the dist/ the build wrote (the global setup builds it)', () => {
    expect(checkLicenses(repo, join(repo, 'dist'))).toEqual([]);
  });
});
