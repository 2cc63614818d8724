import { describe, expect, it } from 'vitest';
import { waitForIdle, type IdleFigures } from '../../src/serving/idle';

/** A look that answers the given figures in turn, then the last one forever; counts its calls. */
function looks(...figures: IdleFigures[]) {
  let calls = 0;
  const look = async () => figures[Math.min(calls++, figures.length - 1)]!;
  return { look, calls: () => calls };
}

describe('waitForIdle: when a withdrawn version has finished its requests', () => {
  it('waits for an in-flight figure to reach 0, whatever the counter does', async () => {
    const { look, calls } = looks({ inFlight: 2, requests: 5 }, { inFlight: 1, requests: 5 }, { inFlight: 0, requests: 9 });
    expect(await waitForIdle(look, 5000, { pollMs: 1 })).toBe(true);
    expect(calls()).toBe(3);
  });

  // Traefik v3 has no per-service in-flight gauge: its request counter moves when a request ends.
  it('without an in-flight figure, waits until the request counter has stood still for the quiet time', async () => {
    const started = Date.now();
    const { look, calls } = looks({ requests: 1 }, { requests: 2 }, { requests: 3 }, { requests: 3 });
    expect(await waitForIdle(look, 5000, { pollMs: 5, quietMs: 200 })).toBe(true);
    expect(calls()).toBeGreaterThan(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('returns at once when nothing can be read', async () => {
    const { look, calls } = looks({});
    expect(await waitForIdle(look, 5000, { pollMs: 1 })).toBe(true);
    expect(calls()).toBe(1);
  });

  it('gives up after the timeout while requests are in flight, or while the counter keeps moving', async () => {
    expect(await waitForIdle(looks({ inFlight: 1 }).look, 50, { pollMs: 5 })).toBe(false);
    let requests = 0;
    expect(await waitForIdle(async () => ({ requests: requests++ }), 50, { pollMs: 5, quietMs: 20 })).toBe(false);
  });
});
