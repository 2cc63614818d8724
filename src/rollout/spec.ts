import { InputError, quote } from '../inputs/errors';
import { formatDuration, parseDuration, parseEnum, parseInteger, parseList } from '../inputs/parse';
import { parseRules, type Rule } from '../metrics/rules';

/**
 * The inputs of a progressive deploy (`strategy: canary | shadow`), parsed before anything is
 * touched. Rules use the gate's grammar (src/metrics/rules.ts); the figures they may name are the
 * ones a rollout measures per version in each window, and `baseline` is the stable version's
 * figure in the same window.
 */

export const PROGRESSIVE_STRATEGIES = ['canary', 'shadow'] as const;
export type ProgressiveStrategy = (typeof PROGRESSIVE_STRATEGIES)[number];
export const AFTER_SHADOW = ['replace', 'canary'] as const;
export type AfterShadow = (typeof AFTER_SHADOW)[number];

/** The figures a rule may name, measured per version in each analysis window. */
export const FIGURES = ['requests', 'error_rate', 'latency_p95_ms', 'prediction_shift'] as const;
export type Figure = (typeof FIGURES)[number];

export const DEFAULT_STEPS = '5,25,50,100';
export const DEFAULT_STEP_DURATION = '60s';
export const DEFAULT_ANALYSIS = 'error_rate <= baseline + 0.01\nlatency_p95_ms <= baseline * 1.2';
export const DEFAULT_MIRROR_PERCENT = '100';
export const DEFAULT_SHADOW_DURATION = '5m';

export interface ProgressiveInputs {
  strategy: string;
  routing?: string;
  steps?: string;
  'step-duration'?: string;
  'analysis-interval'?: string;
  'failure-limit'?: string;
  analysis?: string;
  'mirror-percent'?: string;
  'shadow-duration'?: string;
  'after-shadow'?: string;
  'traefik-metrics'?: string;
  'traefik-api'?: string;
}

export interface CanarySettings {
  /** Canary weights in percent, strictly increasing, the last one 100 (the promotion). */
  steps: number[];
  stepDurationMs: number;
}

/**
 * How often a hold is judged and how many failed windows a rollout survives (Argo Rollouts'
 * `interval` and `failureLimit`, Flagger's `analysis.interval` and `threshold`).
 */
export interface AnalysisSettings {
  /** Window length; undefined: each hold is one window. Divides every hold it applies to. */
  intervalMs?: number;
  /** Failed windows tolerated over the whole rollout (shadow and canary together); one more rolls back. */
  failureLimit: number;
}

export interface ProgressiveSpec {
  strategy: ProgressiveStrategy;
  rules: Rule[];
  analysis: AnalysisSettings;
  /** Where Traefik's Prometheus metrics are read: `traefik-metrics`, or `<traefik-api>/metrics`. */
  metricsUrl: string;
  canary: CanarySettings;
  /** shadow only. */
  shadow?: ShadowSettings;
}

export interface ShadowSettings {
  mirrorPercent: number;
  durationMs: number;
  after: AfterShadow;
}

/** Inputs that mean nothing without `strategy: canary` or `shadow`. */
const PROGRESSIVE_ONLY = ['steps', 'step-duration', 'analysis-interval', 'failure-limit', 'analysis', 'mirror-percent', 'shadow-duration', 'after-shadow', 'traefik-metrics'] as const;
const SHADOW_ONLY = ['mirror-percent', 'shadow-duration', 'after-shadow'] as const;

function given(inputs: ProgressiveInputs, name: keyof ProgressiveInputs): string | undefined {
  const value = inputs[name]?.trim();
  return value ? value : undefined;
}

/** `steps`: weights in percent such as `5,25,50,100`; a missing final 100 is added (the promotion). */
export function parseSteps(raw: string): number[] {
  const parts = parseList(raw);
  if (parts.length === 0) throw new InputError('steps', 'name at least one weight in percent, like 5,25,50,100');
  const steps = parts.map((part) => {
    if (!/^\d+$/.test(part)) throw new InputError('steps', `expected whole percentages like 5,25,50,100, got ${quote(part)}`);
    const weight = Number(part);
    if (weight < 1 || weight > 100) throw new InputError('steps', `each weight is a percentage from 1 to 100, got ${weight}`);
    return weight;
  });
  steps.forEach((weight, index) => {
    const before = steps[index - 1];
    if (before !== undefined && weight <= before) throw new InputError('steps', `weights must increase, but ${weight} follows ${before}`);
  });
  if (steps[steps.length - 1] !== 100) steps.push(100);
  return steps;
}

/** `analysis`: gate rules naming only figures a rollout measures. */
export function parseAnalysis(raw: string): Rule[] {
  const rules = parseRules(raw, 'analysis');
  for (const rule of rules) {
    if (!(FIGURES as readonly string[]).includes(rule.metric)) {
      throw new InputError('analysis', `line ${rule.line} ${quote(rule.text)}: unknown figure ${quote(rule.metric)}; use one of ${FIGURES.join(', ')}`);
    }
  }
  return rules;
}

export function parseMetricsUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(name, `expected an http(s) URL like http://127.0.0.1:8080/metrics, got ${quote(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(name, `expected an http(s) URL, got ${quote(raw)}`);
  if (url.username || url.password) throw new InputError(name, 'must not carry credentials: Traefik metrics are read without them');
  return url.toString();
}

/**
 * The progressive part of deploy's inputs: undefined for `replace` and `add` (after checking that
 * no canary-only input is set), else the checked settings. Throws the first InputError.
 */
export function parseProgressiveInputs(inputs: ProgressiveInputs): ProgressiveSpec | undefined {
  const strategyText = inputs.strategy.trim();
  if (!(PROGRESSIVE_STRATEGIES as readonly string[]).includes(strategyText)) {
    const stray = PROGRESSIVE_ONLY.find((name) => given(inputs, name) !== undefined);
    if (stray) throw new InputError(stray, `is only used with strategy: canary or shadow (strategy is ${quote(strategyText)})`);
    return undefined;
  }
  const strategy = strategyText as ProgressiveStrategy;
  const routing = given(inputs, 'routing') ?? 'labels';
  if (routing !== 'file') {
    throw new InputError('strategy', `${strategy} needs routing: file: under label routing Traefik merges every version into one load balancer, so no share of traffic can be set or measured per version`);
  }
  if (strategy === 'canary') {
    const stray = SHADOW_ONLY.find((name) => given(inputs, name) !== undefined);
    if (stray) throw new InputError(stray, 'is only used with strategy: shadow');
  }
  const steps = parseSteps(given(inputs, 'steps') ?? DEFAULT_STEPS);
  const stepDurationMs = parseDuration('step-duration', given(inputs, 'step-duration') ?? DEFAULT_STEP_DURATION);
  const rules = parseAnalysis(given(inputs, 'analysis') ?? DEFAULT_ANALYSIS);
  const explicit = given(inputs, 'traefik-metrics');
  const api = given(inputs, 'traefik-api');
  if (!explicit && !api) throw new InputError('traefik-metrics', `${strategy} reads Traefik's per-service metrics: give traefik-metrics, or traefik-api (its /metrics is read)`);
  const metricsUrl = explicit ? parseMetricsUrl('traefik-metrics', explicit) : parseMetricsUrl('traefik-api', `${api!.replace(/\/+$/, '')}/metrics`);
  const canary = { steps, stepDurationMs };
  let shadow: ShadowSettings | undefined;
  if (strategy === 'shadow') {
    const mirrorPercent = parseInteger('mirror-percent', given(inputs, 'mirror-percent') ?? DEFAULT_MIRROR_PERCENT, { min: 1, max: 100 });
    const durationMs = parseDuration('shadow-duration', given(inputs, 'shadow-duration') ?? DEFAULT_SHADOW_DURATION);
    const after = parseEnum('after-shadow', given(inputs, 'after-shadow') ?? 'replace', AFTER_SHADOW);
    shadow = { mirrorPercent, durationMs, after };
  }
  const analysis = parseAnalysisSettings(inputs, canary, shadow);
  return { strategy, rules, analysis, metricsUrl, canary, ...(shadow ? { shadow } : {}) };
}

/** The holds an analysis interval applies to: the shadow's, and the steps' unless a shadow replaces at once. */
function holds(canary: CanarySettings, shadow: ShadowSettings | undefined): [string, number][] {
  const shadowHold: [string, number][] = shadow ? [['shadow-duration', shadow.durationMs]] : [];
  const steps: [string, number][] = shadow?.after === 'replace' ? [] : [['step-duration', canary.stepDurationMs]];
  return [...shadowHold, ...steps];
}

/**
 * `analysis-interval` must cut every hold into whole windows of equal length, so a rule such as
 * `requests >= 50` means the same in every window; `failure-limit` is a count of failed windows.
 */
function parseAnalysisSettings(inputs: ProgressiveInputs, canary: CanarySettings, shadow: ShadowSettings | undefined): AnalysisSettings {
  const failureLimit = parseInteger('failure-limit', given(inputs, 'failure-limit') ?? '0', { min: 0 });
  const raw = given(inputs, 'analysis-interval');
  if (raw === undefined) return { failureLimit };
  const intervalMs = parseDuration('analysis-interval', raw);
  for (const [name, holdMs] of holds(canary, shadow)) {
    if (intervalMs > holdMs) throw new InputError('analysis-interval', `${quote(raw)} is longer than ${name} (${formatDuration(holdMs)}): a window cannot outlast the hold it judges`);
    if (holdMs % intervalMs !== 0) {
      const nearest = dividingInterval(holdMs, intervalMs);
      throw new InputError('analysis-interval', `${quote(raw)} does not cut ${name} (${formatDuration(holdMs)}) into whole windows${nearest ? `; ${formatDuration(nearest)} does` : ''}`);
    }
  }
  return { intervalMs, failureLimit };
}

/** The longest whole-second interval below `intervalMs` that divides `holdMs`, for the error message. */
function dividingInterval(holdMs: number, intervalMs: number): number | undefined {
  for (let windows = Math.ceil(holdMs / intervalMs); windows <= holdMs / 1000; windows++) {
    if (holdMs % windows === 0 && (holdMs / windows) % 1000 === 0) return holdMs / windows;
  }
  return undefined;
}

/** How many windows judge a hold of `holdMs`. */
export function windowsPerHold(analysis: AnalysisSettings, holdMs: number): number {
  return analysis.intervalMs === undefined ? 1 : Math.round(holdMs / analysis.intervalMs);
}

/** How long a rollout holds at most: the deploy lock's lease must outlast it. */
export function rolloutDurationMs(progressive: ProgressiveSpec | undefined): number {
  if (!progressive) return 0;
  const held = progressive.canary.steps.filter((weight) => weight < 100).length * progressive.canary.stepDurationMs;
  return held + (progressive.shadow?.durationMs ?? 0);
}
