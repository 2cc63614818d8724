#!/usr/bin/env node
// Checks every relative link in every Markdown file of the repository: the file (or folder) it
// names exists, and its #anchor is a heading (or an explicit <a id>/<a name>) of the Markdown file
// it points into, slugged the way GitHub slugs headings. Links with a scheme (https:, mailto:) are
// not fetched. Links inside fenced code blocks and inline code are not links.
// Run by .ci/run; `node scripts/check-links.mjs` prints one line per broken link and exits 1.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading) {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images keep their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*]/g, '') // code and emphasis marks
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

/** The lines of a Markdown file, with the lines of fenced code blocks (fences included) as undefined. */
function outsideFences(markdown) {
  let fence;
  return markdown.split('\n').map((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (marker && marker[1][0] === fence[0] && marker[1].length >= fence.length) fence = undefined;
      return undefined;
    }
    if (marker) {
      fence = marker[1];
      return undefined;
    }
    return line;
  });
}

/** The anchors a Markdown file offers: its headings' slugs (repeats get -1, -2, …) and explicit ids. */
export function anchorsOf(markdown) {
  const anchors = new Set();
  const seen = new Map();
  for (const line of outsideFences(markdown)) {
    if (line === undefined) continue;
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const base = slug(heading[1]);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const match of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1]);
  }
  return anchors;
}

/** Each link target in a Markdown file with its line: inline links, images, reference definitions, <a href>. */
export function linksOf(markdown) {
  const links = [];
  outsideFences(markdown)
    .map((line) => (line ?? '').replace(/(`+)[^`]*?\1/g, '')) // inline code holds no links
    .forEach((line, index) => {
      const add = (target) => links.push({ line: index + 1, target: target.trim().replace(/^<|>$/g, '') });
      for (const match of line.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) add(match[1]);
      const definition = /^ {0,3}\[[^\]]+\]:\s*(\S+)/.exec(line);
      if (definition) add(definition[1]);
      for (const match of line.matchAll(/<a\s[^>]*href="([^"]+)"/g)) add(match[1]);
    });
  return links;
}

const isExternal = (target) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

/** Problems in the links of these Markdown files (paths relative to root), one line each. */
export function checkLinks(root, files) {
  const anchorCache = new Map();
  const anchorsIn = (path) => {
    if (!anchorCache.has(path)) anchorCache.set(path, anchorsOf(readFileSync(path, 'utf8')));
    return anchorCache.get(path);
  };
  const problems = [];
  for (const file of files) {
    const path = join(root, file);
    for (const { line, target } of linksOf(readFileSync(path, 'utf8'))) {
      if (isExternal(target)) continue;
      const hash = target.indexOf('#');
      const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const where = `${file}:${line}: ${target}`;
      const destination = pathPart === '' ? path : pathPart.startsWith('/') ? join(root, pathPart) : resolve(dirname(path), pathPart);
      if (relative(root, destination).startsWith('..')) {
        problems.push(`${where}: points outside the repository`);
        continue;
      }
      if (!existsSync(destination)) {
        problems.push(`${where}: ${relative(root, destination)} does not exist`);
        continue;
      }
      if (anchor === undefined || anchor === '') continue;
      if (statSync(destination).isDirectory() || !destination.endsWith('.md')) {
        problems.push(`${where}: an anchor into ${relative(root, destination)}, which is not a Markdown file`);
      } else if (!anchorsIn(destination).has(anchor)) {
        problems.push(`${where}: ${relative(root, destination)} has no heading for #${anchor}`);
      }
    }
  }
  return problems;
}

/** The repository's Markdown files: tracked, plus new ones git does not ignore. */
export function markdownFiles(root) {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z', '--', '*.md'], { cwd: root, encoding: 'utf8' });
  return [...new Set(out.split('\0').filter((file) => file !== '' && existsSync(join(root, file))))].sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const files = markdownFiles(root);
  const problems = checkLinks(root, files);
  for (const problem of problems) console.log(problem);
  console.log(`links: ${files.length} Markdown file(s), ${problems.length} broken link(s)`);
  process.exit(problems.length ? 1 : 0);
}
