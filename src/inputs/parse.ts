import { InputError, quote } from './errors';

/**
 * Pure parsers for action inputs. Each takes the input's name (as in action.yml) and its raw
 * text, and throws an InputError naming both when the text is not acceptable.
 */

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

export function parseBoolean(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw new InputError(name, `expected true or false, got ${quote(raw)}`);
}

export function parseInteger(name: string, raw: string, { min, max }: { min?: number; max?: number } = {}): number {
  const text = raw.trim();
  if (!/^[+-]?\d+$/.test(text)) throw new InputError(name, `expected a whole number, got ${quote(raw)}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new InputError(name, `number out of range: ${quote(raw)}`);
  if (min !== undefined && value < min) throw new InputError(name, `must be at least ${min}, got ${value}`);
  if (max !== undefined && value > max) throw new InputError(name, `must be at most ${max}, got ${value}`);
  return value;
}

export function parseNumber(name: string, raw: string, { min }: { min?: number } = {}): number {
  const text = raw.trim();
  const value = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) throw new InputError(name, `expected a number, got ${quote(raw)}`);
  if (min !== undefined && value < min) throw new InputError(name, `must be at least ${min}, got ${value}`);
  return value;
}

export function parseEnum<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  const value = raw.trim();
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new InputError(name, `expected one of ${allowed.join(', ')}, got ${quote(raw)}`);
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * A duration such as `90s`, `15m`, `36h`, `7d`, `2w`, `500ms`, or a compound like `1h30m`.
 * A bare number is refused: a unit-less `ttl: 7` is too easy to misread.
 */
export function parseDuration(name: string, raw: string): number {
  const text = raw.trim().toLowerCase();
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = part.exec(text)) !== null) {
    total += Number(match[1]) * UNIT_MS[match[2] as string]!;
    consumed = part.lastIndex;
  }
  if (text === '' || consumed !== text.length) {
    throw new InputError(name, `expected a duration like 90s, 15m, 36h or 7d, got ${quote(raw)}`);
  }
  if (total <= 0) throw new InputError(name, `duration must be greater than zero, got ${quote(raw)}`);
  return Math.round(total);
}

/** A duration, or `never` (returned as `null`). */
export function parseDurationOrNever(name: string, raw: string): number | null {
  return raw.trim().toLowerCase() === 'never' ? null : parseDuration(name, raw);
}

/** Render milliseconds back in the largest whole units, for summaries: 90000 -> "1m30s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  let rest = Math.round(ms / 1000) * 1000;
  let out = '';
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}

/** Non-empty, trimmed lines; `#` starts a comment when it begins the line. */
export function parseLines(raw: string): string[] {
  return raw
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** A list given one item a line or comma-separated on one line (as docker/metadata-action accepts). */
export function parseList(raw: string): string[] {
  return parseLines(raw)
    .flatMap((line) => line.split(','))
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * Multi-line `KEY=VALUE` pairs. Values keep everything after the first `=` (they may contain `=`),
 * keys must be non-empty and unique.
 */
export function parseKeyValueLines(name: string, raw: string, { keyPattern = /^[^\s=]+$/ }: { keyPattern?: RegExp } = {}): Map<string, string> {
  const result = new Map<string, string>();
  raw.split(/\r?\n/).forEach((line, index) => {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) return;
    const eq = text.indexOf('=');
    const key = eq < 0 ? '' : text.slice(0, eq).trim();
    if (eq <= 0 || !keyPattern.test(key)) {
      // Never echo the value: env lines often carry secrets.
      throw new InputError(name, `line ${index + 1}: expected KEY=VALUE${key ? ` (key ${quote(key)})` : ''}`);
    }
    if (result.has(key)) throw new InputError(name, `line ${index + 1}: key ${quote(key)} is given twice`);
    result.set(key, text.slice(eq + 1).trim());
  });
  return result;
}
