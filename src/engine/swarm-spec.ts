import { deployedServerIdentity, type DeploySpec } from '../serving/deploy-spec';
import { serverLabels } from '../serving/labels';
import { swarmServiceName } from '../serving/names';
import { ms, serverEnvironment, serverHealthcheck } from './containers';
import type { SwarmServiceSpec } from './swarm-state';
import { taskRuntime } from './server-runtime';

/**
 * Traefik's Swarm provider polls every `refreshSeconds` (15 s by default) and applies a change at
 * most 2 s later (its throttle). A task Swarm stops on its own (a start-first update, a scale-down,
 * a node drained) stays in Traefik's configuration that long; 3 s more of margin.
 */
export const SWARM_ROUTING_SETTLE_MS = 20_000;

/**
 * Swarm kills and replaces a task whose health check fails (docker mode only stops routing to
 * the container), so a probe that merely ran slow on a loaded node costs a restart and the
 * requests in flight. Swarm tasks' probes get more time and tries than docker mode's (10 s, 3):
 * a task must fail for about half a minute before Swarm replaces it. Readiness is unchanged (one
 * passing probe), and drains do not use the health check on Swarm (routing is withdrawn instead).
 */
export const SWARM_PROBE = { timeoutMs: 10_000, retries: 3 };

/** How long Swarm waits before restarting a task that exited while it should run. */
const RESTART_DELAY_MS = 5000;
/** After each task an update replaced, how long Swarm watches it before it counts as updated. */
const UPDATE_MONITOR_MS = 10_000;

/**
 * The stop grace period of a version's tasks. Swarm sends the task's stop signal (deploy's
 * `drain-signal`), then SIGKILL after this long. A server that honours the drain signal keeps
 * answering meanwhile, so a stop Swarm makes on its own drops no request as long as this outlasts
 * Traefik's polling: at least SWARM_ROUTING_SETTLE_MS, and `drain-timeout` when that is longer.
 */
export function stopGracePeriodMs(drainTimeoutMs: number): number {
  return Math.max(drainTimeoutMs, SWARM_ROUTING_SETTLE_MS);
}

export interface VersionImage {
  /** What tasks run: `repo@sha256:…` when the image came from a registry. */
  reference: string;
  digest: string;
  /** The image declares a HEALTHCHECK. */
  healthcheck: boolean;
}

/**
 * The Swarm service spec of one model version (Engine API `POST /services/create`; durations in
 * nanoseconds). Traefik's labels and the toolkit's go on the service (Traefik's Swarm provider
 * reads service labels, never container labels); the task template carries the image, the
 * environment, the readiness check Swarm gates `running` on, and the drain signal as stop signal.
 * Updates Swarm makes to the service (scaling, an operator's `docker service update`) start each
 * new task before stopping an old one and roll back when a new task fails.
 */
export function versionServiceSpec(spec: DeploySpec, image: VersionImage, deployedAt: Date, networkId: string): SwarmServiceSpec {
  const { service } = spec.routing;
  const labels = serverLabels(spec.routing, deployedServerIdentity(spec, image.digest, deployedAt), 'swarm', spec.routingChoice.mode);
  const updateOrder = { Parallelism: 1, Delay: 0, Monitor: ms(UPDATE_MONITOR_MS), MaxFailureRatio: 0, Order: 'start-first' };
  const { Healthcheck } = serverHealthcheck(spec, Boolean(image.healthcheck));
  const runtime = taskRuntime(spec.process);
  return {
    Name: swarmServiceName(service, image.digest),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: image.reference,
        ...runtime.containerSpec,
        Env: serverEnvironment(spec, image.digest),
        // File routing withdraws a version before it stops, so the stop is a plain SIGTERM.
        StopSignal: spec.routingChoice.mode === 'file' ? 'SIGTERM' : spec.drainSignal,
        StopGracePeriod: ms(stopGracePeriodMs(spec.drainTimeoutMs)),
        ...(Healthcheck ? { Healthcheck: { ...Healthcheck, Timeout: ms(SWARM_PROBE.timeoutMs), Retries: SWARM_PROBE.retries } } : {}),
      },
      ...(runtime.resources ? { Resources: runtime.resources } : {}),
      RestartPolicy: { Condition: 'any', Delay: ms(RESTART_DELAY_MS), MaxAttempts: 0 },
      Networks: [{ Target: networkId }],
    },
    Mode: { Replicated: { Replicas: spec.replicas } },
    UpdateConfig: { ...updateOrder, FailureAction: 'rollback' },
    RollbackConfig: { ...updateOrder, FailureAction: 'pause' },
    EndpointSpec: { Mode: 'vip' },
  };
}
