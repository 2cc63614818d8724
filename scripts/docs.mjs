#!/usr/bin/env node
// Writes each action's inputs and outputs tables into actions/NAME/README.md from its action.yml,
// between <!-- action-docs:NAME --> and <!-- /action-docs:NAME -->, so the pages cannot drift.
// `--check` exits 1 (and changes nothing) when a page is out of date.
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

const cell = (text) =>
  String(text ?? '')
    .trim()
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|');

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
const stale = [];
const missing = [];
for (const name of readdirSync(actionsDir).sort()) {
  const file = join(actionsDir, name, 'action.yml');
  if (!existsSync(file)) continue;
  const readmePath = join(actionsDir, name, 'README.md');
  const shown = `actions/${name}/README.md`;
  const start = `<!-- action-docs:${name} -->`;
  const end = `<!-- /action-docs:${name} -->`;
  const original = existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : '';
  const from = original.indexOf(start);
  const to = original.indexOf(end);
  if (from < 0 || to < from) {
    missing.push(shown);
    continue;
  }
  const body = renderActionDocs(parse(readFileSync(file, 'utf8')));
  const readme = `${original.slice(0, from + start.length)}\n${body}\n${original.slice(to)}`;
  if (readme === original) continue;
  stale.push(shown);
  if (!check) writeFileSync(readmePath, readme);
}

if (missing.length) {
  console.error(`No <!-- action-docs:NAME --> ... <!-- /action-docs:NAME --> section in: ${missing.join(', ')}`);
  process.exit(1);
}
if (check && stale.length) {
  console.error(`Action tables out of date in ${stale.join(', ')}: run \`npm run docs\``);
  process.exit(1);
}
console.log(check ? 'action tables are up to date' : stale.length ? `action tables updated: ${stale.join(', ')}` : 'action tables were up to date');
