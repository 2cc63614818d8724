import { describe, expect, it } from 'vitest';
import { parseDeployInputs, type DeployInputs } from '../../src/serving/deploy-spec';
import { checkDrainSignal, serverArgv } from '../../src/serving/drain-signal';
import type { DeployImage } from '../../src/serving/engine';

// Label routing drains by signalling the server's first process; a gunicorn master takes the usual
// drain signals as commands of its own (SIGUSR2: start a second master). Deploy refuses that mix.

const base: DeployInputs = {
  image: `127.0.0.1:5000/acme/api@sha256:${'b'.repeat(64)}`,
  service: 'api',
  rule: 'Host(`api.test`)',
  entrypoints: 'web',
  port: '8000',
  network: 'edge',
  replicas: '1',
  strategy: 'replace',
  ttl: '7d',
  'health-timeout': '60s',
  'drain-timeout': '20s',
  'drain-signal': 'SIGUSR2',
  engine: 'docker',
};
const spec = (changes: Partial<DeployInputs> = {}) => parseDeployInputs({ ...base, ...changes }, {});
const GUNICORN = ['/opt/venv/bin/python', '-m', 'gunicorn', '-k', 'uvicorn.workers.UvicornWorker', 'app:app'];
const image = (over: Partial<DeployImage> = {}): DeployImage => ({ digest: 'sha256:x', reference: 'r', id: 'i', healthcheck: true, pulled: false, cmd: GUNICORN, ...over });

describe('serverArgv', () => {
  it('is command or the image ENTRYPOINT, then args, or the image CMD when neither was given', () => {
    expect(serverArgv(spec(), image({ entrypoint: ['tini', '--'] }))).toEqual(['tini', '--', ...GUNICORN]);
    expect(serverArgv(spec({ args: 'uvicorn app:app' }), image({ entrypoint: ['tini', '--'] }))).toEqual(['tini', '--', 'uvicorn', 'app:app']);
    expect(serverArgv(spec({ command: 'uvicorn app:app' }), image({ entrypoint: ['tini', '--'] }))).toEqual(['uvicorn', 'app:app']);
  });
});

describe('checkDrainSignal', () => {
  it('refuses SIGUSR2 to a gunicorn master that label routing would signal', () => {
    expect(() => checkDrainSignal(spec(), image())).toThrow(
      /^Input "drain-signal": the server runs gunicorn \(\/opt\/venv\/bin\/python -m gunicorn -k…\), whose master takes SIGUSR2 as a command of its own \(start a second master beside the first\), not as a drain: use routing: file/,
    );
    expect(() => checkDrainSignal(spec({ 'drain-signal': 'SIGHUP' }), image({ cmd: ['gunicorn', 'app:app'] }))).toThrow(/^Input "drain-signal": .*takes SIGHUP as a command of its own, not as a drain/);
    expect(() => checkDrainSignal(spec({ args: '["sh", "-c", "exec /usr/local/bin/gunicorn app:app"]' }), image({ cmd: [] }))).toThrow(/^Input "drain-signal"/);
    // Swarm sends the drain signal as the tasks' stop signal, health check or not.
    expect(() => checkDrainSignal(spec({ engine: 'swarm' }), image({ healthcheck: false }))).toThrow(/^Input "drain-signal"/);
  });

  it('lets everything else through', () => {
    // Docker mode signals only servers with a health check.
    expect(() => checkDrainSignal(spec(), image({ healthcheck: false }))).not.toThrow();
    expect(() => checkDrainSignal(spec({ 'health-cmd': 'true' }), image({ healthcheck: false }))).toThrow(/^Input "drain-signal"/);
    // File routing drains without a signal.
    expect(() => checkDrainSignal(spec({ routing: 'file', 'routing-dir': '/srv/traefik' }), image())).not.toThrow();
    // A signal gunicorn does not take for itself, or another server.
    expect(() => checkDrainSignal(spec({ 'drain-signal': 'SIGTERM' }), image())).not.toThrow();
    expect(() => checkDrainSignal(spec(), image({ cmd: ['uvicorn', 'app:app', '--log-config', '/etc/gunicorn-like.conf'] }))).not.toThrow();
  });
});
