import type { DeployInputs, DeploySpec } from '../../src/serving/deploy-spec';
import {
  DeployError,
  type DeployImage,
  type DeployLock,
  type DrainOptions,
  type Log,
  type NewServer,
  type PreparedImage,
  type PrunedImage,
  type PrunePreparedOptions,
  type RemovalReport,
  type RequestCount,
  type ServerFailure,
  type ServingEngine,
  type StartedServers,
} from '../../src/serving/engine';
import type { ManagedServer } from '../../src/serving/server';

/**
 * An engine held in memory, for the deploy and retire sequences: servers are records, every step
 * is written to `calls`, and a test chooses what fails. It keeps the invariants a real engine
 * keeps (a removed server is gone; a started one is listed), so the sequence's effects can be
 * read back from `servers`.
 */
export class FakeEngine implements ServingEngine {
  readonly kind = 'docker' as const;
  readonly endpoint = 'fake://engine';
  readonly calls: string[] = [];
  servers: ManagedServer[] = [];
  /** What the image is: its digest and whether it declares a HEALTHCHECK. */
  image: DeployImage = { digest: 'sha256:new', reference: 'repo@sha256:new', id: 'img-new', healthcheck: true, pulled: true };
  /** Set to make the new servers fail their wait with this problem. */
  failServing?: string;
  /** Set to make Traefik never confirm the new servers. */
  routingProblem?: string;
  /** Set to false to lose the lock before the drain. */
  holdLock = true;
  private count = 0;

  constructor(readonly unit: 'server' | 'version' = 'server') {}

  async checkDeploy(): Promise<void> {}
  async close(): Promise<void> {}

  async pullImage(): Promise<DeployImage> {
    this.calls.push('pull');
    return this.image;
  }

  async lockDeploy(): Promise<DeployLock> {
    this.calls.push('lock');
    return { stillHeld: async () => this.holdLock, release: async () => void this.calls.push('unlock') };
  }

  async listServers(service?: string): Promise<ManagedServer[]> {
    this.calls.push('list');
    return this.servers.filter((server) => !service || server.service === service).map((server) => ({ ...server }));
  }

  async removeServer(server: ManagedServer): Promise<void> {
    this.calls.push(`remove ${server.name}`);
    this.servers = this.servers.filter((s) => s.id !== server.id);
  }

  async startServers(spec: DeploySpec, image: DeployImage, count: number): Promise<StartedServers> {
    const started: StartedServers = { ids: [], names: [] };
    for (let i = 0; i < count; i++) {
      const server = fakeServer(`${spec.routing.service}-new-${++this.count}`, image.digest, { state: 'running', health: 'starting', replicas: this.unit === 'version' ? spec.replicas : undefined });
      this.servers.push(server);
      started.ids.push(server.id);
      started.names.push(server.name);
    }
    this.calls.push(`start ${count}`);
    return started;
  }

  async waitServing(_spec: DeploySpec, image: DeployImage, started: StartedServers): Promise<{ servers: NewServer[] } | { failure: ServerFailure }> {
    this.calls.push('wait');
    if (this.failServing) return { failure: { id: started.ids[0], problem: this.failServing } };
    for (const server of this.servers) if (started.ids.includes(server.id)) server.health = 'healthy';
    return { servers: started.ids.map((id, i) => ({ id, name: started.names[i]!, digest: image.digest, url: `http://${id}:8080`, reused: false })) };
  }

  async discardStarted(started: StartedServers, _image: DeployImage, failure: ServerFailure): Promise<DeployError> {
    this.calls.push(`discard ${started.names.join(',')}`);
    this.servers = this.servers.filter((server) => !started.ids.includes(server.id));
    return new DeployError(`New server ${started.names[0]} ${failure.problem}`);
  }

  async scaleVersion(server: ManagedServer, spec: DeploySpec): Promise<void> {
    this.calls.push(`scale ${server.name} ${spec.replicas}`);
    const found = this.servers.find((s) => s.id === server.id)!;
    found.replicas = spec.replicas;
  }

  async serversOf(reused: readonly ManagedServer[]): Promise<NewServer[]> {
    return reused.map((server) => ({ id: server.id, name: server.name, digest: server.digest, url: server.url, reused: true }));
  }

  async confirmRouted(): Promise<string | undefined> {
    this.calls.push('confirm');
    return this.routingProblem;
  }

  async drainAndRemove(server: ManagedServer, _options: DrainOptions, _log: Log): Promise<RemovalReport> {
    this.calls.push(`drain ${server.name}`);
    this.servers = this.servers.filter((s) => s.id !== server.id);
    return { id: server.id, name: server.name, service: server.service, digest: server.digest, outcome: 'drained', seconds: 0 };
  }

  async readRequests(): Promise<RequestCount> {
    return { readable: false, problem: 'fake' };
  }

  /** Leases asked for by retire, by service. */
  leases: Record<string, number> = {};
  /** How many stillHeld checks answer true before the lock counts as taken over. */
  heldChecks = Infinity;
  /** Runs while retire waits out the in-use window (a concurrent deploy, say). */
  duringWindow?: () => void;

  /** Services whose lock a deploy holds: tryLockService gets nothing. */
  lockedByDeploy = new Set<string>();

  async tryLockService(service: string, _log: Log, leaseMs: number): Promise<DeployLock | undefined> {
    if (this.lockedByDeploy.has(service)) {
      this.calls.push(`lock ${service} refused`);
      return undefined;
    }
    this.calls.push(`lock ${service}`);
    this.leases[service] = leaseMs;
    return { release: async () => void this.calls.push(`unlock ${service}`), stillHeld: async () => this.heldChecks-- > 0 };
  }

  async pruneImages(): Promise<PrunedImage[]> {
    this.calls.push('prune');
    return [];
  }

  async prepareImage(spec: DeploySpec): Promise<PreparedImage> {
    this.calls.push(`prepare ${spec.image.text}`);
    return { ...this.image, layersFetched: this.image.pulled, mark: `train-to-serve-prepared/${spec.routing.service}:new` };
  }

  /** Services with prepared images here, for prunePrepared without a service. */
  preparedServices: string[] = [];

  async prunePrepared(options: PrunePreparedOptions): Promise<PrunedImage[]> {
    for (const service of options.service ? [options.service] : this.preparedServices) {
      const lock = await options.lock(service);
      if (!lock) continue;
      this.calls.push(`prune-prepared ${service}`);
      await lock.release();
    }
    return [];
  }
}

let serial = 0;
export function fakeServer(name: string, digest: string, overrides: Partial<ManagedServer> = {}): ManagedServer {
  serial += 1;
  return {
    id: `id-${name}`,
    name,
    service: 'iris',
    digest,
    image: 'repo',
    deployedAt: new Date(Date.UTC(2026, 0, 1) + serial * 1000),
    state: 'running',
    health: 'healthy',
    url: `http://${name}:8080`,
    drainSignal: 'SIGUSR2',
    labels: {},
    ...overrides,
  };
}

/** deploy's inputs for the sequence tests: a replace of one server of `iris`. */
export const DEPLOY_INPUTS: DeployInputs = {
  image: 'localhost:5000/acme/iris:2',
  service: 'iris',
  rule: 'Host(`iris.localhost`)',
  entrypoints: 'web',
  port: '8080',
  network: 'serving',
  replicas: '1',
  strategy: 'replace',
  ttl: '7d',
  'health-timeout': '1m',
  'drain-timeout': '10s',
  'drain-signal': 'SIGUSR2',
  engine: 'docker',
};
