// Names the shared chunks esbuild splits out of the action bundles after the modules each one holds.
//
// esbuild's `[hash]` is a hash of a chunk's bytes and of the chunks it imports, so changing one
// line in a module every action uses renamed most chunks, and git showed each as a deleted and an
// added file of thousands of lines. A chunk named after the sorted list of its input modules keeps
// its name while its modules stay the same, whatever their content; only a change in how modules
// are split between chunks (a new shared import, an action added) renames one.
import { createHash } from 'node:crypto';
import { basename, relative } from 'node:path';

/** The name a chunk gets from its inputs (paths relative to the repository, as in the metafile). */
export function chunkName(inputs) {
  const hash = createHash('sha256')
    .update([...inputs].sort().join('\n'))
    .digest('hex');
  return `chunk-${hash.slice(0, 10)}.mjs`;
}

/**
 * Takes esbuild's result (write: false, metafile: true) and returns its output files with every
 * chunk (and its source map, if any) renamed and every mention of a chunk rewritten to the new name.
 */
export function stableChunkNames(result, { root, dist }) {
  const renames = new Map();
  for (const file of result.outputFiles) {
    const key = relative(root, file.path).split('\\').join('/');
    const meta = result.metafile.outputs[key];
    if (!meta) throw new Error(`esbuild wrote ${key}, which its metafile does not list`);
    if (meta.entryPoint || !file.path.endsWith('.mjs')) continue;
    const name = chunkName(Object.keys(meta.inputs));
    if ([...renames.values()].includes(name)) throw new Error(`two chunks hold the same modules: ${name}`);
    renames.set(basename(file.path), name);
  }
  // Chunk names are esbuild's `chunk-` plus 8 base32 characters: unique strings, safe to replace.
  const rewrite = (text) => {
    let out = text;
    for (const [from, to] of renames) out = out.split(from).join(to);
    return out;
  };
  return result.outputFiles.map((file) => {
    const name = basename(file.path);
    const path = `${file.path.slice(0, -name.length)}${rewrite(name)}`;
    if (!path.startsWith(dist)) throw new Error(`esbuild wrote outside dist/: ${path}`);
    return { path, contents: rewrite(file.text) };
  });
}
