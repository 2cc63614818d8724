/**
 * Markdown for job summaries and PR comments. Anything that came from a user's file (metric names,
 * values, image names) goes through `escapeCell` or `code`, so it cannot break the table, inject
 * HTML, or close a code span.
 */

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** The longest user text a cell or code span keeps: a hostile metric cannot fill a comment. */
export const CELL_LIMIT = 500;

/**
 * Every line ending CommonMark knows (LF, CR, CRLF), the Unicode line and paragraph separators,
 * NEL, and every other control character: none may end a table row or a heading early.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BREAKS_AND_CONTROLS = /\r\n|[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g;

/** One line of at most CELL_LIMIT characters; tabs and breaks become spaces. */
function oneLine(text: string): string {
  const flat = text.replace(BREAKS_AND_CONTROLS, ' ').replace(/\t/g, ' ');
  return flat.length > CELL_LIMIT ? `${flat.slice(0, CELL_LIMIT - 1)}…` : flat;
}

/**
 * Plain text for a table cell: no HTML, no pipes, no line breaks, no markdown emphasis or links,
 * no `@mention` (GitHub would notify the name), no bare URL or `www.` autolink. An empty HTML
 * comment splits the text where GitHub would otherwise act on it, and renders as nothing.
 */
export function escapeCell(text: string): string {
  return oneLine(text)
    .replace(/[&<>"]/g, (c) => HTML_ENTITIES[c]!)
    .replace(/([\\`*_[\]|~#!])/g, '\\$1')
    .replace(/@(?=[A-Za-z0-9])/g, '@<!-- -->')
    .replace(/:(?=\/\/)/g, ':<!-- -->')
    .replace(/\b(www)\./gi, '$1<!-- -->.');
}

/** An inline code span that holds any text, backticks included. GitHub neither links nor mentions inside one. */
export function code(text: string): string {
  const line = oneLine(text).replace(/\|/g, '\\|');
  const longestRun = Math.max(0, ...(line.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = line.startsWith('`') || line.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${line}${pad}${fence}`;
}

export type Align = 'left' | 'right' | 'center';
export interface Column {
  header: string;
  align?: Align;
}

/**
 * A GitHub-flavoured markdown table. Cells are taken as already-rendered markdown: escape user
 * text with `escapeCell` or `code` first.
 */
export function table(columns: (string | Column)[], rows: string[][]): string {
  const cols = columns.map((c) => (typeof c === 'string' ? { header: c } : c));
  const rule = cols.map(({ align }) => (align === 'right' ? '---:' : align === 'center' ? ':---:' : '---'));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(cols.map((c) => c.header)), line(rule), ...rows.map((row) => line(cols.map((_, i) => row[i] ?? '')))].join('\n');
}

/** A collapsible section. */
export function details(summary: string, body: string): string {
  return `<details>\n<summary>${summary}</summary>\n\n${body}\n\n</details>`;
}

/** A fenced block whose fence is longer than any backtick run inside it. */
export function fenced(language: string, body: string): string {
  const longestRun = Math.max(2, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  return `${fence}${language}\n${body}\n${fence}`;
}

/**
 * Keep `text` within `limit` characters, cutting at a line boundary and ending with `note`.
 * Used for PR comments (GitHub refuses bodies over 65,536 characters) and job summaries (1 MiB).
 */
export function truncate(text: string, limit: number, note = '_Report truncated to fit GitHub’s size limit._'): string {
  if (text.length <= limit) return text;
  const tail = `\n\n${note}\n`;
  const budget = limit - tail.length;
  if (budget <= 0) return note.slice(0, limit);
  const cut = text.lastIndexOf('\n', budget);
  let kept = text.slice(0, cut > 0 ? cut : budget);
  // Never leave an open fence (a Mermaid block or code) behind: it would swallow the note.
  const fences = kept.match(/^`{3,}/gm) ?? [];
  if (fences.length % 2 === 1) kept = kept.slice(0, kept.lastIndexOf(fences[fences.length - 1]!)).trimEnd();
  return `${kept}${tail}`;
}

/** Bytes in binary units for summaries: 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}
