/**
 * Reading `nvidia-smi --query-*` CSV as drivers really print it: with or without a header, with
 * or without units in the values, header names in their canonical spelling (`name` where
 * `gpu_name` was asked), and a value missing in many spellings (`[N/A]`, bare `N/A`,
 * `[Not Supported]`, `[Unknown Error]`, `[Requested functionality has been deprecated]`, …).
 */

/** Alternative names nvidia-smi accepts for a field; the header always prints the canonical one. */
const ALIASES: Record<string, string> = {
  gpu_name: 'name',
  gpu_uuid: 'uuid',
  gpu_bus_id: 'pci.bus_id',
  gpu_serial: 'serial',
  'clocks.gr': 'clocks.current.graphics',
  'clocks.sm': 'clocks.current.sm',
  'clocks.mem': 'clocks.current.memory',
  'clocks.video': 'clocks.current.video',
};

export function canonicalField(name: string): string {
  const field = name.trim();
  return ALIASES[field] ?? field;
}

/** A cell with no value: what nvidia-smi printed instead. Never a number, never 0. */
export interface Missing {
  missing: string;
}

export type Cell = string | Missing;

export const isMissing = (cell: Cell | undefined): cell is Missing => typeof cell === 'object';

/** `[anything]` or bare `N/A`; an empty cell is missing too. */
const NOT_A_VALUE = /^\[[^\]]*\]$|^N\/A$|^$/i;

/** A header cell: a field name (`pci.baseClass` has capitals), with its unit in brackets (`[MiB]`, `[W/s]`). */
const HEADER_CELL = /^([a-z][A-Za-z0-9_.]*)(?: \[([^\]]+)\])?$/;

export interface QueryTable {
  /** Canonical field names, in column order. */
  fields: string[];
  /** The unit the header names per field (`MiB`, `%`), when there is a header. */
  units: Record<string, string>;
  rows: { line: string; cells: Record<string, Cell> }[];
}

export class CsvError extends Error {
  override readonly name = 'CsvError';
}

const shorten = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max)}…` : text);

function isHeader(line: string): boolean {
  return line.split(',').every((cell) => HEADER_CELL.test(cell.trim()));
}

/**
 * Split `--query-*` output into rows keyed by canonical field name. With a header the header
 * decides the columns (a driver that reorders or renames is read right). Without one the columns
 * are `asked`, in order, for output of a `noheader` command; with `asked` undefined a header is
 * required, so other output is never read by position. Blank lines are skipped. A row with more
 * cells than columns has a comma in its one free-text field (`freeText`, the product name),
 * which gets the extra cells back.
 */
export function readQueryCsv(text: string, asked?: readonly string[], freeText = 'name'): QueryTable {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const units: Record<string, string> = {};
  let fields = (asked ?? []).map(canonicalField);
  if (lines.length > 0 && !isHeader(lines[0]!) && asked === undefined) {
    throw new CsvError(`printed ${JSON.stringify(shorten(lines[0]!))} where the CSV header was expected`);
  }
  if (lines.length > 0 && isHeader(lines[0]!)) {
    fields = lines
      .shift()!
      .split(',')
      .map((cell) => {
        const [, name, unit] = HEADER_CELL.exec(cell.trim())!;
        const field = canonicalField(name!);
        if (unit) units[field] = unit;
        return field;
      });
  }
  const rows = lines.map((line) => {
    let parts = line.split(',').map((cell) => cell.trim());
    const extra = parts.length - fields.length;
    const at = fields.indexOf(freeText);
    if (extra > 0 && at >= 0) parts = [...parts.slice(0, at), parts.slice(at, at + extra + 1).join(', '), ...parts.slice(at + extra + 1)];
    if (parts.length !== fields.length) {
      throw new CsvError(`printed ${JSON.stringify(shorten(line))}, which is not a row of the ${fields.length} fields ${shorten(fields.join(', '))}`);
    }
    const cells: Record<string, Cell> = {};
    fields.forEach((field, i) => (cells[field] = NOT_A_VALUE.test(parts[i]!) ? { missing: parts[i]! || '(empty)' } : parts[i]!));
    return { line, cells };
  });
  return { fields, units, rows };
}

/**
 * A cell as a number in `unit`: `81559`, or `81559 MiB` from `--format=csv` without nounits.
 * A missing cell is null. Any other text, or another unit, is an error, never a guess.
 */
export function numberCell(cell: Cell | undefined, field: string, unit: string): number | null {
  if (cell === undefined || isMissing(cell)) return null;
  const match = /^(-?\d+(?:\.\d+)?)(?: (\S+))?$/.exec(cell);
  if (!match || (match[2] !== undefined && match[2] !== unit)) throw new CsvError(`printed ${JSON.stringify(cell)} for ${field}, which is not a number of ${unit}`);
  return Number(match[1]);
}
