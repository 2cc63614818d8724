#!/usr/bin/env node
// Fails when a package bundled into dist/ has no licence text in dist/licenses.txt (run by .ci/run
// after the build). What is bundled is read from the bundles themselves, not from the build.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLicenses, packagesInBundles } from './build/licenses.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const problems = checkLicenses(root, dist);
for (const problem of problems) console.log(problem);
console.log(`licences: ${packagesInBundles(dist).length} bundled package folder(s), ${problems.length} problem(s)`);
process.exit(problems.length ? 1 : 0);
