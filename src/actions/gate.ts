import { InputError } from '../inputs/errors';
import { parseBoolean, parseEnum } from '../inputs/parse';
import { createGitHubClient } from '../github/client';
import { planGatePublication, publishGateReport } from '../github/gate-publication';
import { readImageMetrics } from '../image/metadata';
import { resolveBaseline } from '../metrics/baseline';
import { parseImageReference } from '../registry/reference';
import { explainAuthError, parseCredentialInputs, resolveCredentials } from '../registry/credentials';
import { loadMetricsInput } from '../metrics/file';
import { describeResult, describeViolations, gateHeadline, renderGateReport } from '../metrics/report';
import { evaluateRules, parseRules, violationsToJson, type OnMissingBaseline } from '../metrics/rules';
import { input, log, maskSecret, runAction, secretInput, setOutputs, writeSummary } from '../runtime/action';
import { readRunContext } from '../runtime/context';

export interface GateInputs {
  metrics: string;
  rules: string;
  baseline: string | undefined;
  'on-missing-baseline': OnMissingBaseline;
  comment: boolean | undefined;
  'comment-key': string | undefined;
  'github-token': string | undefined;
  'registry-username': string | undefined;
  'registry-password': string | undefined;
  'fail-on-violation': boolean;
  status: boolean;
}

function required(name: string, what: string): string {
  const value = input(name);
  if (value === undefined) throw new InputError(name, `is required: ${what}`);
  return value;
}

export function getInputs(): GateInputs {
  const optionalBoolean = (name: string) => {
    const raw = input(name);
    return raw === undefined ? undefined : parseBoolean(name, raw);
  };
  return {
    'github-token': secretInput('github-token'),
    'registry-password': secretInput('registry-password'),
    'registry-username': input('registry-username')?.trim(),
    metrics: required('metrics', 'the path of the metrics file to gate').trim(),
    rules: required('rules', 'one rule a line, like "accuracy >= 0.92"'),
    baseline: input('baseline')?.trim(),
    'on-missing-baseline': parseEnum('on-missing-baseline', input('on-missing-baseline') ?? 'pass', ['pass', 'fail'] as const),
    comment: optionalBoolean('comment'),
    'comment-key': input('comment-key')?.trim(),
    'fail-on-violation': optionalBoolean('fail-on-violation') ?? true,
    status: optionalBoolean('status') ?? true,
  };
}

async function main(): Promise<void> {
  const inputs = getInputs();
  const context = readRunContext();
  const rules = parseRules(inputs.rules);
  const metrics = await loadMetricsInput('metrics', inputs.metrics);
  const credentialInputs = parseCredentialInputs(inputs['registry-username'], inputs['registry-password']);
  const baseline = await resolveBaseline(inputs.baseline, {
    readImageMetrics: async (reference) => {
      const resolved = await resolveCredentials(parseImageReference(reference, 'baseline').registry, {
        inputs: credentialInputs,
        githubToken: inputs['github-token'],
        actor: context.actor,
        serverUrl: context.serverUrl,
        env: process.env,
        mask: maskSecret,
      });
      return readImageMetrics(reference, { credentials: resolved.credentials, input: 'baseline' }).catch((error: unknown) => {
        throw explainAuthError(error, resolved, 'reading the baseline image');
      });
    },
  });
  const evaluation = evaluateRules(rules, metrics, baseline?.kind === 'missing' ? undefined : baseline?.metrics, inputs['on-missing-baseline']);
  for (const result of evaluation.results) log.info(describeResult(result));

  const plan = planGatePublication({
    context,
    comment: inputs.comment,
    commentKey: inputs['comment-key'],
    status: inputs.status,
    passed: evaluation.passed,
    headline: gateHeadline(evaluation),
    hasToken: inputs['github-token'] !== undefined,
  });
  const reportContext = {
    metricsSource: inputs.metrics,
    ...(baseline ? { baseline } : {}),
    onMissingBaseline: inputs['on-missing-baseline'],
    key: plan.key,
    ...(context.runUrl ? { runUrl: context.runUrl } : {}),
    sha: plan.status?.sha ?? context.pullRequest?.headSha ?? context.sha,
  };
  const report = renderGateReport(evaluation, metrics, reportContext);
  const client = inputs['github-token'] && (plan.comment || plan.status) ? createGitHubClient({ token: inputs['github-token'], baseUrl: context.apiUrl, warn: log.warning }) : undefined;
  const published = await publishGateReport(client, plan, report, log.warning);

  const summary = renderGateReport(evaluation, metrics, reportContext, 900_000);
  await writeSummary(published.notes.length ? `${summary}\n\n${published.notes.map((note) => `- ${escapeNote(note)}`).join('\n')}\n` : `${summary}\n`);
  setOutputs({
    passed: String(evaluation.passed),
    report,
    violations: violationsToJson(evaluation),
    'comment-url': published.commentUrl ?? '',
  });
  if (!evaluation.passed) {
    if (inputs['fail-on-violation']) throw new Error(describeViolations(evaluation));
    log.warning(`${describeViolations(evaluation)} (fail-on-violation: false)`);
  }
}

/** Notes carry URLs and GitHub's messages: keep them from opening HTML in the summary. */
function escapeNote(note: string): string {
  return note.replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'));
}

void runAction(main);
