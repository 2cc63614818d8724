#!/usr/bin/env node
// The release workflow's tag check and notes (.github/workflows/release.yml):
//
//   node scripts/release-notes.mjs v1.2.3 [--notes FILE]
//
// Checks that the tag is vX.Y.Z (an optional -pre-release suffix), that X.Y.Z is package.json's
// version, and that CHANGELOG.md has a dated, non-empty `## [X.Y.Z] - YYYY-MM-DD` section. Prints
// that section (or writes it to FILE: the release's notes) and, under GitHub Actions, sets the
// step outputs version, major (v1) and prerelease (true/false). Exits 1 with one line otherwise.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TAG = /^v((0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?)$/;
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The body of the `## [version]` section of a Keep a Changelog file, and its date (undefined when it has none). */
export function changelogSection(changelog, version) {
  const lines = changelog.split(/\r?\n/);
  const heading = new RegExp(`^## \\[${escape(version)}\\](.*)$`);
  const start = lines.findIndex((line) => heading.test(line));
  if (start < 0) return undefined;
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => /^## /.test(line) || /^\[[^\]]+\]:\s/.test(line));
  const body = (end < 0 ? rest : rest.slice(0, end)).join('\n').trim();
  const date = /^\s*-\s*(\d{4}-\d{2}-\d{2})\s*$/.exec(heading.exec(lines[start])[1])?.[1];
  return { body, date };
}

/** Checks a release tag against package.json's version and the changelog; returns what the workflow needs. */
export function releaseOf(tag, { packageVersion, changelog }) {
  const match = TAG.exec(tag);
  if (!match) throw new Error(`tag "${tag}" is not vX.Y.Z (or vX.Y.Z-pre.release)`);
  const version = match[1];
  if (version !== packageVersion) throw new Error(`tag ${tag} is version ${version}, but package.json says ${packageVersion}: set the version and tag that commit`);
  const section = changelogSection(changelog, version);
  if (!section) throw new Error(`CHANGELOG.md has no "## [${version}] - YYYY-MM-DD" section`);
  if (!section.date) throw new Error(`CHANGELOG.md's section for ${version} has no release date ("## [${version}] - YYYY-MM-DD")`);
  if (!section.body) throw new Error(`CHANGELOG.md's section for ${version} is empty`);
  return { version, major: `v${match[2]}`, prerelease: match[5] !== undefined, notes: `${section.body}\n` };
}

function main(argv) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const tag = argv[0];
  const notesAt = argv.indexOf('--notes');
  const notesFile = notesAt >= 0 ? argv[notesAt + 1] : undefined;
  if (!tag || tag.startsWith('--') || (notesAt >= 0 && !notesFile)) {
    console.error('usage: node scripts/release-notes.mjs vX.Y.Z [--notes FILE]');
    return 2;
  }
  let release;
  try {
    release = releaseOf(tag, {
      packageVersion: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version,
      changelog: readFileSync(join(root, 'CHANGELOG.md'), 'utf8'),
    });
  } catch (error) {
    console.error(`release ${tag}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  if (notesFile) writeFileSync(notesFile, release.notes);
  else process.stdout.write(release.notes);
  if (process.env.GITHUB_OUTPUT) {
    appendFileSync(process.env.GITHUB_OUTPUT, `version=${release.version}\nmajor=${release.major}\nprerelease=${release.prerelease}\n`);
  }
  console.error(`release ${tag}: version ${release.version}, major tag ${release.prerelease ? 'not moved (a pre-release)' : release.major}`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exit(main(process.argv.slice(2)));
