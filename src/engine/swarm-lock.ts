import type Docker from 'dockerode';
import { LABELS } from '../serving/labels';
import { lockConfigName } from '../serving/names';
import { statusOf } from './errors';
import { HOLDER_LABEL, parseHolder, type LockStore } from './lock';

/**
 * The Swarm-wide deploy lock of a service: a Swarm config named `tts-lock-<service>`. Configs live
 * in the managers' Raft store, which refuses a second config of one name (409), so two runners on
 * any managers of one swarm cannot both take it. The holder record is the config's content and
 * label; stale locks are taken over by the rules of src/engine/lock.ts.
 */
export function swarmLockStore(docker: Docker, service: string): LockStore {
  const name = lockConfigName(service);
  return {
    description: `Swarm config ${name}`,
    async create(holder) {
      const record = JSON.stringify(holder);
      try {
        const config = (await docker.createConfig({
          Name: name,
          Labels: { [LABELS.lock]: service, [HOLDER_LABEL]: record },
          Data: Buffer.from(record).toString('base64'),
        })) as unknown as { id?: string; ID?: string };
        return config.id ?? config.ID;
      } catch (error) {
        if (statusOf(error) === 409) return undefined;
        throw error;
      }
    },
    async read() {
      try {
        const info = (await docker.getConfig(name).inspect()) as { ID: string; Spec?: { Labels?: Record<string, string> } };
        return { id: info.ID, holder: parseHolder(info.Spec?.Labels?.[HOLDER_LABEL]) };
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },
    async remove(id) {
      await docker
        .getConfig(id)
        .remove()
        .catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
    },
  };
}
