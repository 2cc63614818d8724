import { parseBoolean, parseDuration, parseEnum, parseInteger } from '../inputs/parse';
import { parseDockerHost } from '../engine/connection';
import { ENGINES, parseTraefikApi, type EngineKind } from './deploy-spec';
import { parseServiceName } from './names';
import { parseRoutingChoice } from './routing-spec';
import { parseGivenImage } from '../registry/reference';
import { InputError } from '../inputs/errors';

/** retire's inputs, keyed exactly as in actions/retire/action.yml; optional ones undefined. */
export interface RetireInputs {
  service?: string;
  keep: string;
  'max-age'?: string;
  'dry-run': string;
  'drain-timeout': string;
  'traefik-api'?: string;
  'in-use-window'?: string;
  'prune-images': string;
  /** Absent: 72h. */
  'keep-prepared'?: string;
  engine: string;
  'docker-host'?: string;
  routing?: string;
  'routing-dir'?: string;
  'node-prune-image'?: string;
}

export interface RetireSpec {
  service?: string;
  keep: number;
  maxAgeMs?: number;
  dryRun: boolean;
  drainTimeoutMs: number;
  traefikApi?: string;
  inUseWindowMs?: number;
  pruneImages: boolean;
  /** How long a prepared image no container uses is kept (src/engine/prepared.ts). */
  keepPreparedMs: number;
  engine: EngineKind;
  dockerHost?: string;
  /** routing: file: the directory holding the routing files. */
  routingDir?: string;
  /** engine swarm: an image with a Docker CLI, run on every node to prune images there. */
  nodePruneImage?: string;
}

/** A weekend of review: a pull request's prefetch outlives it. */
export const DEFAULT_KEEP_PREPARED = '72h';

export function parseRetireInputs(inputs: RetireInputs): RetireSpec {
  const spec: RetireSpec = {
    service: inputs.service !== undefined ? parseServiceName('service', inputs.service) : undefined,
    keep: parseInteger('keep', inputs.keep, { min: 0 }),
    maxAgeMs: inputs['max-age'] !== undefined ? parseDuration('max-age', inputs['max-age']) : undefined,
    dryRun: parseBoolean('dry-run', inputs['dry-run']),
    drainTimeoutMs: parseDuration('drain-timeout', inputs['drain-timeout']),
    traefikApi: parseTraefikApi('traefik-api', inputs['traefik-api']),
    inUseWindowMs: inputs['in-use-window'] !== undefined ? parseDuration('in-use-window', inputs['in-use-window']) : undefined,
    pruneImages: parseBoolean('prune-images', inputs['prune-images']),
    keepPreparedMs: parseDuration('keep-prepared', inputs['keep-prepared'] ?? DEFAULT_KEEP_PREPARED),
    engine: parseEnum('engine', inputs.engine, ENGINES),
    dockerHost: inputs['docker-host'],
    routingDir: parseRoutingChoice(inputs).dir,
    nodePruneImage: inputs['node-prune-image'] !== undefined ? parseGivenImage(inputs['node-prune-image'], 'node-prune-image').text : undefined,
  };
  if (spec.nodePruneImage !== undefined && spec.engine !== 'swarm') throw new InputError('node-prune-image', 'applies to engine swarm only (with engine docker, the runner prunes its own engine)');
  if (spec.dockerHost !== undefined) parseDockerHost(spec.dockerHost);
  return spec;
}
