import { describe, expect, it } from 'vitest';
import { checkAll } from '../../src/async/checks';

const after = <T>(ms: number, settle: () => T): Promise<T> => new Promise<void>((resolve) => setTimeout(resolve, ms)).then(settle);

describe('checkAll', () => {
  it('reports the first failure in the order given, not the first in time', async () => {
    const network = after(40, () => {
      throw new Error('Input "network": no such network');
    });
    const traefik = after(0, () => {
      throw new Error('Traefik API at http://127.0.0.1:9: not reachable');
    });
    await expect(checkAll([network, traefik])).rejects.toThrow('Input "network"');
  });

  it('passes when every check passes, skipping the ones left out', async () => {
    await expect(checkAll([Promise.resolve('ok'), undefined, after(5, () => 1)])).resolves.toBeUndefined();
  });

  it('returns only when every check has settled', async () => {
    let slowDone = false;
    await expect(
      checkAll([
        Promise.reject(new Error('first')),
        after(30, () => {
          slowDone = true;
        }),
      ]),
    ).rejects.toThrow('first');
    expect(slowDone).toBe(true);
  });
});
