import { parse as parseYaml } from 'yaml';
import { DEFAULT_RULE, type DockerProviderOptions } from './docker-config';
import type { SwarmProviderOptions } from './swarm-config';
import { compileConstraints } from './expression';
import type { FileProviderOptions } from './file-provider';

/**
 * The part of Traefik's static configuration the stand-in understands, read from the same sources
 * as Traefik: a YAML file (`--configFile=traefik.yml`) and/or CLI flags
 * (`--entryPoints.web.address=:80 --providers.docker.exposedByDefault=false ...`). Option keys
 * are case-insensitive, as in Traefik. So the demo can start Traefik or the stand-in with the
 * same arguments. Anything the stand-in does not implement is refused with a clear error rather
 * than silently ignored.
 */
export interface StaticConfig {
  entryPoints: Record<string, { address: string }>;
  api: boolean;
  ping: { entryPoint: string } | undefined;
  metrics: { entryPoint: string } | undefined;
  providersThrottleMs: number;
  docker: (DockerProviderOptions & { endpoint: string | undefined; watch: boolean }) | undefined;
  /** v3's `providers.swarm`: labels on services, polled every `refreshSeconds`. */
  swarm: (SwarmProviderOptions & { endpoint: string | undefined; watch: boolean; refreshMs: number }) | undefined;
  /** `providers.file`: `directory` or `filename`, `watch` (default true). */
  file: FileProviderOptions | undefined;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export class StaticConfigError extends Error {
  override readonly name = 'StaticConfigError';
}

type Tree = { [key: string]: unknown };

function lowerKeys(value: unknown, keepNamesUnder: string[] = [], path = ''): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Tree = {};
  for (const [key, child] of Object.entries(value as Tree)) {
    const keepCase = keepNamesUnder.includes(path);
    const name = keepCase ? key : key.toLowerCase();
    out[name] = lowerKeys(child, keepNamesUnder, keepCase ? `${path}.*` : path ? `${path}.${name}` : name);
  }
  return out;
}

function deepMerge(target: Tree, source: Tree): Tree {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (value && typeof value === 'object' && !Array.isArray(value) && existing && typeof existing === 'object' && !Array.isArray(existing)) {
      deepMerge(existing as Tree, value as Tree);
    } else {
      target[key] = value;
    }
  }
  return target;
}

/** `--a.b.c=v` and `--a.b.c` (true) into a tree; entry point names keep their case. */
export function flagsToTree(args: string[]): { tree: Tree; configFile: string | undefined } {
  const tree: Tree = {};
  let configFile: string | undefined;
  for (const arg of args) {
    const match = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new StaticConfigError(`unexpected argument ${JSON.stringify(arg)}: options look like --entryPoints.web.address=:80`);
    const path = match[1]!.split('.');
    const value = match[2] ?? 'true';
    if (path.length === 1 && path[0]!.toLowerCase() === 'configfile') {
      configFile = value;
      continue;
    }
    let node = tree;
    path.forEach((part, index) => {
      const key = index === 1 && path[0]!.toLowerCase() === 'entrypoints' ? part : part.toLowerCase();
      if (index === path.length - 1) {
        node[key] = value;
      } else {
        if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
        node = node[key] as Tree;
      }
    });
  }
  return { tree, configFile };
}

function child(tree: Tree | undefined, key: string): Tree | undefined {
  const value = tree?.[key];
  if (value === undefined || value === null || value === false || value === 'false') return undefined;
  if (value === true || value === 'true' || value === '') return {};
  if (typeof value === 'object' && !Array.isArray(value)) return value as Tree;
  throw new StaticConfigError(`${key}: expected a section or true, got ${JSON.stringify(value)}`);
}

function bool(value: unknown, key: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new StaticConfigError(`${key}: expected true or false, got ${JSON.stringify(value)}`);
}

function str(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new StaticConfigError(`${key}: expected a string, got ${JSON.stringify(value)}`);
}

/** Traefik durations: "2s", "500ms", "1m", or a bare number of seconds. */
export function parseTraefikDuration(value: unknown, key: string): number {
  const text = String(value).trim();
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!match) throw new StaticConfigError(`${key}: expected a duration like 2s or 500ms, got ${JSON.stringify(value)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's']!;
  return Math.round(Number(match[1]) * unit);
}

const UNSUPPORTED_PROVIDERS = ['kubernetescrd', 'kubernetesingress', 'consulcatalog', 'ecs', 'nomad', 'http', 'redis', 'etcd', 'consul', 'zookeeper'];

export function readStaticConfig(args: string[], readFile: (path: string) => string): StaticConfig {
  const flags = flagsToTree(args);
  let tree: Tree = {};
  if (flags.configFile) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFile(flags.configFile));
    } catch (error) {
      throw new StaticConfigError(`configFile ${flags.configFile}: ${(error as Error).message}`);
    }
    tree = (lowerKeys(parsed ?? {}, ['entrypoints']) ?? {}) as Tree;
  }
  deepMerge(tree, flags.tree);

  const entryPoints: Record<string, { address: string }> = {};
  for (const [name, entry] of Object.entries((tree.entrypoints as Tree | undefined) ?? {})) {
    const address = str((entry as Tree | undefined)?.address, `entryPoints.${name}.address`);
    if (!address || !/^(\[[^\]]+\]|[^:]*)?:\d+(\/tcp)?$/.test(address)) {
      throw new StaticConfigError(`entryPoints.${name}.address: expected [host]:port, got ${JSON.stringify(address)}`);
    }
    entryPoints[name] = { address: address.replace(/\/tcp$/, '') };
  }

  const api = child(tree, 'api');
  if (api && !bool(api.insecure, 'api.insecure', false)) {
    throw new StaticConfigError('api: the stand-in serves the API only with api.insecure=true (on the traefik entry point, bound to loopback)');
  }
  const ping = child(tree, 'ping');
  const prometheus = child(child(tree, 'metrics'), 'prometheus');
  const needsTraefikEntryPoint = api || (ping && !ping.entrypoint) || (prometheus && !prometheus.entrypoint);
  if (needsTraefikEntryPoint && !entryPoints.traefik) entryPoints.traefik = { address: ':8080' };

  const providers = (tree.providers as Tree | undefined) ?? {};
  for (const name of UNSUPPORTED_PROVIDERS) {
    if (child(providers, name)) throw new StaticConfigError(`providers.${name}: not implemented by the Traefik stand-in (it implements providers.docker, providers.swarm and providers.file)`);
  }
  const dockerTree = child(providers, 'docker');
  if (dockerTree && bool(dockerTree.swarmmode, 'providers.docker.swarmMode', false)) {
    throw new StaticConfigError("providers.docker.swarmMode: Traefik v2 spelling, not implemented by the stand-in; use v3's providers.swarm");
  }
  let docker: StaticConfig['docker'];
  if (dockerTree) {
    const constraints = str(dockerTree.constraints, 'providers.docker.constraints');
    if (constraints) {
      try {
        compileConstraints(constraints);
      } catch (error) {
        throw new StaticConfigError(`providers.docker.constraints: ${(error as Error).message}`);
      }
    }
    docker = {
      endpoint: str(dockerTree.endpoint, 'providers.docker.endpoint'),
      watch: bool(dockerTree.watch, 'providers.docker.watch', true),
      exposedByDefault: bool(dockerTree.exposedbydefault, 'providers.docker.exposedByDefault', true),
      constraints: constraints || undefined,
      network: str(dockerTree.network, 'providers.docker.network') || undefined,
      allowEmptyServices: bool(dockerTree.allowemptyservices, 'providers.docker.allowEmptyServices', false),
      defaultRule: str(dockerTree.defaultrule, 'providers.docker.defaultRule') ?? DEFAULT_RULE,
    };
  }

  const swarmTree = child(providers, 'swarm');
  let swarm: StaticConfig['swarm'];
  if (swarmTree) {
    const constraints = str(swarmTree.constraints, 'providers.swarm.constraints');
    if (constraints) {
      try {
        compileConstraints(constraints);
      } catch (error) {
        throw new StaticConfigError(`providers.swarm.constraints: ${(error as Error).message}`);
      }
    }
    const refreshMs = swarmTree.refreshseconds === undefined ? 15_000 : parseTraefikDuration(swarmTree.refreshseconds, 'providers.swarm.refreshSeconds');
    if (refreshMs <= 0) throw new StaticConfigError('providers.swarm.refreshSeconds: must be greater than zero');
    swarm = {
      endpoint: str(swarmTree.endpoint, 'providers.swarm.endpoint'),
      watch: bool(swarmTree.watch, 'providers.swarm.watch', true),
      // Traefik's Swarm provider defaults, like its Docker provider, to exposing every service.
      exposedByDefault: bool(swarmTree.exposedbydefault, 'providers.swarm.exposedByDefault', true),
      constraints: constraints || undefined,
      network: str(swarmTree.network, 'providers.swarm.network') || undefined,
      allowEmptyServices: bool(swarmTree.allowemptyservices, 'providers.swarm.allowEmptyServices', false),
      defaultRule: str(swarmTree.defaultrule, 'providers.swarm.defaultRule') ?? DEFAULT_RULE,
      refreshMs,
    };
  }

  const fileTree = child(providers, 'file');
  let file: StaticConfig['file'];
  if (fileTree) {
    const directory = str(fileTree.directory, 'providers.file.directory') || undefined;
    const filename = str(fileTree.filename, 'providers.file.filename') || undefined;
    // Traefik reads the directory when both are given (buildConfiguration checks Directory first).
    if (!directory && !filename) throw new StaticConfigError('providers.file: set directory or filename');
    for (const key of Object.keys(fileTree)) {
      if (!['directory', 'filename', 'watch', 'debugloggeneratedtemplate'].includes(key)) throw new StaticConfigError(`providers.file.${key}: unknown option`);
    }
    file = { directory, filename: directory ? undefined : filename, watch: bool(fileTree.watch, 'providers.file.watch', true) };
  }

  const logLevel = (str(child(tree, 'log')?.level, 'log.level') ?? 'info').toLowerCase();
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new StaticConfigError(`log.level: expected DEBUG, INFO, WARN or ERROR, got ${JSON.stringify(logLevel)}`);

  return {
    entryPoints,
    api: Boolean(api),
    ping: ping ? { entryPoint: str(ping.entrypoint, 'ping.entryPoint') ?? 'traefik' } : undefined,
    metrics: prometheus ? { entryPoint: str(prometheus.entrypoint, 'metrics.prometheus.entryPoint') ?? 'traefik' } : undefined,
    providersThrottleMs: providers.providersthrottleduration === undefined ? 2000 : parseTraefikDuration(providers.providersthrottleduration, 'providers.providersThrottleDuration'),
    docker,
    swarm,
    file,
    logLevel: logLevel as StaticConfig['logLevel'],
  };
}
