// The licence texts of every package bundled into dist/, and the check that none is missing.
//
// The bundles are built with `legalComments: 'none'`, and MIT, ISC, BSD and Apache-2.0 all ask
// that the licence (or its notice) travel with copies of the code. So the build writes
// dist/licenses.txt, one section per bundled package: name, version, licence, and the text of its
// licence and notice files. `checkLicenses` reads the bundles themselves (esbuild heads each module
// it bundles with a `// node_modules/<package>/…` comment) and fails for any package whose text is
// not there.
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RULE = '='.repeat(80);
const THIN = '-'.repeat(80);
const HEADER = ['Third-party software bundled in dist/ by scripts/build.mjs (generated: do not edit).', 'train-to-serve itself is MIT-licensed (LICENSE). Each bundled package and its licence follow.'].join('\n');

/** `node_modules/a/node_modules/@b/c/lib/x.js` → `node_modules/a/node_modules/@b/c`. */
export function packageDirOf(modulePath) {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(modulePath);
  return match ? match[1] : undefined;
}

/** The package folders whose code is in the outputs of esbuild's metafiles, sorted. */
export function bundledPackages(metafiles) {
  const dirs = new Set();
  for (const metafile of metafiles) {
    for (const output of Object.values(metafile.outputs)) {
      for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
        const dir = bytesInOutput > 0 ? packageDirOf(path) : undefined;
        if (dir) dirs.add(dir);
      }
    }
  }
  return [...dirs].sort();
}

const LICENSE_FILE = /^(licen[cs]e|copying|notice)([.-].*)?$/i;
const templates = join(fileURLToPath(new URL('.', import.meta.url)), 'license-templates');

const authorOf = (pkg) => (typeof pkg.author === 'string' ? pkg.author : pkg.author?.name);

/** One package's facts and licence text; throws when it has neither a licence file nor a known template. */
export function licenseOf(root, dir) {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  const license = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'UNKNOWN');
  const files = readdirSync(join(root, dir))
    .filter((name) => LICENSE_FILE.test(name) && statSync(join(root, dir, name)).isFile())
    .sort();
  let text = files.map((name) => readFileSync(join(root, dir, name), 'utf8').trim()).join(`\n\n${THIN}\n\n`);
  if (!text) {
    // A few packages state their licence in package.json only. Their licence's standard text,
    // with the author package.json names as the copyright holder, stands in for the missing file.
    const template = join(templates, `${license}.txt`);
    if (!existsSync(template)) {
      throw new Error(`${dir} (${pkg.name}@${pkg.version}, ${license}) ships no licence file and scripts/build/license-templates/ has no ${license}.txt`);
    }
    text = [
      `${pkg.name} ships no licence file; its package.json declares ${license}, whose text follows.`,
      '',
      readFileSync(template, 'utf8')
        .replace('<copyright holders>', authorOf(pkg) ?? `the authors of ${pkg.name}`)
        .trim(),
    ].join('\n');
  }
  return { name: pkg.name, version: pkg.version, license, dir, text };
}

const heading = (entry) => `${entry.name} ${entry.version} (${entry.license})`;

/** dist/licenses.txt for these package folders: one section per name and version. */
export function renderLicenses(root, dirs) {
  const entries = new Map();
  for (const dir of dirs) {
    const entry = licenseOf(root, dir);
    const key = `${entry.name}@${entry.version}`;
    if (!entries.has(key)) entries.set(key, entry);
  }
  const sections = [...entries.keys()].sort().map((key) => {
    const entry = entries.get(key);
    return [RULE, heading(entry), THIN, entry.text].join('\n');
  });
  return `${HEADER}\n\n${sections.join('\n\n')}\n`;
}

function bundleFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return bundleFiles(path);
    return entry.name.endsWith('.mjs') ? [path] : [];
  });
}

/** The package folders named by the module comments esbuild writes into the bundles under `dist`. */
export function packagesInBundles(dist) {
  const dirs = new Set();
  for (const file of bundleFiles(dist)) {
    for (const match of readFileSync(file, 'utf8').matchAll(/^\/\/ (\S*node_modules\/\S+)$/gm)) {
      const dir = packageDirOf(match[1]);
      if (dir) dirs.add(dir);
    }
  }
  return [...dirs].sort();
}

/** What is wrong with `dist`/licenses.txt, one line a problem; empty when every bundled package's text is there. */
export function checkLicenses(root, dist) {
  const path = join(dist, 'licenses.txt');
  if (!existsSync(path)) return [`${path} is missing: run npm run build`];
  const sections = new Map(
    readFileSync(path, 'utf8')
      .split(`${RULE}\n`)
      .slice(1)
      .map((section) => {
        const [title, ...rest] = section.split(`\n${THIN}\n`);
        return [title.trim(), rest.join(`\n${THIN}\n`)];
      }),
  );
  const dirs = packagesInBundles(dist);
  if (dirs.length === 0) return [`no bundled package found in ${dist}: the bundles lost esbuild's module comments, so this check cannot tell what they hold`];
  const problems = [];
  for (const dir of dirs) {
    let entry;
    try {
      entry = licenseOf(root, dir);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
      continue;
    }
    const body = sections.get(heading(entry));
    if (body === undefined) problems.push(`${heading(entry)}, bundled from ${dir}, has no section in dist/licenses.txt`);
    else if (!body.includes(entry.text)) problems.push(`${heading(entry)}: dist/licenses.txt does not hold its licence text (from ${dir})`);
  }
  return problems;
}
