import { InputError, quote } from '../inputs/errors';
import { parseBoolean, parseDuration, parseEnum } from '../inputs/parse';
import { isUrlPath } from './server-inputs';

export const ROUTING_MODES = ['labels', 'file'] as const;
export type RoutingMode = (typeof ROUTING_MODES)[number];

/**
 * How a service is routed: `labels`, every version carries the same Traefik labels and Traefik
 * merges them into one load balancer (drain needs the server's cooperation); `file`, each version
 * is its own Traefik service and the toolkit owns the table in `<dir>/<service>.yml`.
 */
export interface RoutingChoice {
  mode: RoutingMode;
  /** `file`: the directory Traefik's file provider watches, as this runner sees it. */
  dir?: string;
}

/** deploy's file-routing inputs, parsed. */
export interface FileDeployOptions {
  /** Readiness path probed by the toolkit (`/v2/health/ready`); undefined: the image's health check. */
  healthPath?: string;
  /** How long the replaced version stays at weight 0 for an instant rollback; undefined: removed. */
  keepPreviousMs?: number;
  /** Flip the weights back to the kept previous version: no pull, no start. */
  rollback: boolean;
}

export function parseRoutingChoice(inputs: { routing?: string; 'routing-dir'?: string }): RoutingChoice {
  const mode = parseEnum('routing', inputs.routing?.trim() || 'labels', ROUTING_MODES);
  const dir = inputs['routing-dir']?.trim() || undefined;
  if (mode === 'file' && !dir) throw new InputError('routing-dir', "is required with routing: file (the directory Traefik's file provider watches, as this runner sees it)");
  if (mode === 'labels' && dir) throw new InputError('routing-dir', 'is only used with routing: file; remove it, or set routing: file');
  if (dir && !dir.startsWith('/')) throw new InputError('routing-dir', `must be an absolute path, got ${quote(dir)}`);
  return { mode, dir };
}

export function parseHealthPath(raw: string | undefined): string | undefined {
  const text = raw?.trim();
  if (!text) return undefined;
  if (!isUrlPath(text)) throw new InputError('health-path', `expected a URL path starting with /, such as /v2/health/ready, got ${quote(text)}`);
  return text;
}

export function parseFileDeployOptions(choice: RoutingChoice, inputs: { 'health-path'?: string; 'keep-previous'?: string; rollback?: string }): FileDeployOptions {
  const healthPath = parseHealthPath(inputs['health-path']);
  const keep = inputs['keep-previous']?.trim();
  const keepPreviousMs = keep && keep !== 'none' ? parseDuration('keep-previous', keep) : undefined;
  const rollback = parseBoolean('rollback', inputs.rollback?.trim() || 'false');
  if (choice.mode === 'labels') {
    if (keepPreviousMs !== undefined) throw new InputError('keep-previous', 'needs routing: file (only a routing table the toolkit owns can hold a version at weight 0)');
    if (rollback) throw new InputError('rollback', 'needs routing: file and a version kept with keep-previous');
  }
  return { healthPath, keepPreviousMs, rollback };
}
