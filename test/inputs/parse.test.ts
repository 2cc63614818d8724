import { describe, expect, it } from 'vitest';
import { formatDuration, parseBoolean, parseDuration, parseDurationOrNever, parseEnum, parseInteger, parseKeyValueLines, parseList, parseNumber } from '../../src/inputs/parse';
import { InputError, errorMessage, quote } from '../../src/inputs/errors';

describe('parseBoolean', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    [' yes ', true],
    ['1', true],
    ['false', false],
    ['off', false],
    ['0', false],
  ])('%j -> %j', (raw, expected) => expect(parseBoolean('comment', raw)).toBe(expected));

  it('names the input and the value on anything else', () => {
    expect(() => parseBoolean('comment', 'maybe')).toThrow('Input "comment": expected true or false, got "maybe"');
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['36h', 129_600_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['500ms', 500],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    [' 10S ', 10_000],
  ])('%j -> %d ms', (raw, ms) => expect(parseDuration('ttl', raw)).toBe(ms));

  it.each(['', '7', 'seven days', '7 d', '-5m', '5x', '0s', 'm5'])('refuses %j, naming the input', (raw) => {
    expect(() => parseDuration('ttl', raw)).toThrow(/^Input "ttl": /);
  });

  it('takes never as no expiry', () => {
    expect(parseDurationOrNever('ttl', 'never')).toBeNull();
    expect(parseDurationOrNever('ttl', '1d')).toBe(86_400_000);
  });

  it.each([
    [500, '500ms'],
    [90_000, '1m30s'],
    [604_800_000, '7d'],
    [90_061_000, '1d1h1m1s'],
  ])('formats %d as %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('numbers and enums', () => {
  it('parses whole numbers within bounds', () => {
    expect(parseInteger('replicas', '3', { min: 1 })).toBe(3);
    expect(() => parseInteger('replicas', '0', { min: 1 })).toThrow('Input "replicas": must be at least 1, got 0');
    expect(() => parseInteger('replicas', '2.5')).toThrow('Input "replicas": expected a whole number, got "2.5"');
    expect(() => parseInteger('port', '70000', { max: 65535 })).toThrow('must be at most 65535');
  });
  it('parses finite numbers only', () => {
    expect(parseNumber('min-free-memory', '1024.5')).toBe(1024.5);
    expect(() => parseNumber('min-free-memory', 'Infinity')).toThrow('expected a number');
    expect(() => parseNumber('min-free-memory', '')).toThrow('expected a number');
  });
  it('accepts only listed values', () => {
    expect(parseEnum('engine', 'swarm', ['docker', 'swarm'] as const)).toBe('swarm');
    expect(() => parseEnum('engine', 'k8s', ['docker', 'swarm'] as const)).toThrow('Input "engine": expected one of docker, swarm, got "k8s"');
  });
});

describe('lists', () => {
  it('reads one item a line or comma-separated, skipping comments and blanks', () => {
    expect(parseList('a, b\n\n# note\nc\n')).toEqual(['a', 'b', 'c']);
  });
});

describe('parseKeyValueLines', () => {
  it('keeps everything after the first = in the value', () => {
    const env = parseKeyValueLines('env', 'A=1\n# comment\n\nDSN=postgres://u:p@h/db?x=y\nEMPTY=\n');
    expect([...env]).toEqual([
      ['A', '1'],
      ['DSN', 'postgres://u:p@h/db?x=y'],
      ['EMPTY', ''],
    ]);
  });
  it('names the line of a malformed entry without echoing its value', () => {
    expect(() => parseKeyValueLines('env', 'A=1\nsecret-token-value')).toThrow('Input "env": line 2: expected KEY=VALUE');
    try {
      parseKeyValueLines('env', 'A=1\nsecret-token-value');
    } catch (error) {
      expect(errorMessage(error)).not.toContain('secret-token-value');
    }
    expect(() => parseKeyValueLines('env', '=x')).toThrow('line 1');
  });
  it('refuses a key given twice', () => {
    expect(() => parseKeyValueLines('env', 'A=1\nA=2')).toThrow('Input "env": line 2: key "A" is given twice');
  });
  it('applies a key pattern', () => {
    expect(() => parseKeyValueLines('labels', 'Bad Key=1', { keyPattern: /^[a-z.]+$/ })).toThrow(InputError);
  });
});

describe('error helpers', () => {
  it('quotes long and multi-line values on one line', () => {
    expect(quote('a\nb')).toBe('"a\\\\nb"');
    expect(quote('x'.repeat(100), 10)).toBe(`"${'x'.repeat(10)}…"`);
  });
  it('gives a message for anything thrown', () => {
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage({ code: 1 })).toBe('{"code":1}');
  });
});
