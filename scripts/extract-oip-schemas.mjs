#!/usr/bin/env node
// Extracts, from the Open Inference Protocol's OpenAPI description
// (kserve/open-inference-protocol, specification/protocol/open_inference_rest.yaml), its
// operations (which response codes carry which schema) and its component schemas into
// test/fixtures/open-inference-rest.json. The server's tests validate every answer against it.
//
//   git clone https://github.com/kserve/open-inference-protocol /tmp/oip
//   node scripts/extract-oip-schemas.mjs /tmp/oip/specification/protocol/open_inference_rest.yaml <commit>
//
// OpenAPI 3.0 schemas become plain JSON Schema: annotations (title, description, x-examples) are
// dropped, and `#/components/schemas/X` references point at `#/$defs/X`.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const [file, commit] = process.argv.slice(2);
if (!file || !/^[0-9a-f]{40}$/.test(commit ?? '')) {
  console.error('usage: node scripts/extract-oip-schemas.mjs <open_inference_rest.yaml> <40-hex commit it came from>');
  process.exit(2);
}
const spec = parse(readFileSync(file, 'utf8'));
const DROP = new Set(['title', 'description', 'x-examples', 'example', 'examples']);

function clean(node) {
  if (Array.isArray(node)) return node.map(clean);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROP.has(key)) continue;
    out[key] = key === '$ref' ? value.replace('#/components/schemas/', '#/$defs/') : clean(value);
  }
  return out;
}

const operations = {};
for (const [path, item] of Object.entries(spec.paths)) {
  for (const [method, operation] of Object.entries(item)) {
    if (method === 'parameters') continue;
    const responses = {};
    for (const [code, response] of Object.entries(operation.responses ?? {})) {
      responses[code] = clean(response.content?.['application/json']?.schema ?? null);
    }
    const request = operation.requestBody?.content?.['application/json']?.schema;
    operations[operation.operationId] = { method: method.toUpperCase(), path, responses, ...(request ? { request: clean(request) } : {}) };
  }
}
const fixture = {
  source: `https://github.com/kserve/open-inference-protocol/blob/${commit}/specification/protocol/open_inference_rest.yaml`,
  license: spec.info?.license?.name ?? 'Apache 2.0',
  operations,
  $defs: clean(spec.components.schemas),
};
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, 'test/fixtures/open-inference-rest.json'), `${JSON.stringify(fixture, null, 2)}\n`);
console.log(`wrote ${Object.keys(operations).length} operations and ${Object.keys(fixture.$defs).length} schemas`);
