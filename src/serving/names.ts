import { randomBytes } from 'node:crypto';
import { InputError, quote } from '../inputs/errors';
import { shortDigest } from './labels';

/**
 * Service names end up in Traefik router and service names, container names and DNS: one
 * RFC 1123 label, lower case.
 */
const SERVICE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function parseServiceName(inputName: string, raw: string): string {
  const name = raw.trim();
  if (!SERVICE_NAME.test(name)) {
    throw new InputError(inputName, `must be a DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got ${quote(name)}`);
  }
  return name;
}

/** `iris-3f2a9c1b7d4e-k2x9`: the service, the image's short digest, and a suffix for replicas. */
export function serverContainerName(service: string, digest: string, suffix = randomBytes(2).toString('hex')): string {
  return `${service}-${shortDigest(digest)}-${suffix}`;
}

/** The one container name that is the engine-side deploy lock of a service. */
export function lockContainerName(service: string): string {
  return `train-to-serve-lock-${service}`;
}

/**
 * Swarm's limits: a service name has at most 63 characters, a config name at most 64. A model
 * version's Swarm service is `<service>-<12 hex of the digest>`, so the service part is shorter.
 */
export const SWARM_SERVICE_NAME_MAX = 50;

/** `iris-3f2a9c1b7d4e`: the Swarm service that runs one model version of a service. */
export function swarmServiceName(service: string, digest: string): string {
  return `${service}-${shortDigest(digest)}`;
}

/** The Swarm config whose existence is a service's deploy lock, Swarm-wide. */
export function lockConfigName(service: string): string {
  return `tts-lock-${service}`;
}
