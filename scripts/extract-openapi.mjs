#!/usr/bin/env node
// Extracts, from GitHub's published OpenAPI description (the npm package @octokit/openapi), only
// the REST operations this toolkit calls, with their parameters and request/response schemas, into
// test/fixtures/github-openapi.json. The GitHub API stand-in (test/support/github-api) validates
// every request and every response it sends against this extract.
//
// The package unpacks to ~385 MB, so it is not a dependency; install it outside the repository:
//   mkdir -p /tmp/oa && cd /tmp/oa && npm init -y && npm install @octokit/openapi@23
//   node scripts/extract-openapi.mjs /tmp/oa/node_modules/@octokit/openapi
//
// OpenAPI 3.0 schemas are turned into plain JSON Schema on the way (`nullable: true` becomes a
// `null` type), annotations (descriptions, examples) are dropped to keep the fixture small, and
// shared component schemas stay shared under `$defs`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every operation the toolkit (and the stand-in's own seeding) uses. Add here, then re-run. */
export const OPERATIONS = [
  'issues/list-comments',
  'issues/create-comment',
  'issues/update-comment',
  'issues/delete-comment',
  'repos/create-commit-status',
  'repos/get-combined-status-for-ref',
  'repos/list-commit-statuses-for-ref',
  'repos/list-pull-requests-associated-with-commit',
  'pulls/get',
  'users/get-authenticated',
];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packageDir = process.argv[2];
if (!packageDir) {
  console.error('usage: node scripts/extract-openapi.mjs <path to node_modules/@octokit/openapi>');
  process.exit(2);
}
const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const spec = JSON.parse(readFileSync(join(packageDir, 'generated/api.github.com.json'), 'utf8'));

const ANNOTATIONS = new Set(['description', 'example', 'examples', 'externalDocs', 'title', 'summary', 'deprecated', 'readOnly', 'writeOnly', 'xml']);

/** Follows a local `#/components/...` reference. */
function lookup(ref) {
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .reduce((node, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
}

const neededSchemas = new Set();
const SCHEMA_REF = '#/components/schemas/';

/** OpenAPI 3.0 schema -> JSON Schema, collecting the component schemas it names. */
function convert(node) {
  if (Array.isArray(node)) return node.map(convert);
  if (node === null || typeof node !== 'object') return node;
  if (typeof node.$ref === 'string') {
    if (!node.$ref.startsWith(SCHEMA_REF)) return convert(lookup(node.$ref));
    const name = node.$ref.slice(SCHEMA_REF.length);
    neededSchemas.add(name);
    return { $ref: `#/$defs/${name}` };
  }
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (ANNOTATIONS.has(key) || key.startsWith('x-')) continue;
    if (key === 'nullable') continue;
    if (key === 'properties' || key === 'patternProperties') {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, convert(schema)]));
    } else {
      out[key] = convert(value);
    }
  }
  if (node.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    if (out.type === undefined && (out.allOf || out.oneOf || out.anyOf)) {
      const { allOf, oneOf, anyOf, ...rest } = out;
      const branch = allOf ? { allOf } : oneOf ? { oneOf } : { anyOf };
      return { ...rest, anyOf: [branch, { type: 'null' }] };
    }
  }
  return out;
}

function deref(node) {
  return node && typeof node.$ref === 'string' ? deref(lookup(node.$ref)) : node;
}

const index = new Map();
for (const [path, item] of Object.entries(spec.paths)) {
  for (const [method, operation] of Object.entries(item)) {
    if (operation && typeof operation === 'object' && operation.operationId) index.set(operation.operationId, { path, method, operation, item });
  }
}

const operations = {};
for (const id of OPERATIONS) {
  const found = index.get(id);
  if (!found) throw new Error(`operation ${id} is not in ${pkg.name}@${pkg.version}`);
  const { path, method, operation, item } = found;
  const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map(deref).map((p) => ({
    name: p.name,
    in: p.in,
    required: p.required === true,
    schema: convert(p.schema ?? {}),
  }));
  const body = deref(operation.requestBody);
  const requestBody = body ? { required: body.required === true, schema: convert(body.content?.['application/json']?.schema ?? {}) } : null;
  const responses = {};
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    const resolved = deref(response);
    const schema = resolved.content?.['application/json']?.schema;
    responses[status] = schema ? { schema: convert(schema) } : { schema: null };
  }
  operations[id] = { method: method.toUpperCase(), path, docs: operation.externalDocs?.url, parameters, requestBody, responses };
}

// Component schemas may name further component schemas: convert until the set stops growing.
const $defs = {};
for (let pending = [...neededSchemas]; pending.length; pending = [...neededSchemas].filter((n) => !(n in $defs))) {
  for (const name of pending) $defs[name] = convert(spec.components.schemas[name]);
}

const fixture = {
  source: `${pkg.name}@${pkg.version} generated/api.github.com.json (${spec.info.title} ${spec.info.version}, OpenAPI ${spec.openapi}), extracted by scripts/extract-openapi.mjs`,
  operations,
  $defs: Object.fromEntries(Object.entries($defs).sort(([a], [b]) => a.localeCompare(b))),
};
const target = join(root, 'test/fixtures/github-openapi.json');
writeFileSync(target, `${JSON.stringify(fixture, null, 1)}\n`);
console.log(`wrote ${target}: ${OPERATIONS.length} operations, ${Object.keys($defs).length} schemas, ${Buffer.byteLength(JSON.stringify(fixture))} bytes`);
