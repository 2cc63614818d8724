import { InputError } from '../inputs/errors';
import type { EngineKind } from '../serving/deploy-spec';
import type { ServingEngine } from '../serving/engine';
import { DockerEngine } from './docker-engine';

/**
 * The engine implementation for `engine:`. A Swarm implementation of ServingEngine
 * (src/serving/engine.ts) plugs in here.
 */
export async function openServingEngine(kind: EngineKind, dockerHost: string | undefined): Promise<ServingEngine> {
  switch (kind) {
    case 'docker':
      return DockerEngine.connect(dockerHost);
    case 'swarm':
      throw new InputError('engine', 'swarm is not available yet in this version of train-to-serve; use engine: docker (the default)');
  }
}
