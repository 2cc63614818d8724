/**
 * A bad input: names the input and says what was wrong with it, in one line.
 * Entries print it as the step's single failure message; nothing has been changed when it is thrown.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    readonly input: string,
    readonly problem: string,
  ) {
    super(`Input "${input}": ${problem}`);
  }
}

/** A resource the action touched (a file, an image, a container, an API) is not as required. */
export class ResourceError extends Error {
  override readonly name = 'ResourceError';
  constructor(
    readonly resource: string,
    readonly problem: string,
  ) {
    super(`${resource}: ${problem}`);
  }
}

/** The message of anything thrown, for the one place an action fails. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

/** Quote a user value for an error message, shortened so one bad input cannot flood the log. */
export function quote(value: string, max = 80): string {
  const oneLine = value.replace(/\r?\n/g, '\\n');
  return JSON.stringify(oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine);
}
