import type Docker from 'dockerode';
import type { Health } from '../serving/server';

/** The part of a container's state that deploy and drain wait on. */
export interface ContainerStatus {
  /** Still exists on the engine. */
  exists: boolean;
  /** `running`, `exited`, `restarting`, `created`, … */
  state: string;
  health: Health;
  /** Died at least once since the watch began (a restart policy may have started it again). */
  died: boolean;
  exitCode?: number;
  /** The last health check's output, for messages. */
  lastProbe?: string;
}

interface EngineEvent {
  Type?: string;
  Action?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/**
 * Follows a few containers through the engine's event stream (`start`, `die`, `health_status`,
 * `destroy`), with an inspect every second as a safety net for a missed event, so waits end as
 * soon as the engine knows. Subscribed before anything is done to the containers, so no change is
 * missed.
 */
export class ContainerWatch {
  private readonly statuses = new Map<string, ContainerStatus>();
  private readonly listeners = new Set<() => void>();
  private readonly abort = new AbortController();
  private pollTimer?: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly docker: Docker,
    private readonly ids: string[],
  ) {}

  static async open(docker: Docker, ids: string[]): Promise<ContainerWatch> {
    // An empty container filter would follow every container on the engine.
    if (ids.length === 0) throw new Error('ContainerWatch needs at least one container');
    const watch = new ContainerWatch(docker, ids);
    const stream = await docker.getEvents({
      filters: { type: ['container'], container: ids, event: ['start', 'die', 'health_status', 'destroy'] },
      abortSignal: watch.abort.signal,
    } as Docker.GetEventsOptions);
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) watch.onEvent(JSON.parse(line) as EngineEvent);
      }
    });
    stream.on('error', () => {});
    await Promise.all(ids.map((id) => watch.refresh(id)));
    watch.pollTimer = setInterval(() => void Promise.all(ids.map((id) => watch.refresh(id))), 1000);
    return watch;
  }

  private update(id: string, change: Partial<ContainerStatus>): void {
    const current = this.statuses.get(id) ?? { exists: true, state: 'created', health: 'none', died: false };
    this.statuses.set(id, { ...current, ...change });
    for (const listener of this.listeners) listener();
  }

  private onEvent(event: EngineEvent): void {
    const id = event.Actor?.ID ?? event.id;
    const action = event.Action ?? '';
    if (!id || !this.ids.includes(id)) return;
    if (action === 'start') this.update(id, { state: 'running' });
    else if (action === 'die') this.update(id, { state: 'exited', died: true, exitCode: Number(event.Actor?.Attributes?.exitCode ?? NaN) });
    else if (action === 'destroy') this.update(id, { exists: false, state: 'removed' });
    else if (action.startsWith('health_status')) {
      const health = action.slice(action.indexOf(':') + 1).trim();
      if (health === 'healthy' || health === 'unhealthy' || health === 'starting') this.update(id, { health });
    }
  }

  /** Re-read a container's state from the engine (the safety net, and the first look). */
  async refresh(id: string): Promise<void> {
    if (this.closed) return;
    try {
      const info = await this.docker.getContainer(id).inspect();
      const log = info.State.Health?.Log ?? [];
      const last = log[log.length - 1];
      const health = (info.State.Health?.Status as Health | undefined) || 'none';
      const previous = this.statuses.get(id);
      this.update(id, {
        exists: true,
        state: info.State.Status,
        health,
        died: (previous?.died ?? false) || info.State.Status === 'exited' || info.State.Status === 'dead' || info.RestartCount > 0,
        exitCode: info.State.Status === 'running' ? previous?.exitCode : info.State.ExitCode,
        lastProbe: last ? `exit ${last.ExitCode}: ${last.Output.trim().slice(0, 300)}` : undefined,
      });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) this.update(id, { exists: false, state: 'removed' });
    }
  }

  status(id: string): ContainerStatus {
    return this.statuses.get(id) ?? { exists: true, state: 'created', health: 'none', died: false };
  }

  /**
   * Resolve with the first non-undefined answer of `check` over the container's status, or with
   * `onTimeout()` after `timeoutMs`.
   */
  until<T>(id: string, check: (status: ContainerStatus) => T | undefined, timeoutMs: number, onTimeout: (status: ContainerStatus) => T): Promise<T> {
    return new Promise((resolve) => {
      const finish = (value: T) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(value);
      };
      const listener = () => {
        const answer = check(this.status(id));
        if (answer !== undefined) finish(answer);
      };
      const timer = setTimeout(() => finish(onTimeout(this.status(id))), timeoutMs);
      this.listeners.add(listener);
      listener();
    });
  }

  close(): void {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.listeners.clear();
    this.abort.abort();
  }
}
