import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureMessage, runAction, type ActionRunResult } from '../support/action-runner';
import { startRegistry, type TestRegistry } from '../support/registry';
import { pushNodeBase, suffix } from '../support/base-images';

// The gate's baseline given as an image reference: the metrics publish recorded in the
// production image's config label, read from the real registry with token auth (as GHCR).

describe('gate with an image as its baseline', () => {
  let registry: TestRegistry;
  let workspace: string;
  let image: string;
  const results: ActionRunResult[] = [];

  const gate = async (inputs: Record<string, string>) => {
    const result = await runAction('gate', {
      inputs: { metrics: 'metrics.json', rules: 'accuracy >= baseline - 0.01\nlatency_ms <= baseline * 1.1', comment: 'false', status: 'false', 'registry-username': registry.username, 'registry-password': registry.password, ...inputs },
      workspace,
    });
    results.push(result);
    return result;
  };

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
    const base = await pushNodeBase(registry, `base/node-${suffix()}`);
    image = `${registry.host}/acme/iris-${suffix()}`;
    workspace = mkdtempSync(join(tmpdir(), 'tts-gate-ws-'));
    writeFileSync(join(workspace, 'weights.bin'), 'weights');
    writeFileSync(join(workspace, 'production-metrics.json'), JSON.stringify({ accuracy: 0.95, latency_ms: 40 }));
    writeFileSync(join(workspace, 'metrics.json'), JSON.stringify({ accuracy: 0.945, latency_ms: 50 }));
    const published = await runAction('publish', {
      inputs: {
        'model-path': join(workspace, 'weights.bin'),
        'base-image': base,
        image,
        tags: 'production',
        metrics: join(workspace, 'production-metrics.json'),
        'registry-username': registry.username,
        'registry-password': registry.password,
      },
      env: { SOURCE_DATE_EPOCH: '1714000000' },
    });
    expect(failureMessage(published), published.log).toBeUndefined();
  });
  afterAll(async () => {
    await registry?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('compares with the metrics recorded in the image', async () => {
    const result = await gate({ baseline: `${image}:production`, 'fail-on-violation': 'false' });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs.passed).toBe('false');
    const violations = JSON.parse(result.outputs.violations!) as { metric: string; baseline: number }[];
    expect(violations).toEqual([expect.objectContaining({ metric: 'latency_ms', baseline: 40 })]);
    expect(result.summary).toContain(`${image}:production`);
    expect(registry.tokenRequests.at(-1)).toEqual({ user: registry.username, scopes: [`repository:${image.slice(registry.host.length + 1)}:pull`] });
  });

  it('treats an image that does not exist yet as no baseline', async () => {
    const result = await gate({ baseline: `${registry.host}/acme/never-published:production` });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs.passed).toBe('true');
  });

  it('names the credentials when the registry refuses them, and never shows them', async () => {
    const result = await gate({ baseline: `${image}:production`, 'registry-password': 'wrong-password-123' });
    expect(result.exitCode).toBe(1);
    expect(failureMessage(result)).toMatch(/^Input "registry-password": Registry 127\.0\.0\.1:\d+, repository acme\/iris-\w+: token service refused the credentials of user "octocat".*check registry-username and registry-password\)$/);
    for (const r of results) {
      expect(r.log).not.toContain(registry.password);
      expect(r.log).not.toContain('wrong-password-123');
      expect(r.summary).not.toContain(registry.password);
    }
  });
});
