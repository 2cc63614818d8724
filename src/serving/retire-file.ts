import { ResourceError } from '../inputs/errors';
import { readRoutingState, routingFilePath } from '../traefik/routing-file';
import { readServiceFigures } from '../traefik/metrics';
import type { Log, RequestCount, ServingEngine } from './engine';
import { FileRouting } from './file-routing';
import type { ManagedServer } from './server';

/**
 * retire under `routing: file`. Expired versions are first taken out of the weighted service, so
 * the service's own traffic no longer reaches them; whatever still arrives during the in-use
 * window came through their pinned router (`X-Model-Version`), on purpose: counted from Traefik's
 * `traefik_service_requests_total{service="<service>-<version>@<provider>"}` (or the server's own
 * counter without Traefik's metrics). A version still weighted as the only one is never withdrawn.
 */
export async function fileRoutingForRetire(dir: string, service: string, provider: 'docker' | 'swarm', traefikApi: string | undefined): Promise<FileRouting | undefined> {
  const state = await readRoutingState(routingFilePath(dir, service));
  if (!state?.router) return undefined;
  return new FileRouting({ service, rule: state.router.rule, entrypoints: state.router.entrypoints, port: 0, network: '' }, dir, provider, traefikApi);
}

/** Take the expired servers' versions out of the weighted service; returns the versions left weighted among them. */
export async function withdrawVersions(file: FileRouting, expired: readonly ManagedServer[], log: Log, timeoutMs: number): Promise<Set<string>> {
  const state = await file.read();
  const leaving = new Set(expired.map((server) => file.ref(server.digest)));
  const remaining = state.backends.filter((backend) => !leaving.has(backend.service) && backend.weight > 0);
  const stays = new Set<string>();
  if (remaining.length === 0) {
    // Withdrawing them all would route nothing: the newest weighted one keeps serving.
    const newest = state.backends.find((backend) => leaving.has(backend.service) && backend.weight > 0);
    if (newest) stays.add(newest.service);
  }
  const backends = state.backends.filter((backend) => !leaving.has(backend.service) || stays.has(backend.service));
  if (backends.length === state.backends.length) return stays;
  if (!backends.some((backend) => backend.weight > 0)) throw new ResourceError(`Routing file ${file.path}`, 'no version would be left weighted; nothing was withdrawn');
  log.info(`Withdrawing ${[...leaving].filter((ref) => !stays.has(ref)).join(', ')} from ${file.routing.service}@file before the in-use window`);
  await file.publish({ backends, kept: state.kept }, log, timeoutMs);
  return stays;
}

/** A version's request counter: Traefik's per-service counter when readable, else the server's own. */
export async function versionRequests(engine: ServingEngine, file: FileRouting, server: ManagedServer): Promise<RequestCount> {
  if (file.traefikApi) {
    const figures = await readServiceFigures(`${file.traefikApi}/metrics`, file.ref(server.digest));
    if (figures) return { readable: true, requests: figures.requests, inFlight: figures.open };
  }
  return engine.readRequests(server);
}
