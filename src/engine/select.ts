import type { EngineKind } from '../serving/deploy-spec';
import type { ServingEngine } from '../serving/engine';
import { DockerEngine } from './docker-engine';
import { SwarmEngine } from './swarm-engine';

/** The engine implementation for `engine:` (src/serving/engine.ts). */
export async function openServingEngine(kind: EngineKind, dockerHost: string | undefined, options: { nodePruneImage?: string } = {}): Promise<ServingEngine> {
  switch (kind) {
    case 'docker':
      return DockerEngine.connect(dockerHost);
    case 'swarm':
      return SwarmEngine.connect(dockerHost, options.nodePruneImage);
  }
}
