import { InputError } from '../inputs/errors';
import { parseBoolean, parseKeyValueLines, parseList, formatDuration } from '../inputs/parse';
import { code, escapeCell, formatBytes, table } from '../markdown/markdown';
import { loadMetricsInput, metricsToJson } from '../metrics/file';
import { parseModelDir } from '../image/model-files';
import { parsePlatform } from '../image/platform';
import { Label } from '../image/compose';
import { commitTime, defaultTags, parsePublishTags, toolkitLabels, withProvenance } from '../image/provenance';
import { publishModelImage, type PublishResult } from '../image/publish';
import { formatReference, parseImageReference, repositoryName } from '../registry/reference';
import { explainAuthError, parseCredentialInputs, resolveCredentials, type CredentialOptions } from '../registry/credentials';
import { readRunContext } from '../runtime/context';
import { input, inputOrDefault, log, maskSecret, runAction, secretInput, setOutputs, writeSummary } from '../runtime/action';

interface Inputs {
  'model-path': string;
  'base-image': string;
  image: string;
  tags: string | undefined;
  'model-dir': string;
  metrics: string | undefined;
  labels: string | undefined;
  annotations: string | undefined;
  platform: string;
  'keep-file-modes': boolean;
  'registry-username': string | undefined;
  'registry-password': string | undefined;
  'github-token': string | undefined;
}

function getInputs(): Inputs {
  const required = (name: string) => {
    const value = input(name);
    if (value === undefined) throw new InputError(name, 'is required');
    return value.trim();
  };
  return {
    // The secret first, so it is masked before anything else can print it.
    'registry-password': secretInput('registry-password'),
    'github-token': secretInput('github-token'),
    'registry-username': input('registry-username')?.trim(),
    'model-path': required('model-path'),
    'base-image': required('base-image'),
    image: required('image'),
    tags: input('tags'),
    'model-dir': inputOrDefault('model-dir', '/model'),
    metrics: input('metrics')?.trim(),
    labels: input('labels'),
    annotations: input('annotations'),
    platform: inputOrDefault('platform', 'linux/amd64'),
    'keep-file-modes': parseBoolean('keep-file-modes', inputOrDefault('keep-file-modes', 'false')),
  };
}

function summary(result: PublishResult, references: string[], base: string): string {
  const model = result.layers.filter((l) => l.origin === 'model');
  return [
    '## Published model image',
    '',
    table(
      ['', ''],
      [
        ['Image', code(result.image)],
        ['Tags', references.map((t) => code(t)).join('<br>') || '—'],
        ['Base', `${code(base)} ${code(result.baseDigest)}${result.platform ? ` (${escapeCell(result.platform)})` : ''}`],
        ['Model', `${result.modelFiles} file${result.modelFiles === 1 ? '' : 's'}, ${formatBytes(result.modelBytes)}, in ${model.length} layer${model.length === 1 ? '' : 's'}`],
        ['Model bytes uploaded', formatBytes(result.modelBytesUploaded)],
        ['Model bytes skipped (the registry had them)', formatBytes(result.modelBytesSkipped)],
        ['All blob bytes sent', formatBytes(result.bytesSent)],
        ['Time', formatDuration(result.durationMs)],
      ],
    ),
    '',
    '### Layers',
    '',
    table(
      ['Layer', 'Digest', { header: 'Size', align: 'right' }, 'Done', 'Holds'],
      result.layers.map((layer) => [layer.origin, code(layer.digest.slice(0, 19)), formatBytes(layer.size), layer.action, layer.contents ? escapeCell(layer.contents) : '']),
    ),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const inputs = getInputs();
  const context = readRunContext();
  const target = parseImageReference(inputs.image, 'image', { tag: false, digest: false });
  const base = parseImageReference(inputs['base-image'], 'base-image');
  const platform = parsePlatform('platform', inputs.platform);
  const modelDir = parseModelDir('model-dir', inputs['model-dir']);
  // On pull requests the gate's status sits on the head commit: that is the revision promote checks.
  const revision = context.pullRequest?.headSha || context.sha;
  const tags = inputs.tags === undefined ? defaultTags(revision, context.pullRequest?.number) : parsePublishTags('tags', parseList(inputs.tags), target);
  if (tags.length === 0) throw new InputError('tags', 'not given, and there is no commit (GITHUB_SHA) to name a default tag after');
  const userLabels = inputs.labels === undefined ? new Map<string, string>() : parseKeyValueLines('labels', inputs.labels);
  const userAnnotations = inputs.annotations === undefined ? new Map<string, string>() : parseKeyValueLines('annotations', inputs.annotations);
  const credentialInputs = parseCredentialInputs(inputs['registry-username'], inputs['registry-password']);

  let metricsJson: string | undefined;
  if (inputs.metrics !== undefined) metricsJson = JSON.stringify(metricsToJson(await loadMetricsInput('metrics', inputs.metrics)));

  const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
  let created = await commitTime({ env: process.env, workspace, revisions: [revision, context.sha], payload: context.payload });
  if (!created) {
    created = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    log.warning(`Could not find the commit time (no SOURCE_DATE_EPOCH, no git checkout holding ${revision.slice(0, 7) || 'the commit'}): the image records the current time, so its digest differs on every publish`);
  }
  const sourceUrl = context.repository ? `${context.serverUrl}/${context.repository.owner}/${context.repository.repo}` : undefined;
  const labels = withProvenance(userLabels, toolkitLabels({ sourceUrl, revision, created }, metricsJson, modelDir));
  const annotations = withProvenance(userAnnotations, {
    ...(sourceUrl ? { [Label.source]: sourceUrl } : {}),
    ...(revision ? { [Label.revision]: revision } : {}),
    [Label.created]: created,
    [Label.baseName]: formatReference({ ...base, digest: undefined }),
  });
  for (const [input, { ignored }] of [
    ['labels', labels],
    ['annotations', annotations],
  ] as const) {
    if (ignored.length) log.warning(`Input "${input}": ${ignored.join(', ')} ${ignored.length === 1 ? 'is' : 'are'} written by the toolkit (provenance); the given ${ignored.length === 1 ? 'value is' : 'values are'} ignored`);
  }

  const sources: CredentialOptions = { githubToken: inputs['github-token'], actor: context.actor, serverUrl: context.serverUrl, env: process.env, mask: maskSecret };
  const resolved = await resolveCredentials(target.registry, { ...sources, inputs: credentialInputs });
  // The base on another registry gets only what Docker or GitHub has for that registry, never the target's.
  const baseCredentials = base.registry === target.registry ? resolved : await resolveCredentials(base.registry, sources);
  let result: PublishResult;
  try {
    result = await publishModelImage({
      modelPath: inputs['model-path'],
      modelDir,
      base,
      target,
      tags,
      platform,
      labels: labels.merged,
      annotations: annotations.merged,
      created,
      keepModes: inputs['keep-file-modes'],
      credentials: resolved.credentials,
      baseCredentials: baseCredentials.credentials,
      log: log.info,
      warn: log.warning,
    });
  } catch (error) {
    throw explainAuthError(error, resolved);
  }

  const references = result.tags.map((tag) => `${repositoryName(target)}:${tag}`);
  log.info(`Published ${result.image} as ${references.join(', ')}: ${formatBytes(result.modelBytesUploaded)} of model uploaded, ${formatBytes(result.modelBytesSkipped)} already there`);
  setOutputs({ image: result.image, digest: result.digest, tags: references.join('\n') });
  await writeSummary(summary(result, references, formatReference(base)));
}

void runAction(main);
