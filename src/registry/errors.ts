import { ResourceError } from '../inputs/errors';

/** A registry answered something other than what the operation needs. */
export class RegistryError extends ResourceError {
  constructor(
    resource: string,
    problem: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(resource, problem);
  }
}

/**
 * The registry (or its token service) refused the credentials, or they do not grant what the
 * operation needs. Entries turn this into an error that names their credential inputs.
 */
export class RegistryAuthError extends RegistryError {}

/** The registry's own error text: `{"errors":[{"code":"…","message":"…"}]}` as the spec writes it. */
export function describeRegistryErrors(body: string): { code?: string; message?: string } {
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: string; message?: string; detail?: unknown }[] };
    const first = parsed.errors?.[0];
    if (first) return { code: first.code, message: [first.code, first.message].filter(Boolean).join(': ') };
  } catch {
    // not JSON: fall through to the raw text
  }
  const text = body.trim().replace(/\s+/g, ' ');
  return { message: text ? text.slice(0, 200) : undefined };
}
