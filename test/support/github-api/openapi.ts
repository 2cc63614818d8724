import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { repoRoot } from '../action-runner';

/**
 * GitHub's published OpenAPI description, cut down to the operations the toolkit calls
 * (test/fixtures/github-openapi.json, made by scripts/extract-openapi.mjs from @octokit/openapi).
 * The stand-in uses it to route requests, to validate each request's path, query and body, and
 * to validate each response it sends, so neither the toolkit nor the stand-in can drift from
 * GitHub's contract.
 */

type Schema = Record<string, unknown>;

interface ParameterSpec {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

interface OperationSpec {
  method: string;
  path: string;
  docs?: string;
  parameters: ParameterSpec[];
  requestBody: { required: boolean; schema: Schema } | null;
  responses: Record<string, { schema: Schema | null }>;
}

interface Fixture {
  source: string;
  operations: Record<string, OperationSpec>;
  $defs: Record<string, Schema>;
}

export interface Operation extends OperationSpec {
  id: string;
}

export interface RouteMatch {
  operation: Operation;
  params: Record<string, string>;
}

const FIXTURE_ID = 'https://stand-in.invalid/github-openapi.json';

// ajv-formats is CommonJS with a default export; under ESM interop it may arrive wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

export class OpenApi {
  readonly source: string;
  readonly operations: ReadonlyMap<string, Operation>;
  private readonly ajv: Ajv;
  private readonly defs: Record<string, Schema>;
  private readonly routes: { pattern: RegExp; names: string[]; operation: Operation }[];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(fixture: Fixture) {
    this.source = fixture.source;
    this.defs = fixture.$defs;
    this.operations = new Map(Object.entries(fixture.operations).map(([id, spec]) => [id, { id, ...spec }]));
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: FIXTURE_ID, $defs: fixture.$defs });
    this.routes = [...this.operations.values()].map((operation) => {
      const names: string[] = [];
      const source = operation.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_, name: string) => {
        names.push(name);
        return '([^/]+)';
      });
      return { pattern: new RegExp(`^${source}$`), names, operation };
    });
  }

  /** The operation a request's method and path name, or why there is none. */
  route(method: string, pathname: string): RouteMatch | { error: 'no-path' | 'no-method' } {
    let pathMatched = false;
    for (const { pattern, names, operation } of this.routes) {
      const match = pattern.exec(pathname);
      if (!match) continue;
      pathMatched = true;
      if (operation.method !== method.toUpperCase()) continue;
      const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1]!)]));
      return { operation, params };
    }
    return { error: pathMatched ? 'no-method' : 'no-path' };
  }

  /**
   * Checks path and query parameters (coerced from text as a server would) and the JSON body.
   * Returns the typed query values and a list of problems (empty when the request is valid).
   */
  validateRequest(operation: Operation, request: { params: Record<string, string>; query: URLSearchParams; body: unknown; hasBody: boolean }): { query: Record<string, unknown>; problems: string[] } {
    const problems: string[] = [];
    const query: Record<string, unknown> = {};
    const declared = new Set(operation.parameters.filter((p) => p.in === 'query').map((p) => p.name));
    for (const name of new Set(request.query.keys())) {
      if (!declared.has(name)) problems.push(`query parameter "${name}" is not defined for ${operation.id}`);
    }
    for (const parameter of operation.parameters) {
      if (parameter.in === 'header') continue;
      const raw = parameter.in === 'path' ? request.params[parameter.name] : (request.query.get(parameter.name) ?? undefined);
      if (raw === undefined) {
        if (parameter.required) problems.push(`${parameter.in} parameter "${parameter.name}" is required`);
        continue;
      }
      const value = coerce(raw, parameter.schema);
      const errors = this.check(parameter.schema, value);
      if (errors) problems.push(`${parameter.in} parameter "${parameter.name}"=${JSON.stringify(raw)}: ${errors}`);
      if (parameter.in === 'query') query[parameter.name] = value;
    }
    if (operation.requestBody) {
      if (!request.hasBody) {
        if (operation.requestBody.required) problems.push('request body is required');
      } else {
        const errors = this.check(operation.requestBody.schema, request.body);
        if (errors) problems.push(`request body: ${errors}`);
      }
    } else if (request.hasBody) {
      problems.push(`${operation.id} takes no request body`);
    }
    return { query, problems };
  }

  /** Problems with a response the stand-in is about to send (none when the status has no schema). */
  validateResponse(operation: Operation, status: number, body: unknown): string[] {
    const spec = operation.responses[String(status)];
    if (!spec) return [`status ${status} is not a documented response of ${operation.id}`];
    if (!spec.schema) return body === undefined ? [] : [`status ${status} of ${operation.id} has no body, but one was sent`];
    const errors = this.check(spec.schema, body);
    return errors ? [`response ${status} of ${operation.id}: ${errors}`] : [];
  }

  /**
   * Problems with an error GitHub sends but the description does not list for the operation
   * (such as 422 "No commit found for SHA" on creating a status): it must still have the shape
   * of GitHub's documented error bodies.
   */
  validateUndocumentedError(body: unknown): string[] {
    const basic = this.check({ $ref: '#/$defs/basic-error' }, body);
    const validation = this.check({ $ref: '#/$defs/validation-error' }, body);
    return basic && validation ? [`error body matches neither basic-error (${basic}) nor validation-error (${validation})`] : [];
  }

  /** The schema of one response, for building conforming objects. */
  responseSchema(operationId: string, status: number): Schema {
    const schema = this.operations.get(operationId)?.responses[String(status)]?.schema;
    if (!schema) throw new Error(`${operationId} has no ${status} response schema`);
    return schema;
  }

  /**
   * A value that conforms to `schema`: `given` where it says something, and the simplest valid
   * value (null where allowed, the first enum value, zero, an empty list) for each required
   * property it leaves out. The stand-in builds its responses this way, then validates them.
   */
  conform(schema: Schema, given?: unknown, depth = 0): unknown {
    if (depth > 40) throw new Error('schema nests too deeply');
    const ref = schema.$ref as string | undefined;
    if (ref) return this.conform(this.resolve(ref), given, depth + 1);
    const anyOf = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
    if (anyOf) {
      const nullable = anyOf.some((branch) => branch.type === 'null');
      if (given === undefined && nullable) return null;
      if (given === null) return null;
      const branch = anyOf.find((b) => b.type !== 'null')!;
      return this.conform(branch, given, depth + 1);
    }
    if (schema.allOf) {
      let value = given;
      for (const branch of schema.allOf as Schema[]) value = this.conform(branch, value, depth + 1);
      return value;
    }
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : schema.type ? [schema.type as string] : [];
    if (given === undefined) {
      if (types.includes('null')) return null;
      if (Array.isArray(schema.enum)) return schema.enum[0];
      if ('const' in schema) return schema.const;
    }
    const type = types.find((t) => t !== 'null') ?? (schema.properties ? 'object' : undefined);
    if (given !== undefined && (type !== 'object' || given === null || typeof given !== 'object')) {
      if (type === 'array' && Array.isArray(given) && schema.items) return given.map((item) => this.conform(schema.items as Schema, item, depth + 1));
      return given;
    }
    switch (type) {
      case 'string':
        return schema.format === 'date-time' ? '2024-01-01T00:00:00Z' : schema.format === 'uri' ? 'https://github.com/stand-in' : '';
      case 'integer':
      case 'number':
        return typeof schema.minimum === 'number' ? schema.minimum : 0;
      case 'boolean':
        return false;
      case 'array':
        return [];
      case 'object': {
        const properties = (schema.properties ?? {}) as Record<string, Schema>;
        const out: Record<string, unknown> = { ...((given as Record<string, unknown>) ?? {}) };
        for (const [name, value] of Object.entries(out)) {
          if (properties[name] && value !== undefined) out[name] = this.conform(properties[name], value, depth + 1);
        }
        for (const name of (schema.required ?? []) as string[]) {
          if (out[name] === undefined) out[name] = this.conform(properties[name] ?? {}, undefined, depth + 1);
        }
        return out;
      }
      default:
        return given ?? null;
    }
  }

  private resolve(ref: string): Schema {
    const name = ref.replace(/^.*#\/\$defs\//, '');
    const schema = this.defs[name];
    if (!schema) throw new Error(`unknown schema ${ref}`);
    return schema;
  }

  private check(schema: Schema, value: unknown): string | undefined {
    const key = JSON.stringify(schema);
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(rebase(schema) as Schema);
      this.validators.set(key, validate);
    }
    return validate(value) ? undefined : describeErrors(validate.errors ?? []);
  }
}

/** Point the fixture's local `#/$defs/x` references at the registered fixture document. */
function rebase(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebase);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `${FIXTURE_ID}${value}` : rebase(value)]));
}

function coerce(raw: string, schema: Schema): unknown {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

function describeErrors(errors: ErrorObject[]): string {
  return errors
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`)
    .join('; ');
}

let cached: OpenApi | undefined;

export function loadGitHubOpenApi(): OpenApi {
  cached ??= new OpenApi(JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/github-openapi.json'), 'utf8')) as Fixture);
  return cached;
}
