import { errorMessage } from '../inputs/errors';

/** The HTTP status of a dockerode error (404: no such object; 409: conflict; 304: already so). */
export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number } | undefined)?.statusCode;
}

/** The engine's own message from a dockerode error (`(HTTP code 404) … - message`). */
export function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } } | undefined)?.json;
  if (json?.message) return json.message.trim();
  const message = errorMessage(error);
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}
