import { describe, expect, it } from 'vitest';
import { code, escapeCell, fenced, formatBytes, table, truncate } from '../../src/markdown/markdown';

describe('escapeCell', () => {
  it.each([
    ['a|b', 'a\\|b'],
    ['<img src=x onerror=alert(1)>', '&lt;img src=x onerror=alert(1)&gt;'],
    ['`code`', '\\`code\\`'],
    ['line1\nline2', 'line1 line2'],
    ['**bold** [link](x)', '\\*\\*bold\\*\\* \\[link\\](x)'],
  ])('%j -> %j', (raw, escaped) => expect(escapeCell(raw)).toBe(escaped));
});

describe('code', () => {
  it('wraps text containing backticks in a longer fence', () => {
    expect(code('a`b')).toBe('``a`b``');
    expect(code('`x`')).toBe('`` `x` ``');
    expect(code('a|b')).toBe('`a\\|b`');
  });
});

describe('table', () => {
  it('renders a header, alignment row and rows, padding short rows', () => {
    expect(table(['metric', { header: 'value', align: 'right' }], [['acc', '0.9'], ['loss']])).toBe(
      '| metric | value |\n| --- | ---: |\n| acc | 0.9 |\n| loss |  |',
    );
  });
});

describe('fenced', () => {
  it('uses a fence longer than any run inside', () => {
    expect(fenced('mermaid', 'a\n```\nb')).toBe('````mermaid\na\n```\nb\n````');
  });
});

describe('truncate', () => {
  it('leaves short text alone', () => expect(truncate('abc', 10)).toBe('abc'));
  it('cuts at a line boundary, stays within the limit and ends with the note', () => {
    const text = Array.from({ length: 1000 }, (_, i) => `| row ${i} |`).join('\n');
    const cut = truncate(text, 2000, 'NOTE');
    expect(cut.length).toBeLessThanOrEqual(2000);
    expect(cut.endsWith('NOTE\n')).toBe(true);
    expect(cut).toMatch(/\| row \d+ \|\n\nNOTE\n$/);
  });
  it('never leaves a code fence open', () => {
    const text = `intro\n\`\`\`mermaid\n${'x\n'.repeat(500)}\`\`\`\nafter`;
    const cut = truncate(text, 300, 'NOTE');
    expect((cut.match(/^```/gm) ?? []).length % 2).toBe(0);
    expect(cut).toContain('NOTE');
  });
});

describe('formatBytes', () => {
  it.each([
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [1073741824, '1.0 GiB'],
    [200 * 1024 * 1024, '200 MiB'],
  ])('%d -> %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});
