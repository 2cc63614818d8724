import { InputError } from '../inputs/errors';
import { parseBoolean } from '../inputs/parse';

/** `prepare`: true or false; true goes with nothing that would change the service (rollback). */
export function parsePrepare(inputs: { prepare?: string; rollback?: string }, rollback: boolean): boolean {
  const prepare = parseBoolean('prepare', inputs.prepare?.trim() || 'false');
  if (prepare && rollback) throw new InputError('prepare', 'cannot go with rollback: true (a rollback pulls nothing; prepare only pulls)');
  return prepare;
}
