import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureMessage, runAction, type ActionRunResult } from '../support/action-runner';
import { buildImage, docker, removeNetwork } from '../support/docker-cli';
import { tabularClassifier } from '../support/onnx-models';
import { ensureFastApiImage } from '../support/python-image';
import { startRegistry, type TestRegistry } from '../support/registry';

/**
 * deploy's inputs for a server that is not the reference server, on the real engine: the FastAPI
 * app of test/support/python/fastapi_app.py under uvicorn (no HEALTHCHECK, health on /ping, its own
 * request counter on a metrics port of its own), started with deploy's command and args on another
 * port than its image says, with memory, cpus, shm-size and ulimits. Each setting is checked twice:
 * in `docker inspect`, and from inside the server's process. Then retire's in-use window reads the
 * counter on the metrics port, from the labels deploy wrote.
 */
const run = randomBytes(3).toString('hex');
const service = `ttsi${run}`;
const network = `tts-inputs-${run}`;
const METRICS_PORT = 9300;
let registry: TestRegistry;
const images: Record<string, string> = {};

const serverInputs = {
  command: '["/opt/venv/bin/python"]',
  // The image's CMD serves on 8000; only these args make it serve on 8080, where deploy probes it.
  args: `-m uvicorn fastapi_app:app --app-dir /app --host 0.0.0.0 --port 8080`,
  env: `METRICS_PORT=${METRICS_PORT}`,
  'health-path': '/ping',
  memory: '384m',
  cpus: '0.5',
  'shm-size': '96m',
  // At most the daemon's own memlock hard limit (8 MiB on this machine's dockerd, which may not raise it).
  ulimits: 'nofile=1024:2048\nmemlock=4194304',
  'metrics-port': String(METRICS_PORT),
  'request-metric': 'fastapi_inference_requests_total',
};

/** The local dockerd's memlock hard limit in bytes, when it is finite and readable (it may not raise a container's above it without CAP_SYS_RESOURCE). */
function daemonMemlockLimit(): number | undefined {
  try {
    const pid = execFileSync('pgrep', ['-o', 'dockerd'], { encoding: 'utf8' }).trim();
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max locked memory'));
    const hard = line?.split(/\s{2,}/)[2];
    return hard && /^\d+$/.test(hard) ? Number(hard) : undefined;
  } catch {
    return undefined;
  }
}

function deploy(image: string, inputs: Record<string, string> = {}): Promise<ActionRunResult> {
  return runAction('deploy', {
    inputs: { image, service, rule: `Host(\`${service}.test\`)`, network, 'registry-username': registry.username, 'registry-password': registry.password, 'health-timeout': '120s', 'drain-timeout': '20s', ...serverInputs, ...inputs },
    timeoutMs: 400_000,
  });
}

interface Inspect {
  Id: string;
  Name: string;
  Config: { Entrypoint: string[] | null; Cmd: string[] | null; Labels: Record<string, string>; Healthcheck?: unknown };
  HostConfig: { Memory: number; NanoCpus: number; ShmSize: number; Ulimits: { Name: string; Soft: number; Hard: number }[] | null };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
}

async function containersOf(): Promise<Inspect[]> {
  const ids = (await docker(['ps', '-q', '--filter', `label=train-to-serve.service=${service}`])).split('\n').filter(Boolean);
  return ids.length === 0 ? [] : (JSON.parse(await docker(['inspect', ...ids])) as Inspect[]);
}

/**
 * What the server's own process (PID 1, the server deploy started) has: its rlimits from
 * /proc/1/limits (not this probe's own: runc's exec may hand an exec'd process other soft limits),
 * /dev/shm, and its cgroup's memory and CPU limits (v1 or v2).
 */
const PROBE = `
import json, os
limits = {line[:26].strip(): line[26:].split()[:2] for line in open('/proc/1/limits').read().splitlines()[1:]}
def rlimit(name):
    return [-1 if value == 'unlimited' else int(value) for value in limits[name]]
def read(*paths):
    for path in paths:
        try:
            return open(path).read().strip()
        except OSError:
            pass
shm = os.statvfs('/dev/shm')
print(json.dumps({
    'nofile': rlimit('Max open files'),
    'memlock': rlimit('Max locked memory'),
    'cmdline': open('/proc/1/cmdline').read().split('\\0')[:-1],
    'shm': shm.f_blocks * shm.f_frsize,
    'memory': read('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'),
    'cpu': read('/sys/fs/cgroup/cpu.max') or ' '.join([read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us') or '', read('/sys/fs/cgroup/cpu/cpu.cfs_period_us') or '']),
}))
`;

/** POST /invocations to one server directly, until stopped; how many were answered 200. */
function hammer(ip: string): { stop: () => Promise<number> } {
  let running = true;
  let ok = 0;
  const once = () =>
    new Promise<void>((resolve) => {
      const req = request({ host: ip, port: 8080, path: '/invocations', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        if (res.statusCode === 200) ok++;
        res.resume().on('end', () => resolve());
      });
      req.on('error', () => resolve());
      req.end(JSON.stringify({ instances: [[1, 2, 3, 4]] }));
    });
  const loop = (async () => {
    while (running) await once();
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return ok;
    },
  };
}

async function publish(name: string, local: string): Promise<void> {
  const reference = `${registry.host}/acme/fastapi-${run}:${name}`;
  await docker(['tag', local, reference]);
  const out = await docker(['push', reference]);
  await docker(['rmi', reference]);
  images[name] = `${registry.host}/acme/fastapi-${run}@${/digest: (sha256:[a-f0-9]{64})/.exec(out)![1]}`;
}

beforeAll(async () => {
  registry = await startRegistry({ auth: 'basic' });
  await docker(['network', 'create', network]);
  const base = await ensureFastApiImage('uvicorn', tabularClassifier());
  // A second version: the same server with another digest.
  const second = await buildImage(`localhost/tts-inputs-${run}/fastapi:v2`, { Dockerfile: `FROM ${base}\nLABEL org.opencontainers.image.version=v2\n` });
  await docker(['login', '-u', registry.username, '--password-stdin', registry.host], { input: registry.password });
  await publish('v1', base);
  await publish('v2', second);
  await publish('gunicorn', await ensureFastApiImage('gunicorn', tabularClassifier()));
  await docker(['logout', registry.host]);
  await docker(['rmi', second]);
}, 1_200_000);

afterAll(async () => {
  const mine = (await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${service}`]).catch(() => '')).split('\n').filter(Boolean);
  if (mine.length > 0) await docker(['rm', '-f', '-v', ...mine]).catch(() => {});
  await removeNetwork(network);
  await registry?.stop();
  await docker(['rmi', ...Object.values(images)]).catch(() => {});
});

describe('deploy of a FastAPI server with command, args, limits and a metrics port of its own', () => {
  it('gives the container every setting, the process sees them, and retire reads the request counter on the metrics port', async () => {
    const first = await deploy(images.v1!, { ttl: '1s' });
    expect(failureMessage(first), first.log).toBeUndefined();
    const [v1] = await containersOf();
    expect(v1).toBeDefined();

    // The engine's view.
    expect(v1!.Config.Entrypoint).toEqual(['/opt/venv/bin/python']);
    expect(v1!.Config.Cmd).toEqual(['-m', 'uvicorn', 'fastapi_app:app', '--app-dir', '/app', '--host', '0.0.0.0', '--port', '8080']);
    expect(v1!.Config.Healthcheck).toBeUndefined();
    expect(v1!.HostConfig).toMatchObject({ Memory: 384 * 1024 ** 2, NanoCpus: 5e8, ShmSize: 96 * 1024 ** 2 });
    expect(v1!.HostConfig.Ulimits).toEqual([
      { Name: 'nofile', Soft: 1024, Hard: 2048 },
      { Name: 'memlock', Soft: 4194304, Hard: 4194304 },
    ]);
    expect(v1!.Config.Labels).toMatchObject({ 'train-to-serve.metrics-port': String(METRICS_PORT), 'train-to-serve.request-metric': 'fastapi_inference_requests_total' });
    expect(v1!.Config.Labels).not.toHaveProperty('train-to-serve.metrics-path');

    // The process's view.
    const seen = JSON.parse(await docker(['exec', v1!.Id, '/opt/venv/bin/python', '-c', PROBE])) as { nofile: number[]; memlock: number[]; cmdline: string[]; shm: number; memory: string; cpu: string };
    expect(seen.cmdline).toEqual(['/opt/venv/bin/python', '-m', 'uvicorn', 'fastapi_app:app', '--app-dir', '/app', '--host', '0.0.0.0', '--port', '8080']);
    expect(seen.nofile).toEqual([1024, 2048]);
    expect(seen.memlock).toEqual([4194304, 4194304]);
    expect(seen.shm).toBe(96 * 1024 ** 2);
    expect(Number(seen.memory)).toBe(384 * 1024 ** 2);
    const [quota, period] = seen.cpu.split(' ').map(Number);
    expect(quota! / period!).toBe(0.5);

    // A second version beside it; the first has expired (ttl 1s).
    const second = await deploy(images.v2!, { strategy: 'add' });
    expect(failureMessage(second), second.log).toBeUndefined();
    const ip = v1!.NetworkSettings.Networks[network]!.IPAddress;
    // The serving port has no /metrics: only the labels lead to the counter.
    expect((await fetch(`http://${ip}:8080/metrics`)).status).toBe(404);

    const retire = () => runAction('retire', { inputs: { service, 'in-use-window': '3s', 'drain-timeout': '20s' }, timeoutMs: 300_000 });
    const load = hammer(ip);
    const busy = await retire();
    const sent = await load.stop();
    expect(failureMessage(busy), busy.log).toBeUndefined();
    expect(sent).toBeGreaterThan(5);
    const kept = Object.fromEntries((JSON.parse(busy.outputs.kept!) as { name: string; reason: string }[]).map((s) => [s.name, s.reason]));
    expect(kept[v1!.Name.replace(/^\//, '')]).toMatch(/^in use: \d+ requests in the last 3s/);
    expect(JSON.parse(busy.outputs.retired!)).toEqual([]);

    // Idle: the same counter reads no request in the window, and the expired version goes.
    const idle = await retire();
    expect(failureMessage(idle), idle.log).toBeUndefined();
    expect((JSON.parse(idle.outputs.retired!) as { name: string }[]).map((s) => s.name)).toEqual([v1!.Name.replace(/^\//, '')]);
    const left = await containersOf();
    expect(left.map((c) => c.Id)).not.toContain(v1!.Id);
    expect(left).toHaveLength(1);
  }, 1_200_000);

  it('refuses a gunicorn master as the target of the label-routing drain signal, before anything starts', async () => {
    const before = await containersOf();
    const probe = '["/opt/venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen(\'http://127.0.0.1:8000/ping\')"]';
    const result = await deploy(images.gunicorn!, { command: '', args: '', 'health-cmd': probe });
    expect(failureMessage(result)).toMatch(/^Input "drain-signal": the server runs gunicorn \(\/opt\/venv\/bin\/python -m gunicorn -k…\), whose master takes SIGUSR2 as a command of its own \(start a second master beside the first\)/);
    expect((await containersOf()).map((c) => c.Id)).toEqual(before.map((c) => c.Id));
  }, 600_000);

  // This machine's dockerd runs with an 8 MiB memlock hard limit it may not raise; a root daemon could.
  it.skipIf(daemonMemlockLimit() === undefined)(
    'names ulimits when the engine may not raise memlock to unlimited, and leaves no container',
    async () => {
      const before = await containersOf();
      // v1 was retired above: this deploy must start a new server.
      const result = await deploy(images.v1!, { ulimits: 'memlock=-1', strategy: 'add' });
      expect(failureMessage(result)).toMatch(/^Input "ulimits": the Docker Engine at .* may not raise memlock to unlimited: the daemon's own hard limit is lower/);
      const after = await docker(['ps', '-aq', '--filter', `label=train-to-serve.service=${service}`]);
      expect(after.split('\n').filter(Boolean).sort()).toEqual(before.map((c) => c.Id.slice(0, 12)).sort());
    },
    600_000,
  );

  it('refuses more CPUs than the engine has, before anything starts', async () => {
    const before = await containersOf();
    const result = await deploy(images.v1!, { cpus: '4096' });
    expect(failureMessage(result)).toMatch(/^Input "cpus": must be at most 1024/);
    const tooMany = await deploy(images.v1!, { cpus: '512' });
    expect(failureMessage(tooMany)).toMatch(/^Input "cpus": the Docker Engine at .* has \d+ CPUs, fewer than the 512 asked for$/);
    expect((await containersOf()).map((c) => c.Id)).toEqual(before.map((c) => c.Id));
  }, 600_000);
});
