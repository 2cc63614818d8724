import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { checkRuleSyntax } from './rule';

/**
 * The routing table the toolkit owns for one service: `<routing-dir>/<service>.yml`, read by
 * Traefik's file provider (`providers.file.directory`, `watch: true`). It holds the service's
 * main router and a weighted service over the versions' own services, which another provider
 * defines from labels (`iris-3f2a9c1b7d4e@docker`). Optionally a mirroring service in front, for
 * shadow traffic. Traefik's dynamic configuration reference: routers (rule, entryPoints,
 * middlewares, priority, tls, service), services (weighted.services[].name/weight,
 * mirroring.service/mirrors[].name/percent).
 *
 * The toolkit's own bookkeeping (which versions are kept for a rollback, until when) rides in the
 * same file as a comment line, so the table and its state change in one atomic rename.
 */
export interface Backend {
  /** A service name with its provider: `iris-3f2a9c1b7d4e@docker`. */
  service: string;
  weight: number;
}

export interface RoutingTable {
  service: string;
  rule: string;
  entrypoints: string[];
  middlewares?: string[];
  priority?: number;
  /** Terminate TLS on the router (`tls: {}`, or with a cert resolver). */
  tls?: { certResolver?: string };
  backends: Backend[];
  /** Shadow traffic: copy `percent` % of requests to `service`; answers come from the backends. */
  mirror?: { service: string; percent: number };
  /** Toolkit state: version → ISO time until which its servers are kept for a rollback. */
  kept?: Record<string, string>;
  /** Toolkit state: a canary or shadow in progress (src/rollout), written in the same atomic rename as its weights. */
  rollout?: unknown;
}

const STATE_PREFIX = '# train-to-serve-state: ';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const BACKEND = /^[A-Za-z0-9][A-Za-z0-9_-]*@(docker|swarm|file)$/;

export class RoutingFileError extends Error {
  override readonly name = 'RoutingFileError';
}

/** The name of the weighted service (and the main router) in the file. */
export function mainName(service: string): string {
  return service;
}

/**
 * Check what Traefik would reject or what would route nothing: names, the rule's syntax, weights,
 * a mirror percentage. Throws a RoutingFileError naming the problem.
 */
export function validateRoutingTable(table: RoutingTable): void {
  if (!NAME.test(table.service)) throw new RoutingFileError(`not a Traefik service name: ${JSON.stringify(table.service)}`);
  try {
    checkRuleSyntax(table.rule);
  } catch (error) {
    throw new RoutingFileError(`rule ${JSON.stringify(table.rule)} would be rejected by Traefik: ${(error as Error).message}`);
  }
  if (table.entrypoints.length === 0) throw new RoutingFileError('a router needs at least one entry point');
  for (const name of [...table.entrypoints, ...(table.middlewares ?? [])]) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_@.-]*$/.test(name)) throw new RoutingFileError(`not a Traefik entry point or middleware name: ${JSON.stringify(name)}`);
  }
  if (table.priority !== undefined && (!Number.isInteger(table.priority) || table.priority < 0)) throw new RoutingFileError(`priority must be a non-negative integer, got ${table.priority}`);
  const seen = new Set<string>();
  for (const backend of table.backends) {
    if (!BACKEND.test(backend.service)) throw new RoutingFileError(`not a service reference with its provider (name@docker): ${JSON.stringify(backend.service)}`);
    if (seen.has(backend.service)) throw new RoutingFileError(`${backend.service} is listed twice`);
    seen.add(backend.service);
    if (!Number.isInteger(backend.weight) || backend.weight < 0) throw new RoutingFileError(`weight of ${backend.service} must be a non-negative integer, got ${backend.weight}`);
  }
  // A weighted service whose every weight is 0 answers nothing: never write one.
  if (!table.backends.some((backend) => backend.weight > 0)) throw new RoutingFileError(`the weighted service ${table.service} would have no version with a weight above 0, so it would route nothing`);
  if (table.mirror) {
    if (!BACKEND.test(table.mirror.service)) throw new RoutingFileError(`not a service reference with its provider: ${JSON.stringify(table.mirror.service)}`);
    if (!Number.isInteger(table.mirror.percent) || table.mirror.percent < 0 || table.mirror.percent > 100) throw new RoutingFileError(`mirror percent must be an integer from 0 to 100, got ${table.mirror.percent}`);
  }
}

/** Traefik's dynamic configuration for the table, as YAML, state comment first. */
export function renderRoutingFile(table: RoutingTable): string {
  validateRoutingTable(table);
  const name = mainName(table.service);
  const weightedName = table.mirror ? `${name}-weighted` : name;
  const router: Record<string, unknown> = { rule: table.rule, entryPoints: table.entrypoints, service: name };
  if (table.middlewares?.length) router.middlewares = table.middlewares;
  if (table.priority !== undefined) router.priority = table.priority;
  if (table.tls) router.tls = table.tls.certResolver ? { certResolver: table.tls.certResolver } : {};
  const services: Record<string, unknown> = {
    [weightedName]: { weighted: { services: table.backends.filter((b) => b.weight > 0).map((b) => ({ name: b.service, weight: b.weight })) } },
  };
  if (table.mirror) services[name] = { mirroring: { service: weightedName, mirrors: [{ name: table.mirror.service, percent: table.mirror.percent }] } };
  const state = { kept: table.kept ?? {}, backends: table.backends, ...(table.mirror ? { mirror: table.mirror } : {}), ...(table.rollout !== undefined ? { rollout: table.rollout } : {}) };
  return `${STATE_PREFIX}${JSON.stringify(state)}\n# Written by train-to-serve deploy/retire: changes made by hand are replaced on the next deploy.\n${stringifyYaml({ http: { routers: { [name]: router }, services } })}`;
}

/** The main router's rule and entry points, as the file holds them (retire rewrites the file without deploy's inputs). */
function routerOf(text: string): { rule: string; entrypoints: string[] } | undefined {
  try {
    const doc = parseYaml(text) as { http?: { routers?: Record<string, { rule?: string; entryPoints?: string[] }> } } | null;
    const router = Object.values(doc?.http?.routers ?? {})[0];
    return router?.rule ? { rule: router.rule, entrypoints: router.entryPoints ?? [] } : undefined;
  } catch {
    return undefined;
  }
}

/** The backends and state the toolkit last wrote, or undefined when the file does not exist. */
export async function readRoutingState(path: string): Promise<{ backends: Backend[]; kept: Record<string, string>; mirror?: RoutingTable['mirror']; router?: { rule: string; entrypoints: string[] }; rollout?: unknown } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const line = text.split('\n').find((l) => l.startsWith(STATE_PREFIX));
  if (line) {
    try {
      const state = JSON.parse(line.slice(STATE_PREFIX.length)) as { backends?: Backend[]; kept?: Record<string, string>; mirror?: RoutingTable['mirror']; rollout?: unknown };
      return { backends: state.backends ?? [], kept: state.kept ?? {}, mirror: state.mirror, router: routerOf(text), rollout: state.rollout };
    } catch {
      // Fall through to the YAML itself.
    }
  }
  // A file without the state line (edited by hand): read the weights from the YAML.
  const doc = parseYaml(text) as { http?: { services?: Record<string, { weighted?: { services?: { name?: string; weight?: number }[] } }> } } | null;
  const services = Object.values(doc?.http?.services ?? {});
  const weighted = services.find((service) => service.weighted)?.weighted?.services ?? [];
  return { backends: weighted.map((entry) => ({ service: String(entry.name ?? ''), weight: Number(entry.weight ?? 1) })), kept: {} };
}

export function routingFilePath(dir: string, service: string): string {
  return join(dir, `${service}.yml`);
}

/**
 * Where the temporary files are written: a subdirectory of the routing directory (same file
 * system, so the rename is atomic). Traefik's file provider watches the directory and the files
 * in it, not its subdirectories, and rebuilds on every event it sees (pkg/provider/file/file.go
 * addWatcher); a temporary file beside the table would be one more event before the rename,
 * applied at once, so the rename would land in the provider throttle's sleep and wait up to
 * providersThrottleDuration (2 s) longer. Its files end in `.tmp`, which the provider never loads.
 */
export const STAGING_DIR = '.train-to-serve';

/**
 * Write the table atomically: a temporary file in STAGING_DIR, flushed, then renamed over the old
 * one. Traefik's watcher sees one event, and either the old file or the new one, never half of one.
 */
export async function writeRoutingFile(dir: string, table: RoutingTable): Promise<string> {
  const text = renderRoutingFile(table);
  const target = routingFilePath(dir, table.service);
  const staging = join(dir, STAGING_DIR);
  await mkdir(staging, { recursive: true });
  const temp = join(staging, `${table.service}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  return target;
}

/** Why the directory cannot hold routing files, or undefined. Creates nothing. */
export async function routingDirProblem(dir: string): Promise<string | undefined> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) return `${JSON.stringify(dir)} is not a directory`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return `${JSON.stringify(dir)} does not exist (create it and point Traefik's providers.file.directory at it)`;
    return `${JSON.stringify(dir)} cannot be read (${(error as Error).message})`;
  }
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch {
    return `${JSON.stringify(dir)} is not writable by this runner (uid ${process.getuid?.() ?? '?'})`;
  }
  return undefined;
}
