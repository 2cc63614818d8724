import { execFile } from 'node:child_process';
import { InputError, quote } from '../inputs/errors';
import { isTag, parseImageReference, repositoryName, type ImageReference } from '../registry/reference';
import { Label } from './compose';

/**
 * Where an image came from, as labels, and its default tags. The creation time is the commit's
 * time, never the clock's, so publishing the same commit twice gives the same digest.
 */
export interface Provenance {
  /** `https://github.com/acme/iris` */
  sourceUrl?: string;
  /** The commit the model was trained and gated on. */
  revision: string;
  created: string;
}

/** The toolkit's labels; `withProvenance` lays the user's under them. */
export function toolkitLabels(provenance: Provenance, metricsJson: string | undefined, modelDir: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (provenance.sourceUrl) labels[Label.source] = provenance.sourceUrl;
  if (provenance.revision) labels[Label.revision] = provenance.revision;
  labels[Label.created] = provenance.created;
  labels[Label.modelDir] = `/${modelDir}`;
  if (metricsJson !== undefined) labels[Label.metrics] = metricsJson;
  return labels;
}

/**
 * The user's labels (or annotations) with the toolkit's own laid over them: promote trusts the
 * revision, gate the metrics, so no input may forge them. `ignored` names the keys the user gave
 * that the toolkit owns (a different value, or one the toolkit leaves out on purpose), for a warning.
 */
export function withProvenance(user: Map<string, string>, toolkit: Record<string, string>): { merged: Record<string, string>; ignored: string[] } {
  const owned = new Set<string>([...Object.values(Label), ...Object.keys(toolkit)]);
  const merged = new Map<string, string>();
  const ignored: string[] = [];
  for (const [key, value] of user) {
    if (!owned.has(key)) merged.set(key, value);
    else if (toolkit[key] !== value) ignored.push(key);
  }
  for (const [key, value] of Object.entries(toolkit)) merged.set(key, value);
  // fromEntries defines own properties: a `__proto__` label stays a label.
  return { merged: Object.fromEntries(merged), ignored };
}

/** `sha-<7>` of the revision, and `pr-<n>` on pull requests (the tag promote looks for). */
export function defaultTags(revision: string, pullRequestNumber: number | undefined): string[] {
  const tags: string[] = [];
  if (revision) tags.push(`sha-${revision.slice(0, 7)}`);
  if (pullRequestNumber !== undefined) tags.push(`pr-${pullRequestNumber}`);
  return tags;
}

export function parseTags(input: string, items: string[]): string[] {
  if (items.length === 0) throw new InputError(input, 'names no tags');
  for (const tag of items) {
    if (!isTag(tag)) throw new InputError(input, `${quote(tag)} is not a valid tag (letters, digits, _ . -; at most 128; not starting with . or -)`);
  }
  return [...new Set(items)];
}

/**
 * publish's `tags`: bare tags, or full references into the target repository, as
 * docker/metadata-action's `tags` output writes them (`ghcr.io/acme/iris:pr-17`). An item with a
 * `/`, `:` or `@` is a reference: it must name the target repository and a tag, since publish
 * pushes one manifest to one repository.
 */
export function parsePublishTags(input: string, items: string[], target: ImageReference): string[] {
  const tags = items.map((item) => {
    if (!/[/:@]/.test(item)) return item;
    const reference = parseImageReference(item, input, { tag: true, digest: false });
    if (reference.registry !== target.registry || reference.repository !== target.repository) {
      throw new InputError(input, `${quote(item)} is in ${repositoryName(reference)}, not in ${repositoryName(target)} (the image input): publish pushes to that one repository`);
    }
    if (reference.tag === undefined) throw new InputError(input, `${quote(item)} names no tag (write ${repositoryName(target)}:TAG, or only TAG)`);
    return reference.tag;
  });
  return parseTags(input, tags);
}

const RFC3339 = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');

function gitCommitTime(cwd: string, revision: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['show', '-s', '--format=%ct', revision], { cwd, timeout: 10_000 }, (error, stdout) => {
      const seconds = Number(stdout.trim());
      resolve(error || !Number.isInteger(seconds) || seconds <= 0 ? undefined : seconds);
    });
  });
}

/**
 * The commit time as RFC 3339: SOURCE_DATE_EPOCH when set (the reproducible-builds convention),
 * else `git show` of the revision (or HEAD) in the workspace, else the push event's head commit
 * time. Undefined when none of those knows it.
 */
export async function commitTime(options: { env: NodeJS.ProcessEnv; workspace: string; revisions: string[]; payload: Record<string, unknown> }): Promise<string | undefined> {
  const epoch = options.env.SOURCE_DATE_EPOCH?.trim();
  if (epoch && /^\d+$/.test(epoch)) return RFC3339(Number(epoch));
  for (const revision of [...options.revisions.filter(Boolean), 'HEAD']) {
    const seconds = await gitCommitTime(options.workspace, revision);
    if (seconds !== undefined) return RFC3339(seconds);
  }
  const headCommit = options.payload.head_commit as { timestamp?: unknown } | undefined;
  if (typeof headCommit?.timestamp === 'string' && !Number.isNaN(Date.parse(headCommit.timestamp))) {
    return RFC3339(Math.floor(Date.parse(headCommit.timestamp) / 1000));
  }
  return undefined;
}
