import { describe, expect, it } from 'vitest';
import { CELL_LIMIT, code, escapeCell, fenced, formatBytes, table, truncate } from '../../src/markdown/markdown';

describe('escapeCell', () => {
  it.each([
    ['a|b', 'a\\|b'],
    ['<img src=x onerror=alert(1)>', '&lt;img src=x onerror=alert(1)&gt;'],
    ['`code`', '\\`code\\`'],
    ['line1\nline2', 'line1 line2'],
    ['**bold** [link](x)', '\\*\\*bold\\*\\* \\[link\\](x)'],
  ])('%j -> %j', (raw, escaped) => expect(escapeCell(raw)).toBe(escaped));
});

/**
 * Metric names and values come from the pull request's own code (issue 10, defect 5): every line
 * ending CommonMark knows (LF, CR, CRLF) and the Unicode separators must not end the cell, `@name`
 * must not notify anyone, a bare URL must not become a link, and a huge value must not fill the
 * comment. These failed before: a lone CR passed through and rendered a heading and a link.
 */
const LINE_BREAKS = ['\r', '\n', '\r\n', '\u2028', '\u2029', '\u0085', '\v', '\f'];

describe('hostile text in cells and code spans', () => {
  it.each(LINE_BREAKS)('%j never ends the line in escapeCell or code', (br) => {
    const hostile = `x${br}## Gate passed${br}[click](https://evil.example)`;
    for (const rendered of [escapeCell(hostile), code(hostile)]) {
      expect(rendered).not.toMatch(/[\r\n\u2028\u2029\u0085\v\f]/);
    }
  });

  it('drops other control characters', () => {
    expect(escapeCell('a\u0000b\u001bc\u007fd\u009be')).toBe('a b c d e');
    expect(code('a\u0000b')).toBe('`a b`');
  });

  it('keeps @name from becoming a mention', () => {
    const rendered = escapeCell('ping @octocat and @acme/owners');
    expect(rendered).not.toMatch(/@[A-Za-z0-9]/);
    expect(rendered.replace(/<!-- -->/g, '')).toBe('ping @octocat and @acme/owners');
  });

  it('keeps bare URLs and www. names from becoming links', () => {
    const rendered = escapeCell('see https://evil.example/x and www.evil.example');
    expect(rendered).not.toMatch(/https?:\/\//);
    expect(rendered).not.toMatch(/www\./);
    expect(rendered.replace(/<!-- -->/g, '')).toBe('see https://evil.example/x and www.evil.example');
  });

  it('escapes HTML and keeps a very long value short', () => {
    expect(escapeCell('<script>alert(1)</script>')).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(escapeCell('a'.repeat(100_000)).length).toBeLessThanOrEqual(CELL_LIMIT + 1);
    expect(code('a'.repeat(100_000)).length).toBeLessThanOrEqual(CELL_LIMIT + 4);
  });
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
    expect(table(['metric', { header: 'value', align: 'right' }], [['acc', '0.9'], ['loss']])).toBe('| metric | value |\n| --- | ---: |\n| acc | 0.9 |\n| loss |  |');
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
