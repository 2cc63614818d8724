import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse } from 'yaml';
import { repoRoot } from '../support/action-runner';

// The public interface of every action: its action.yml. Users read these names in the
// marketplace and the README; the runner reads `runs`.
const actions = readdirSync(join(repoRoot, 'actions')).filter((name) => existsSync(join(repoRoot, 'actions', name, 'action.yml')));

// The icons and colours GitHub's marketplace accepts for `branding` (a subset of Feather's icons).
const BRANDING_COLORS = ['white', 'black', 'yellow', 'blue', 'green', 'orange', 'red', 'purple', 'gray-dark'];

interface Meta {
  name: string;
  description: string;
  author?: string;
  branding?: { icon?: string; color?: string };
  inputs?: Record<string, { description?: string; required?: boolean; default?: unknown }>;
  outputs?: Record<string, { description?: string }>;
  runs: { using: string; main: string; post?: string };
}

describe.each(actions)('actions/%s/action.yml', (name) => {
  const meta = parse(readFileSync(join(repoRoot, 'actions', name, 'action.yml'), 'utf8')) as Meta;

  it('runs on node24 from its own bundle in dist/', () => {
    expect(meta.runs.using).toBe('node24');
    expect(meta.runs.main).toBe(`../../dist/${name}/index.mjs`);
    expect(existsSync(resolve(repoRoot, 'actions', name, meta.runs.main))).toBe(true);
  });

  it('has a thin entry in src/actions', () => {
    expect(existsSync(join(repoRoot, 'src/actions', `${name}.ts`))).toBe(true);
  });

  it('describes itself, every input and every output', () => {
    expect(meta.name).toBeTruthy();
    expect(meta.description).toBeTruthy();
    expect(meta.author).toBe('train-to-serve');
    expect(meta.branding?.icon).toMatch(/^[a-z0-9-]+$/);
    expect(BRANDING_COLORS).toContain(meta.branding?.color);
    for (const [input, spec] of Object.entries(meta.inputs ?? {})) expect(spec.description, `input ${input}`).toBeTruthy();
    for (const [output, spec] of Object.entries(meta.outputs ?? {})) expect(spec.description, `output ${output}`).toBeTruthy();
  });

  it('uses input and output names the entry reads', () => {
    const entry = readFileSync(join(repoRoot, 'src/actions', `${name}.ts`), 'utf8');
    for (const input of Object.keys(meta.inputs ?? {})) expect(entry, `input ${input} is never read`).toContain(`'${input}'`);
  });
});

describe('README', () => {
  it('stays an overview under 15 KB that links every action page', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    expect(Buffer.byteLength(readme)).toBeLessThan(15 * 1024);
    for (const name of actions) expect(readme).toContain(`](actions/${name}/README.md)`);
  });

  it('has every action’s inputs and outputs tables, on its own page, up to date with action.yml', () => {
    for (const name of actions) expect(readFileSync(join(repoRoot, 'actions', name, 'README.md'), 'utf8')).toContain(`<!-- action-docs:${name} -->`);
    expect(() => execFileSync(process.execPath, ['scripts/docs.mjs', '--check'], { cwd: repoRoot, stdio: 'pipe' })).not.toThrow();
  });

  it('starts with the command that runs the pipeline and the command that runs the tests', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const firstBlock = /```(?:sh|bash)\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(firstBlock).toContain('npm run demo');
    expect(firstBlock).toContain('npm test');
  });
});
