import { truncate } from '../markdown/markdown';
import type { GitHubClient } from './client';
import { sameLogin, tokenLogin } from './identity';

/**
 * Sticky pull request comments: one comment per key, found again by a hidden marker on its first
 * line, searched across every page of the PR's comments, and updated in place. Two writers racing
 * on the same key settle on the oldest comment: the newer one deletes its own copy.
 */

export const COMMENT_BODY_LIMIT = 65_536;

export interface IssueRef {
  owner: string;
  repo: string;
  issueNumber: number;
}

export interface StickyComment {
  id: number;
  author: string;
  url: string;
  body: string;
}

export interface UpsertResult {
  id: number;
  url: string;
  action: 'created' | 'updated';
}

/** The hidden first line of a sticky comment. The key is percent-encoded, so no key can end the HTML comment early. */
export function stickyCommentMarker(key: string): string {
  const encoded = encodeURIComponent(key).replace(/[-!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `<!-- train-to-serve:sticky-comment key=${encoded} -->`;
}

function hasMarker(body: string | undefined | null, marker: string): boolean {
  return typeof body === 'string' && (body === marker || body.startsWith(`${marker}\n`) || body.startsWith(`${marker}\r\n`));
}

/** Every comment on the issue that `author` wrote with the key's marker, oldest first. */
async function listStickyComments(client: GitHubClient, ref: IssueRef, marker: string, author: string, firstOnly: boolean): Promise<StickyComment[]> {
  const found: StickyComment[] = [];
  const pages = client.paginate.iterator(client.rest.issues.listComments, { owner: ref.owner, repo: ref.repo, issue_number: ref.issueNumber, per_page: 100 });
  for await (const { data } of pages) {
    for (const comment of data) {
      if (hasMarker(comment.body, marker) && sameLogin(comment.user?.login, author)) found.push({ id: comment.id, author: comment.user!.login, url: comment.html_url, body: comment.body ?? '' });
    }
    if (firstOnly && found.length > 0) break;
  }
  return found.sort((a, b) => a.id - b.id);
}

/** The key's comment written by `author` (default: the login the token acts as). */
export async function findStickyComment(client: GitHubClient, ref: IssueRef & { key: string; author?: string }): Promise<StickyComment | undefined> {
  const author = ref.author ?? (await tokenLogin(client));
  if (!author) return undefined;
  return (await listStickyComments(client, ref, stickyCommentMarker(ref.key), author, true))[0];
}

/**
 * Create or update the one comment for `key`. `body` is the visible markdown; it is cut to fit
 * GitHub's limit together with the marker.
 */
export async function upsertStickyComment(client: GitHubClient, ref: IssueRef & { key: string; body: string; author?: string }): Promise<UpsertResult> {
  const marker = stickyCommentMarker(ref.key);
  const body = `${marker}\n${truncate(ref.body, COMMENT_BODY_LIMIT - marker.length - 1)}`;
  const params = { owner: ref.owner, repo: ref.repo };

  // Without a login (neither GET /user nor GraphQL answered), nothing found is trusted: the
  // comment created below names its author, and the oldest of that author's wins.
  const author = ref.author ?? (await tokenLogin(client));
  const existing = author ? await findStickyComment(client, { ...ref, author }) : undefined;
  if (existing) {
    const { data } = await client.rest.issues.updateComment({ ...params, comment_id: existing.id, body });
    return { id: data.id, url: data.html_url, action: 'updated' };
  }

  const { data: created } = await client.rest.issues.createComment({ ...params, issue_number: ref.issueNumber, body });
  // Another run with the same key may have created its comment meanwhile: keep the oldest.
  const all = await listStickyComments(client, ref, marker, created.user?.login ?? author ?? '', false);
  const oldest = all[0];
  if (oldest && oldest.id !== created.id) {
    await client.rest.issues.deleteComment({ ...params, comment_id: created.id });
    const { data } = await client.rest.issues.updateComment({ ...params, comment_id: oldest.id, body });
    return { id: data.id, url: data.html_url, action: 'updated' };
  }
  return { id: created.id, url: created.html_url, action: 'created' };
}
