#!/usr/bin/env node
// Builds every action entry (src/actions/<name>.ts) into dist/<name>/index.mjs with esbuild.
//
// Why esbuild and not ncc: the sources are ESM (the @actions/* packages are ESM-only), but
// dockerode and its ssh2/docker-modem dependencies are CommonJS that use require and __dirname.
// ncc's ESM output left those undefined and crashed at start, and ncc has no way to add the two
// lines that define them. esbuild writes ESM with a banner that restores require/__dirname for
// the bundled CommonJS code, and splits code shared between actions into dist/chunks/ instead of
// repeating the same megabytes in every action's bundle.
import { build } from 'esbuild';
import { readdirSync, rmSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { isBuiltin } from 'node:module';
import { fileURLToPath } from 'node:url';
import { stableChunkNames } from './build/chunk-names.mjs';
import { bundledPackages, renderLicenses } from './build/licenses.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

const actionsDir = join(root, 'src/actions');
const actionEntries = Object.fromEntries((existsSync(actionsDir) ? readdirSync(actionsDir) : []).filter((file) => file.endsWith('.ts') && !file.startsWith('_')).map((file) => [`${file.replace(/\.ts$/, '')}/index`, join(actionsDir, file)]));

// Restores what bundled CommonJS dependencies expect inside an ES module. `__filename` and
// `__dirname` get names of their own and reach the CommonJS code through `define`, which replaces
// only free uses: an ES module that declares its own top-level `__filename` (Azure's crc64 in
// @actions/cache does) keeps it instead of clashing with the banner's.
const cjsShim = [
  "import { createRequire as __cjsCreateRequire } from 'node:module';",
  "import { fileURLToPath as __cjsFileURLToPath } from 'node:url';",
  'const require = __cjsCreateRequire(import.meta.url);',
  'const __cjsFilename = __cjsFileURLToPath(import.meta.url);',
  "const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));",
].join(' ');

// dockerode requires gRPC (for BuildKit sessions of its buildImage) and docker-modem requires ssh2
// (for ssh:// engine addresses) when they load. No action uses either: parseDockerHost accepts
// unix and tcp only, and images are never built through the daemon. Replacing them with a stub
// that throws when called halves the shared bundle and the CPU time each action spends starting.
const UNUSED = /^(@grpc\/grpc-js|@grpc\/proto-loader|ssh2)$/;
// @actions/core imports its OIDC client (getIDToken) when it loads, and with it @actions/http-client
// and undici: 0.9 MB that every action parsed and ran at start. No action asks for an OIDC token,
// so the client is replaced the same way; @actions/github and @actions/cache still bundle
// http-client for gate, promote and train, which call GitHub and the cache service with it.
const UNUSED_CORE_PART = /^\.\/oidc-utils\.js$/;
const stubUnused = {
  name: 'stub-unused',
  setup(build) {
    build.onResolve({ filter: UNUSED }, (args) => ({ path: args.path, namespace: 'stub-unused' }));
    build.onResolve({ filter: UNUSED_CORE_PART }, (args) => (/[\\/]@actions[\\/]core[\\/]/.test(args.importer) ? { path: `@actions/core/${args.path.slice(2)}`, namespace: 'stub-unused' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'stub-unused' }, (args) => ({
      contents: `module.exports = new Proxy({}, { get: (_, key) => key === '__esModule' ? false : () => { throw new Error(${JSON.stringify(`${args.path} is not bundled with train-to-serve`)}); } });`,
      loader: 'js',
    }));
  },
};

// Node builtins that the sources (and ES-module packages) import are required instead. Node gives
// an imported builtin an ES-module facade that reads every one of its exports when it loads, and
// under Node 24 node:http's exports include getters that load Node's own fetch implementation
// (undici): a script that only imports node:http starts 65 ms later than one that requires it.
const requireBuiltins = {
  name: 'require-builtins',
  setup(build) {
    build.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => (args.kind === 'import-statement' && isBuiltin(args.path) ? { path: args.path, namespace: 'require-builtin' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'require-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  // Optional native add-ons of ssh2 (dockerode's SSH transport); ssh2 falls back to pure JS.
  external: ['cpu-features', '*.node'],
  banner: { js: cjsShim },
  define: { __filename: '__cjsFilename', __dirname: '__cjsDirname' },
  // Licence comments inside the sources are dropped from the bundles; every bundled package's
  // licence text goes to dist/licenses.txt instead (written below from the metafile).
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: root,
  // Module paths (in the bundles' comments, and so in chunk names) stay `node_modules/…` even when
  // node_modules is a symlink (a git worktree sharing another checkout's): the same sources give
  // the same bytes wherever the checkout lives.
  preserveSymlinks: true,
  metafile: true,
  write: false,
  plugins: [stubUnused, requireBuiltins],
};

const writeOutputs = (files) => {
  for (const file of files) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.contents);
  }
};

rmSync(dist, { recursive: true, force: true });

const actions = await build({
  ...common,
  entryPoints: actionEntries,
  outdir: dist,
  splitting: true,
  chunkNames: 'chunks/chunk-[hash]',
});
// esbuild's [hash] covers a chunk's content and the chunks it imports, so one changed line renamed
// most chunks. Chunks are renamed after the modules they hold instead (see chunk-names.mjs).
writeOutputs(stableChunkNames(actions, { root, dist }));
const metafiles = [actions.metafile];

// The reference prediction server ships as one self-contained file, copied into its image.
const serverEntry = join(root, 'server/src/main.ts');
if (existsSync(serverEntry)) {
  const server = await build({ ...common, entryPoints: { index: serverEntry }, outdir: join(dist, 'server') });
  writeOutputs(server.outputFiles);
  metafiles.push(server.metafile);
}

writeFileSync(join(dist, 'licenses.txt'), renderLicenses(root, bundledPackages(metafiles)));

console.log(`built ${Object.keys(actionEntries).length} actions into dist/`);
