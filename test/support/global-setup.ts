import { execFileSync } from 'node:child_process';
import { repoRoot } from './action-runner';

/**
 * Bundles are rebuilt before the tests start them, so a test always runs the code under test;
 * CI then fails if the rebuilt dist/ differs from the committed one.
 */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'inherit' });
}
