// The relative-link checker (scripts/check-links.mjs) on small Markdown trees, and on this
// repository's own Markdown files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { anchorsOf, checkLinks, linksOf, markdownFiles, slug } from '../../scripts/check-links.mjs';

const repo = join(import.meta.dirname, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'tts-links-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('slug', () => {
  it.each([
    ['engine: swarm (Docker Swarm)', 'engine-swarm-docker-swarm'],
    ["What Traefik's polling means", 'what-traefiks-polling-means'],
    ['Running Traefik beside it', 'running-traefik-beside-it'],
    ['`publish` and **docker/metadata-action**', 'publish-and-dockermetadata-action'],
    ['[1.0.0] - 2026-12-01', '100---2026-12-01'],
    ['snake_case stays', 'snake_case-stays'],
    ['Ünïcode letters', 'ünïcode-letters'],
    ['A [link](https://example.com) in a heading', 'a-link-in-a-heading'],
  ])('%s → %s', (heading, expected) => {
    expect(slug(heading)).toBe(expected);
  });
});

describe('anchorsOf and linksOf', () => {
  const markdown = [
    '# Title',
    '## Usage',
    '## Usage',
    '<a id="custom"></a>',
    '```yaml',
    '# not a heading',
    'see [not a link](nowhere.md)',
    '```',
    'Text with [a link](other.md#usage), `[code](nowhere.md)`, ![img](pic.png "title") and',
    '[ref]: ref.md',
    '<a href="page.md#x">html</a> and [external](https://example.com/x.md).',
  ].join('\n');

  it('slugs headings outside code, numbering repeats, and takes explicit anchors', () => {
    expect([...anchorsOf(markdown)]).toEqual(['title', 'usage', 'usage-1', 'custom']);
  });

  it('finds links outside code blocks and inline code', () => {
    expect(linksOf(markdown)).toEqual([
      { line: 9, target: 'other.md#usage' },
      { line: 9, target: 'pic.png' },
      { line: 10, target: 'ref.md' },
      { line: 11, target: 'https://example.com/x.md' },
      { line: 11, target: 'page.md#x' },
    ]);
  });
});

describe('checkLinks', () => {
  it('names each broken link by file and line, and passes the good ones', () => {
    const root = join(scratch, 'tree');
    mkdirSync(join(root, 'docs'), { recursive: true });
    mkdirSync(join(root, 'actions/deploy'), { recursive: true });
    writeFileSync(join(root, 'LICENSE'), 'MIT');
    writeFileSync(join(root, 'docs/traefik.md'), '# Traefik\n\n## Running Traefik beside it\n');
    writeFileSync(
      join(root, 'README.md'),
      [
        '# Project',
        '[ok](docs/traefik.md#running-traefik-beside-it) [ok too](LICENSE) [folder](actions/deploy) [self](#project) [web](https://example.com)',
        '[gone](docs/serving.md)',
        '[bad anchor](docs/traefik.md#running-traefik)',
        '[bad self](#nothing)',
        '[anchor into a file that is not markdown](LICENSE#x)',
        '[outside](../elsewhere.md)',
      ].join('\n'),
    );
    writeFileSync(join(root, 'actions/deploy/README.md'), '[up](../../docs/traefik.md#traefik) [wrong depth](../docs/traefik.md)\n');
    expect(checkLinks(root, ['README.md', 'actions/deploy/README.md'])).toEqual([
      'README.md:3: docs/serving.md: docs/serving.md does not exist',
      'README.md:4: docs/traefik.md#running-traefik: docs/traefik.md has no heading for #running-traefik',
      'README.md:5: #nothing: README.md has no heading for #nothing',
      'README.md:6: LICENSE#x: an anchor into LICENSE, which is not a Markdown file',
      'README.md:7: ../elsewhere.md: points outside the repository',
      'actions/deploy/README.md:1: ../docs/traefik.md: actions/docs/traefik.md does not exist',
    ]);
  });

  it("finds no broken link in this repository's Markdown files", () => {
    const files = markdownFiles(repo);
    expect(files).toEqual(expect.arrayContaining(['README.md', 'actions/publish/README.md', 'docs/traefik.md']));
    expect(checkLinks(repo, files)).toEqual([]);
  });
});
