import { describe, expect, it } from 'vitest';
import { parseDeployInputs, type DeployInputs } from '../../src/serving/deploy-spec';
import { DEPLOY_INPUTS } from './fake-engine';

const parse = (changes: Partial<DeployInputs>) => parseDeployInputs({ ...DEPLOY_INPUTS, ...changes }, {});

describe('deploy input prepare', () => {
  it.each<[string | undefined, boolean]>([
    [undefined, false],
    ['', false],
    ['false', false],
    ['true', true],
    [' TRUE ', true],
  ])('prepare %j reads as %s', (raw, expected) => {
    expect(parse(raw === undefined ? {} : { prepare: raw }).prepare).toBe(expected);
  });

  it('keeps every other input of the deploy it prepares for, so the same step inputs serve both', () => {
    const spec = parse({ prepare: 'true', replicas: '3', strategy: 'add', routing: 'file', 'routing-dir': '/srv/traefik', 'keep-previous': '2h' });
    expect(spec).toMatchObject({ prepare: true, replicas: 3, strategy: 'add', routingChoice: { mode: 'file', dir: '/srv/traefik' } });
  });

  // Every bad input: one line that names the input, before anything is contacted.
  it.each<[Partial<DeployInputs>, RegExp]>([
    [{ prepare: 'yes please' }, /^Input "prepare": expected true or false, got "yes please"$/],
    [{ prepare: 'true', routing: 'file', 'routing-dir': '/srv/traefik', rollback: 'true' }, /^Input "prepare": cannot go with rollback: true/],
    [{ prepare: 'true', strategy: 'sideways' }, /^Input "strategy": /],
    [{ prepare: 'true', image: 'bad image name' }, /^Input "image": /],
    [{ prepare: 'true', image: '127.0.0.1:5000/acme/iris@sha256:123' }, /^Input "image": /],
    [{ prepare: 'true', service: 'Not_A_Label' }, /^Input "service": /],
    [{ prepare: 'true', engine: 'swarm', gpus: '1' }, /^Input "gpus": /],
  ])('%j fails naming its input', (changes, message) => {
    expect(() => parse(changes)).toThrow(message);
    expect(() => parse(changes)).toThrow(expect.objectContaining({ message: expect.not.stringContaining('\n') }) as Error);
  });
});
