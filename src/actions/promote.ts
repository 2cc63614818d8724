import { InputError, ResourceError } from '../inputs/errors';
import { formatDuration, parseBoolean, parseList } from '../inputs/parse';
import { code, escapeCell, table } from '../markdown/markdown';
import { createGitHubClient, type GitHubClient } from '../github/client';
import { describeGitHubError } from '../github/errors';
import { findPullRequestForCommit } from '../github/pulls';
import { GATE_STATUS_CONTEXT, readGateStatus } from '../github/statuses';
import { parseTags } from '../image/provenance';
import { chooseSource, parseSource, promoteImage, type PromotedImage, type PromoteResult } from '../image/promote';
import { parseImageReference, repositoryName } from '../registry/reference';
import { explainAuthError, parseCredentialInputs, resolveCredentials } from '../registry/credentials';
import { readRunContext, type RunContext } from '../runtime/context';
import { input, inputOrDefault, log, maskSecret, runAction, secretInput, setOutputs, writeSummary } from '../runtime/action';

interface Inputs {
  image: string;
  source: string | undefined;
  targets: string;
  'require-gate': boolean;
  'registry-username': string | undefined;
  'registry-password': string | undefined;
  'github-token': string | undefined;
}

function getInputs(): Inputs {
  const image = input('image');
  if (image === undefined) throw new InputError('image', 'is required');
  const source = input('source');
  return {
    'registry-password': secretInput('registry-password'),
    'github-token': secretInput('github-token'),
    'registry-username': input('registry-username')?.trim(),
    image: image.trim(),
    source: source === undefined ? undefined : parseSource('source', source),
    targets: inputOrDefault('targets', 'production'),
    'require-gate': parseBoolean('require-gate', inputOrDefault('require-gate', 'true')),
  };
}

interface GateVerdict {
  revision: string;
  state: string;
}

/** The merged pull request whose head commit the promoted image must be built from. */
interface MergedHead {
  number: number;
  sha: string;
}

async function checkGate(client: GitHubClient, context: RunContext, image: PromotedImage, merged: MergedHead | undefined): Promise<GateVerdict[]> {
  const { repository } = context;
  if (!repository) throw new InputError('require-gate', 'is true, but there is no GITHUB_REPOSITORY whose commit statuses could be read');
  if (image.revisions.length === 0 || image.unlabelled > 0) {
    throw new ResourceError(
      `Image ${image.image}`,
      `has no org.opencontainers.image.revision label${image.revisions.length ? ' on every platform' : ''}, so its gate cannot be checked (publish records it; require-gate: false skips the check)`,
    );
  }
  // A skipped or failed publish of the last push leaves pr-N on an earlier commit, whose gate may
  // have passed: what was merged is the head, so only an image of the head is promoted.
  const stale = merged ? image.revisions.find((revision) => revision !== merged.sha) : undefined;
  if (merged && stale) {
    throw new ResourceError(
      `Image ${image.image}`,
      `its revision, commit ${stale}, is not the head of pull request #${merged.number}, commit ${merged.sha}, that was merged: not promoted (publish the head commit's image; require-gate: false skips this check)`,
    );
  }
  const verdicts: GateVerdict[] = [];
  for (const revision of image.revisions) {
    let state: string;
    try {
      state = (await readGateStatus(client, { owner: repository.owner, repo: repository.repo, sha: revision })).state;
    } catch (error) {
      throw new ResourceError(`GitHub commit ${revision}`, `its ${GATE_STATUS_CONTEXT} status could not be read: ${describeGitHubError(error)}`);
    }
    if (state !== 'success') {
      const why = state === 'missing' ? `has no ${GATE_STATUS_CONTEXT} status` : `has ${GATE_STATUS_CONTEXT} status "${state}", not "success"`;
      throw new ResourceError(`Image ${image.image}`, `its revision, commit ${revision}, ${why}: not promoted (require-gate: false skips this check)`);
    }
    verdicts.push({ revision, state });
  }
  return verdicts;
}

function summary(result: PromoteResult, sourceText: string, gate: GateVerdict[] | undefined, repository: string): string {
  return [
    '## Promoted model image',
    '',
    table(
      ['', ''],
      [
        ['Image', code(result.image)],
        ['Source', `${code(`${repository}:${sourceText}`)}`],
        ['Gate', gate ? gate.map((g) => `${code(g.revision.slice(0, 12))} ${escapeCell(g.state)}`).join(', ') : 'not checked (require-gate: false)'],
        ['Layer bytes moved', '0 (the manifest is copied by digest)'],
        ['Time', formatDuration(result.durationMs)],
      ],
    ),
    '',
    table(
      ['Tag', 'Now', 'Before'],
      result.targets.map((t) => [code(t.tag), code(result.digest.slice(0, 19)), t.previous ? (t.previous === result.digest ? 'unchanged' : code(t.previous.slice(0, 19))) : 'new tag']),
    ),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const inputs = getInputs();
  const context = readRunContext();
  const image = parseImageReference(inputs.image, 'image', { tag: false, digest: false });
  const targets = parseTags('targets', parseList(inputs.targets));
  const credentialInputs = parseCredentialInputs(inputs['registry-username'], inputs['registry-password']);
  const token = inputs['github-token'];

  let github: GitHubClient | undefined;
  const gitHub = (why: string) => {
    if (!token) throw new InputError('github-token', `is empty, but it is needed ${why}`);
    github ??= createGitHubClient({ token, baseUrl: context.apiUrl, warn: log.warning });
    return github;
  };

  const choice = chooseSource({ source: inputs.source, eventName: context.eventName, sha: context.sha, pullRequest: context.pullRequest });
  let source: string;
  let merged: MergedHead | undefined = context.pullRequest?.merged ? { number: context.pullRequest.number, sha: context.pullRequest.headSha } : undefined;
  if ('source' in choice) {
    source = choice.source;
  } else {
    if (!context.repository) throw new InputError('source', 'not given, and there is no GITHUB_REPOSITORY to find the pull request in');
    const pull = await findPullRequestForCommit(gitHub('to find the pull request of the pushed commit (or give source)'), { ...context.repository, sha: choice.lookUpPullRequestOf }).catch((error: unknown) => {
      throw new ResourceError(`GitHub commit ${choice.lookUpPullRequestOf}`, `its pull request could not be looked up: ${describeGitHubError(error)}`);
    });
    if (!pull) throw new InputError('source', `not given, and commit ${choice.lookUpPullRequestOf.slice(0, 7)} belongs to no pull request: give the tag or digest to promote`);
    source = `pr-${pull.number}`;
    merged = { number: pull.number, sha: pull.headSha };
    log.info(`Commit ${choice.lookUpPullRequestOf.slice(0, 7)} came from pull request #${pull.number}: promoting ${source}`);
  }

  const resolved = await resolveCredentials(image.registry, { inputs: credentialInputs, githubToken: token, actor: context.actor, serverUrl: context.serverUrl, env: process.env, mask: maskSecret });
  let gate: GateVerdict[] | undefined;
  let result: PromoteResult;
  try {
    result = await promoteImage({
      image,
      source,
      targets,
      credentials: resolved.credentials,
      log: log.info,
      check: inputs['require-gate']
        ? async (candidate) => {
            gate = await checkGate(gitHub('to read the gate status (require-gate: true)'), context, candidate, merged);
          }
        : undefined,
    });
  } catch (error) {
    throw explainAuthError(error, resolved);
  }
  setOutputs({ image: result.image, digest: result.digest });
  await writeSummary(summary(result, source, gate, repositoryName(image)));
}

void runAction(main);
