import { errorMessage } from '../inputs/errors';
import type Docker from 'dockerode';
import { readLogTail } from './log-tail';
import { LABELS, parseServerLabels, type TraefikHealthCheck } from '../serving/labels';
import type { DeploySpec } from '../serving/deploy-spec';
import type { Health, ManagedServer } from '../serving/server';

/**
 * Health checks of new servers. Engine API durations are nanoseconds. A probe gets 10 s and three
 * tries: on a saturated host a 3 s probe timed out on healthy servers and took every version out
 * of routing at once. The interval is deploy's `health-interval`.
 */
export const HEALTH_TIMEOUT_MS = 10_000;
/** Probes that must fail in a row before Docker reports unhealthy: how long a drain takes to show. */
export const HEALTH_RETRIES = 3;
/**
 * The grace between SIGTERM and SIGKILL when a server stops. Longer than the reference server's
 * own shutdown wait for in-flight requests (SHUTDOWN_TIMEOUT_SECONDS, 25 s).
 */
export const STOP_TIMEOUT_S = 30;

export const ms = (milliseconds: number) => Math.round(milliseconds * 1_000_000);

/**
 * The health check every server gets, container or Swarm task alike: `health-cmd` or the image's
 * own test, probed every `health-interval`, with `health-timeout` as the start period. None when
 * neither the image nor the inputs give a test.
 */
export function serverHealthcheck(
  spec: Pick<DeploySpec, 'healthCmd' | 'healthTimeoutMs' | 'healthIntervalMs'>,
  imageHasOne: boolean,
): { Healthcheck?: { Test?: string[]; Interval: number; Timeout: number; Retries: number; StartPeriod: number } } {
  if (!spec.healthCmd && !imageHasOne) return {};
  return {
    Healthcheck: {
      ...(spec.healthCmd ? { Test: spec.healthCmd } : {}),
      Interval: ms(spec.healthIntervalMs),
      Timeout: ms(HEALTH_TIMEOUT_MS),
      Retries: HEALTH_RETRIES,
      StartPeriod: ms(spec.healthTimeoutMs),
    },
  };
}

/**
 * Docker engine, `routing: file` and `health-path` without `health-cmd`: the servers are checked
 * over HTTP on health-path, by the deploy until one first answers 2xx, then by Traefik every
 * health-interval, and the image's exec HEALTHCHECK is switched off. Traefik's Docker provider
 * skips a container until Docker calls it healthy, and Docker 20.10 runs the first probe one
 * health-interval after the start (API 1.41 has no start interval): a ready server waited about
 * 2 s for nothing. Each exec probe also costs the host 0.15 to 0.2 CPU-seconds; a GET costs the
 * server one request.
 */
export function httpHealthCheck(spec: Pick<DeploySpec, 'engine' | 'routingChoice' | 'options' | 'healthCmd' | 'healthIntervalMs'>): TraefikHealthCheck | undefined {
  if (spec.engine !== 'docker' || spec.routingChoice.mode !== 'file' || !spec.options.healthPath || spec.healthCmd) return undefined;
  return { path: spec.options.healthPath, intervalMs: spec.healthIntervalMs, timeoutMs: HEALTH_TIMEOUT_MS };
}

/** A new server's environment: the image digest and commit it serves, then deploy's `env`. */
export function serverEnvironment(spec: Pick<DeploySpec, 'env' | 'provenance'>, digest: string): string[] {
  const env = new Map<string, string>([['TRAIN_TO_SERVE_IMAGE_DIGEST', digest], ...(spec.provenance.gitSha ? ([['TRAIN_TO_SERVE_GIT_SHA', spec.provenance.gitSha]] as [string, string][]) : []), ...spec.env]);
  return [...env].map(([key, value]) => `${key}=${value}`);
}

/** Docker health from `docker ps`'s status text: "Up 3 minutes (healthy)", "(health: starting)". */
export function healthFromStatus(status: string | undefined): Health {
  if (!status) return 'none';
  if (status.includes('(healthy)')) return 'healthy';
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('(health: starting)')) return 'starting';
  return 'none';
}

/** A managed container as listed by the engine, as the decisions see it. */
export function serverFromListing(container: Docker.ContainerInfo): ManagedServer {
  const labels = container.Labels ?? {};
  const parsed = parseServerLabels(labels);
  const name = (container.Names?.[0] ?? container.Id).replace(/^\//, '');
  const ip = parsed.network ? container.NetworkSettings?.Networks?.[parsed.network]?.IPAddress : undefined;
  return {
    id: container.Id,
    name,
    service: parsed.service ?? '',
    digest: parsed.digest ?? '',
    image: parsed.image ?? container.Image,
    imageId: container.ImageID,
    deployedAt: parsed.deployedAt ?? new Date(container.Created * 1000),
    expiresAt: parsed.expiresAt,
    state: container.State,
    health: healthFromStatus(container.Status),
    url: ip && parsed.port ? `http://${ip}:${parsed.port}` : undefined,
    drainSignal: parsed.drainSignal ?? 'SIGUSR2',
    labels,
  };
}

export async function listManagedContainers(docker: Docker, service?: string): Promise<ManagedServer[]> {
  const label = [`${LABELS.managed}=true`, ...(service ? [`${LABELS.service}=${service}`] : [])];
  const containers = await docker.listContainers({ all: true, filters: { label } });
  return containers.map(serverFromListing);
}

export async function lastLogLines(docker: Docker, id: string, lines = 50): Promise<string> {
  try {
    return (await readLogTail(docker, 'containers', id, lines)).trimEnd();
  } catch (error) {
    return `(logs unavailable: ${errorMessage(error)})`;
  }
}

export async function removeContainer(docker: Docker, id: string): Promise<void> {
  await docker
    .getContainer(id)
    .remove({ force: true, v: true })
    .catch((error: unknown) => {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw error;
    });
}
