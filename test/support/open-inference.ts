import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { repoRoot } from './action-runner';

/**
 * A client for the Open Inference Protocol (KServe v2) REST API that checks every request it
 * sends and every answer it gets against the protocol's own OpenAPI description
 * (test/fixtures/open-inference-rest.json, extracted by scripts/extract-oip-schemas.mjs from
 * kserve/open-inference-protocol's specification/protocol/open_inference_rest.yaml).
 *
 * The description gives schemas for the metadata and infer answers (200) and their `{error}`
 * objects; inference_rest.md says a failed request answers an HTTP error status with that error
 * object, so every 4xx/5xx answer of those routes is checked against it. The health routes have no
 * body schema there; the client checks their status codes only.
 */
interface Fixture {
  source: string;
  operations: Record<string, { method: string; path: string; responses: Record<string, unknown>; request?: unknown }>;
  $defs: Record<string, unknown>;
}

const FIXTURE_ID = 'https://open-inference.invalid/rest.json';
export const OIP_FIXTURE = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/open-inference-rest.json'), 'utf8')) as Fixture;

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema({ $id: FIXTURE_ID, $defs: OIP_FIXTURE.$defs });
const validators = new Map<string, ValidateFunction>();
function validator(def: string): ValidateFunction {
  let validate = validators.get(def);
  if (!validate) {
    validate = ajv.compile({ $ref: `${FIXTURE_ID}#/$defs/${def}` });
    validators.set(def, validate);
  }
  return validate;
}

/** Check `value` against one of the protocol's schemas; throws with ajv's errors. */
export function assertSchema(def: string, value: unknown, what: string): void {
  if (!(def in OIP_FIXTURE.$defs)) throw new Error(`no schema ${def} in the protocol fixture`);
  const validate = validator(def);
  if (!validate(value)) throw new Error(`${what} does not match the protocol's ${def}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 500)}`);
}

type Route = { ok: string | undefined; error: string | undefined; method: string };

/** Which of the protocol's schemas a path's answers must match. */
function routeOf(method: string, path: string): Route {
  if (path === '/v2' || path === '/v2/') return { method: 'GET', ok: 'metadata_server_response', error: 'metadata_server_error_response' };
  if (path === '/v2/health/live' || path === '/v2/health/ready') return { method: 'GET', ok: undefined, error: undefined };
  const match = /^\/v2\/models\/[^/]+(?:\/versions\/[^/]+)?(\/ready|\/infer)?$/.exec(path);
  if (!match) throw new Error(`${method} ${path} is no route of the Open Inference Protocol`);
  if (match[1] === '/ready') return { method: 'GET', ok: undefined, error: undefined };
  if (match[1] === '/infer') return { method: 'POST', ok: 'inference_response', error: 'inference_error_response' };
  return { method: 'GET', ok: 'metadata_model_response', error: 'metadata_model_error_response' };
}

export interface OipAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Call the server at `url` and validate both sides. `body` set: a POST (an inference request,
 * validated as such unless `invalidRequest` says the test sends a bad one on purpose).
 */
export async function oip(url: string, path: string, body?: unknown, options: { invalidRequest?: boolean; raw?: string } = {}): Promise<OipAnswer> {
  const route = routeOf(body === undefined && options.raw === undefined ? 'GET' : 'POST', path);
  if (body !== undefined && !options.invalidRequest) assertSchema('inference_request', body, `the test's request to ${path}`);
  const response = await fetch(`${url}${path}`, {
    method: body === undefined && options.raw === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined || options.raw !== undefined ? { body: options.raw ?? JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('application/json')) throw new Error(`${path}: answered ${response.status} with content-type ${type}, not JSON: ${text.slice(0, 200)}`);
  const parsed = JSON.parse(text) as Record<string, unknown>;
  const schema = response.status < 400 ? route.ok : route.error;
  if (schema) assertSchema(schema, parsed, `the answer ${response.status} to ${route.method} ${path}`);
  return { status: response.status, body: parsed };
}
