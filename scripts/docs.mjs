#!/usr/bin/env node
// Writes each action's inputs and outputs tables into README.md from its action.yml, between
// <!-- action-docs:NAME --> and <!-- /action-docs:NAME -->, so the README cannot drift.
// `--check` exits 1 (and changes nothing) when the README is out of date.
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readmePath = join(root, 'README.md');
const check = process.argv.includes('--check');

const cell = (text) => String(text ?? '').trim().replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');

export function renderActionDocs(meta) {
  const inputs = Object.entries(meta.inputs ?? {});
  const outputs = Object.entries(meta.outputs ?? {});
  const lines = ['| Input | Required | Default | Description |', '| --- | --- | --- | --- |'];
  for (const [name, spec] of inputs) {
    const fallback = spec.default === undefined || spec.default === '' ? '' : `\`${cell(spec.default)}\``;
    lines.push(`| \`${name}\` | ${spec.required ? 'yes' : 'no'} | ${fallback} | ${cell(spec.description)} |`);
  }
  lines.push('', '| Output | Description |', '| --- | --- |');
  for (const [name, spec] of outputs) lines.push(`| \`${name}\` | ${cell(spec.description)} |`);
  return lines.join('\n');
}

const actionsDir = join(root, 'actions');
let readme = readFileSync(readmePath, 'utf8');
const original = readme;
const missing = [];
for (const name of readdirSync(actionsDir).sort()) {
  const file = join(actionsDir, name, 'action.yml');
  if (!existsSync(file)) continue;
  const start = `<!-- action-docs:${name} -->`;
  const end = `<!-- /action-docs:${name} -->`;
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) {
    missing.push(name);
    continue;
  }
  const body = renderActionDocs(parse(readFileSync(file, 'utf8')));
  readme = `${readme.slice(0, from + start.length)}\n${body}\n${readme.slice(to)}`;
}

if (missing.length) {
  console.error(`README.md has no <!-- action-docs:NAME --> section for: ${missing.join(', ')}`);
  process.exit(1);
}
if (check) {
  if (readme !== original) {
    console.error('README.md action tables are out of date: run `npm run docs`');
    process.exit(1);
  }
  console.log('README.md action tables are up to date');
} else if (readme !== original) {
  writeFileSync(readmePath, readme);
  console.log('README.md action tables updated');
}
