import { docker, removeNetwork } from './docker-cli';

/**
 * A single-node swarm for the tests of `engine: swarm` and the stand-in's Swarm provider, on the
 * shared engine (TESTBED.md: `docker swarm init --advertise-addr 127.0.0.1` works here; the ingress
 * routing mesh does not, so nothing here publishes through it).
 *
 * When the engine is not in a swarm, the first test that needs one initialises it and leaves it
 * initialised: test files run in parallel, and leaving the swarm (`docker swarm leave --force`)
 * while another file's services run would take them down. Swarm mode changes nothing for
 * containers and bridge networks, so the other tests do not notice. A swarm that was active
 * before is used as it is and never left.
 */
export async function ensureSwarm(): Promise<void> {
  const state = async () => (await docker(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'])).trim();
  let current = await state();
  if (current.startsWith('inactive')) {
    await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']).catch(async (error: Error) => {
      // Another test file initialised it at the same moment.
      if (!/already part of a swarm/i.test(error.message)) throw error;
    });
    current = await state();
  }
  if (current !== 'active true') throw new Error(`the Docker Engine is not a Swarm manager (Swarm state: ${current}); the swarm tests need one (docker swarm init --advertise-addr 127.0.0.1)`);
}

/** An overlay network other containers can join (`--attachable`), as Traefik and a runner container do. */
export async function createOverlayNetwork(name: string): Promise<void> {
  await docker(['network', 'create', '--driver', 'overlay', '--attachable', name]);
}

/** Remove the Swarm services whose names start with `prefix`, then wait until their tasks' containers are gone. */
export async function removeServices(prefix: string): Promise<void> {
  const names = (await docker(['service', 'ls', '--format', '{{.Name}}']).catch(() => '')).split('\n').filter((name) => name.startsWith(prefix));
  if (names.length > 0) await docker(['service', 'rm', ...names]).catch(() => {});
  for (let i = 0; i < 120; i++) {
    const left = (await docker(['ps', '-a', '--filter', 'label=com.docker.swarm.service.name', '--format', '{{.Label "com.docker.swarm.service.name"}}']).catch(() => '')).split('\n').filter((name) => name.startsWith(prefix));
    if (left.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Remove an overlay network once its services are gone (their endpoints go a moment later). */
export async function removeOverlayNetwork(name: string): Promise<void> {
  await removeNetwork(name, 10);
}
