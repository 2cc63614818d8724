import { parseCredentialInputs } from '../registry/credentials';
import { InputError, quote } from '../inputs/errors';
import { parseDuration, parseDurationOrNever, parseEnum, parseInteger, parseKeyValueLines, parseList } from '../inputs/parse';
import { checkRuleSyntax, RuleSyntaxError } from '../traefik/rule';
import { parseGivenImage, type GivenImage } from '../registry/reference';
import { parseGpus, type ServerGpus } from '../engine/gpus';
import { parseDockerHost } from '../engine/connection';
import type { Provenance, RoutingSettings, ServerIdentity } from './labels';
import { parseServiceName, SWARM_SERVICE_NAME_MAX } from './names';
import { parsePrepare } from './prepare-spec';
import { parseJsonArgv, parseMetricsSource, parseServerProcess, type MetricsSource, type ServerInputs, type ServerProcess } from './server-inputs';
import { parseFileDeployOptions, parseRoutingChoice, type FileDeployOptions, type RoutingChoice } from './routing-spec';
import { parseProgressiveInputs, PROGRESSIVE_STRATEGIES, type ProgressiveInputs, type ProgressiveSpec } from '../rollout/spec';

/** deploy's inputs, keyed exactly as in actions/deploy/action.yml; optional ones undefined (the server's and the canary's own in ServerInputs and ProgressiveInputs). */
export interface DeployInputs extends ServerInputs, ProgressiveInputs {
  image: string;
  service: string;
  rule: string;
  entrypoints: string;
  port: string;
  network: string;
  replicas: string;
  strategy: string;
  ttl: string;
  'health-timeout': string;
  /** How often Docker probes each server's health check; default 2s. */
  'health-interval'?: string;
  'drain-timeout': string;
  'health-cmd'?: string;
  'drain-signal': string;
  env?: string;
  gpus?: string;
  'traefik-api'?: string;
  engine: string;
  'docker-host'?: string;
  'registry-username'?: string;
  'registry-password'?: string;
  routing?: string;
  'routing-dir'?: string;
  'health-path'?: string;
  'keep-previous'?: string;
  rollback?: string;
  'node-registry-username'?: string;
  'node-registry-password'?: string;
  prepare?: string;
}

export const ENGINES = ['docker', 'swarm'] as const;
export type EngineKind = (typeof ENGINES)[number];
export const STRATEGIES = ['replace', 'add'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** A deploy, fully checked: everything an engine implementation needs and nothing it must parse. */
export interface DeploySpec {
  image: GivenImage;
  routing: RoutingSettings;
  replicas: number;
  strategy: Strategy;
  /** null: the servers never expire. */
  ttlMs: number | null;
  healthTimeoutMs: number;
  /** The health check's probe interval (Docker's Healthcheck.Interval). */
  healthIntervalMs: number;
  drainTimeoutMs: number;
  /** Docker's Healthcheck.Test form (`['CMD-SHELL', cmd]` or `['CMD', ...argv]`); undefined: the image's own. */
  healthCmd?: string[];
  drainSignal: string;
  env: Map<string, string>;
  gpus?: ServerGpus;
  traefikApi?: string;
  engine: EngineKind;
  dockerHost?: string;
  credentials?: RegistryCredentials;
  /**
   * engine swarm: the credential Swarm keeps with the service for every later pull on any node
   * (a task rescheduled onto a node without the image). Defaults to `credentials`.
   */
  nodeCredentials?: RegistryCredentials;
  provenance: Provenance;
  /** labels or file routing, and the routing directory for file. */
  routingChoice: RoutingChoice;
  /** health-path, keep-previous, rollback. */
  options: FileDeployOptions;
  /** strategy canary or shadow (strategy is then `replace`: what the promotion does). */
  progressive?: ProgressiveSpec;
  /** Pull, verify and mark the image only (src/serving/prepare.ts). */
  prepare?: boolean;
  /** command, args, shm-size, memory, cpus, ulimits. */
  process: ServerProcess;
  /** metrics-port, metrics-path, request-metric: where the in-use check reads the request counter. */
  metrics: MetricsSource;
}

/** Signals a server may take as "drain": not the ones a process cannot catch. */
const SIGNALS = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGTERM', 'SIGWINCH', 'SIGALRM', 'SIGPWR', 'SIGURG'];

export function parseSignal(inputName: string, raw: string): string {
  const text = raw.trim().toUpperCase();
  const name = text.startsWith('SIG') ? text : `SIG${text}`;
  if (name === 'SIGKILL' || name === 'SIGSTOP') throw new InputError(inputName, `${name} cannot be caught, so a server cannot drain on it`);
  if (!SIGNALS.includes(name)) throw new InputError(inputName, `expected a signal such as SIGUSR2 (one of ${SIGNALS.join(', ')}), got ${quote(raw)}`);
  return name;
}

/**
 * `health-cmd`: a shell command line (run with /bin/sh in the image, like `docker run --health-cmd`)
 * or a JSON array of arguments run without a shell, for images that have none.
 */
export function parseHealthCmd(inputName: string, raw: string | undefined): string[] | undefined {
  const text = raw?.trim();
  if (!text) return undefined;
  if (text.startsWith('[')) {
    const argv = parseJsonArgv(inputName, text);
    if (argv.includes('')) throw new InputError(inputName, `expected a non-empty JSON array of strings, got ${quote(text)}`);
    return ['CMD', ...argv];
  }
  if (text.toUpperCase() === 'NONE') throw new InputError(inputName, 'a readiness check is what keeps Traefik away from a loading server; it cannot be turned off here');
  return ['CMD-SHELL', text];
}

export function parseTraefikApi(inputName: string, raw: string | undefined): string | undefined {
  const text = raw?.trim();
  if (!text) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InputError(inputName, `expected an http(s) URL like http://127.0.0.1:8080, got ${quote(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(inputName, `expected an http(s) URL, got ${quote(text)}`);
  // The address is named in log lines and messages: a password in it would be printed with it.
  if (url.username || url.password) throw new InputError(inputName, "must not carry credentials: they would be printed with the address; give Traefik's API an entry point the runner reaches without them");
  return url.toString().replace(/\/+$/, '');
}

export function parseRule(inputName: string, raw: string): string {
  const rule = raw.trim();
  try {
    checkRuleSyntax(rule);
  } catch (error) {
    if (error instanceof RuleSyntaxError) throw new InputError(inputName, `invalid Traefik rule ${quote(rule)}: ${error.message}`);
    throw error;
  }
  return rule;
}

export function parseEntrypoints(inputName: string, raw: string): string[] {
  const names = parseList(raw);
  if (names.length === 0) throw new InputError(inputName, 'name at least one Traefik entry point, e.g. web');
  for (const name of names) {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new InputError(inputName, `not an entry point name: ${quote(name)}`);
  }
  return names;
}

export function parseNetworkName(inputName: string, raw: string): string {
  const name = raw.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new InputError(inputName, `not a Docker network name: ${quote(name)}`);
  return name;
}

function required(inputs: Record<string, string | undefined>, name: string): string {
  const value = inputs[name];
  if (value === undefined || value.trim() === '') throw new InputError(name, 'is required');
  return value;
}

/** What `engine: swarm` cannot do, said before anything is contacted. */
function checkSwarmInputs(service: string, gpus: ServerGpus | undefined): void {
  if (gpus) {
    throw new InputError(
      'gpus',
      'engine swarm cannot give GPUs to a service: Swarm has no device requests (its generic resources need per-node daemon configuration and isolate no device). Deploy GPU models with engine: docker on the GPU host',
    );
  }
  if (service.length > SWARM_SERVICE_NAME_MAX) {
    throw new InputError('service', `with engine swarm, at most ${SWARM_SERVICE_NAME_MAX} characters (each model version runs as the Swarm service <service>-<12 hex of the digest>, and Swarm allows 63), got ${service.length}`);
  }
}

/**
 * Every probe of a Docker health check is an exec into the container, and on Docker Engine 20.10
 * each costs about 0.15 CPU-seconds whatever the command (`npm run bench:health-probe`): probed
 * every second, ten servers took most of two cores. Two seconds is the default; busy hosts with
 * many servers raise it, at the price of slower admission and drains (retries × interval).
 */
export const DEFAULT_HEALTH_INTERVAL_MS = 2000;
const DEFAULT_HEALTH_INTERVAL = '2s';

function parseHealthInterval(raw: string): number {
  const intervalMs = parseDuration('health-interval', raw);
  if (intervalMs < 1000 || intervalMs > 600_000) throw new InputError('health-interval', `must be between 1s and 10m, got ${quote(raw)}`);
  return intervalMs;
}

/** Turn deploy's inputs into a DeploySpec, or throw the first InputError. Touches nothing. */
export function parseDeployInputs(inputs: DeployInputs, provenance: Provenance): DeploySpec {
  const raw = inputs as unknown as Record<string, string | undefined>;
  const service = parseServiceName('service', required(raw, 'service'));
  const image = parseGivenImage(required(raw, 'image'), 'image');
  const rule = parseRule('rule', required(raw, 'rule'));
  const entrypoints = parseEntrypoints('entrypoints', inputs.entrypoints);
  const port = parseInteger('port', inputs.port, { min: 1, max: 65535 });
  const network = parseNetworkName('network', required(raw, 'network'));
  const replicas = parseInteger('replicas', inputs.replicas, { min: 1, max: 64 });
  const strategyChoice = parseEnum('strategy', inputs.strategy, [...STRATEGIES, ...PROGRESSIVE_STRATEGIES]);
  const strategy: Strategy = strategyChoice === 'add' ? 'add' : 'replace';
  const ttlMs = parseDurationOrNever('ttl', inputs.ttl);
  const healthTimeoutMs = parseDuration('health-timeout', inputs['health-timeout']);
  const healthIntervalMs = parseHealthInterval(inputs['health-interval'] ?? DEFAULT_HEALTH_INTERVAL);
  const drainTimeoutMs = parseDuration('drain-timeout', inputs['drain-timeout']);
  const healthCmd = parseHealthCmd('health-cmd', inputs['health-cmd']);
  const drainSignal = parseSignal('drain-signal', inputs['drain-signal']);
  const env = parseKeyValueLines('env', inputs.env ?? '', { keyPattern: /^[A-Za-z_][A-Za-z0-9_]*$/ });
  const gpus = parseGpus('gpus', inputs.gpus);
  const traefikApi = parseTraefikApi('traefik-api', inputs['traefik-api']);
  const engine = parseEnum('engine', inputs.engine, ENGINES);
  if (engine === 'swarm') checkSwarmInputs(service, gpus);
  if (inputs['docker-host'] !== undefined) parseDockerHost(inputs['docker-host']);
  const credentials = parseCredentialInputs(inputs['registry-username'], inputs['registry-password']);
  const routingChoice = parseRoutingChoice(inputs);
  const options = parseFileDeployOptions(routingChoice, inputs);
  const nodeUsername = inputs['node-registry-username']?.trim();
  const nodePassword = inputs['node-registry-password'];
  if (Boolean(nodeUsername) !== Boolean(nodePassword)) {
    throw new InputError(nodeUsername ? 'node-registry-password' : 'node-registry-username', 'node-registry-username and node-registry-password go together: give both or neither');
  }
  if (nodeUsername && engine !== 'swarm') throw new InputError('node-registry-username', 'applies to engine swarm only (with engine docker, nothing pulls after deploy)');
  const progressive = parseProgressiveInputs(inputs);
  if (progressive && options.rollback) throw new InputError('rollback', `flips weights back to a kept version; it cannot run as a ${progressive.strategy}`);
  if (progressive && engine === 'swarm') {
    // The rollout reads each version's figures from its own servers and Traefik's `…@docker`
    // services; with Swarm the versions are `…@swarm` services whose tasks move between nodes, and
    // that path has not run against a real swarm yet. Refused rather than shipped untested.
    throw new InputError(
      'strategy',
      `${progressive.strategy} runs on engine docker only for now: its analysis has not been tested against Swarm services (\`…@swarm\`) whose tasks move between nodes; use engine: docker, or strategy: replace with routing: file and keep-previous on the swarm`,
    );
  }
  const prepare = parsePrepare(inputs, options.rollback);
  const serverProcess = parseServerProcess(inputs);
  const metrics = parseMetricsSource(inputs);
  return {
    image,
    routing: { service, rule, entrypoints, port, network },
    replicas,
    strategy,
    ttlMs,
    healthTimeoutMs,
    healthIntervalMs,
    drainTimeoutMs,
    healthCmd,
    drainSignal,
    env,
    gpus,
    traefikApi,
    engine,
    dockerHost: inputs['docker-host'],
    credentials,
    nodeCredentials: nodeUsername && nodePassword ? { username: nodeUsername, password: nodePassword } : undefined,
    provenance,
    routingChoice,
    options,
    ...(progressive ? { progressive } : {}),
    prepare,
    process: serverProcess,
    metrics,
  };
}

/** What the labels of a server this deploy starts say about it: the image, when it started, when it expires. */
export function deployedServerIdentity(spec: DeploySpec, digest: string, deployedAt: Date): ServerIdentity {
  return {
    service: spec.routing.service,
    image: spec.image.text,
    digest,
    deployedAt,
    expiresAt: spec.ttlMs === null ? null : new Date(deployedAt.getTime() + spec.ttlMs),
    drainSignal: spec.drainSignal,
    provenance: spec.provenance,
    metrics: spec.metrics,
  };
}
