import { describe, expect, it } from 'vitest';
import { parseDeployInputs, type DeployInputs } from '../../src/serving/deploy-spec';

const digest = 'sha256:' + 'a'.repeat(64);
const base: DeployInputs = {
  image: `127.0.0.1:5000/acme/iris@${digest}`,
  service: 'iris',
  rule: 'Host(`iris.example.com`)',
  entrypoints: 'web',
  port: '8080',
  network: 'edge',
  replicas: '1',
  strategy: 'replace',
  ttl: '7d',
  'health-timeout': '5m',
  'drain-timeout': '60s',
  'drain-signal': 'SIGUSR2',
  engine: 'docker',
};
const parse = (changes: Partial<DeployInputs>) => parseDeployInputs({ ...base, ...changes }, { gitSha: 'abc' });

describe('parseDeployInputs', () => {
  it('turns the defaults into a spec', () => {
    const spec = parse({});
    expect(spec.image).toMatchObject({ registry: '127.0.0.1:5000', repository: 'acme/iris', digest });
    expect(spec.routing).toEqual({ service: 'iris', rule: 'Host(`iris.example.com`)', entrypoints: ['web'], port: 8080, network: 'edge' });
    expect(spec).toMatchObject({ replicas: 1, strategy: 'replace', ttlMs: 7 * 86_400_000, healthTimeoutMs: 300_000, healthIntervalMs: 2000, drainTimeoutMs: 60_000, drainSignal: 'SIGUSR2', engine: 'docker' });
    expect(spec.healthCmd).toBeUndefined();
    expect(spec.gpus).toBeUndefined();
    expect(spec.credentials).toBeUndefined();
    expect(spec.provenance).toEqual({ gitSha: 'abc' });
  });

  it('reads every optional input', () => {
    const spec = parse({
      entrypoints: 'web, websecure',
      replicas: '3',
      strategy: 'add',
      ttl: 'never',
      'health-cmd': '["node","/srv/probe.mjs"]',
      'drain-signal': 'usr1',
      'health-interval': '5s',
      env: 'API_KEY=s3cr3t=x\n# comment\nMODE=fast',
      gpus: '0,3',
      'traefik-api': 'http://127.0.0.1:8080/',
      'registry-username': 'octocat',
      'registry-password': 'ghp_x',
    });
    expect(spec.routing.entrypoints).toEqual(['web', 'websecure']);
    expect(spec).toMatchObject({ replicas: 3, strategy: 'add', ttlMs: null, healthIntervalMs: 5000, drainSignal: 'SIGUSR1', gpus: { kind: 'ids', ids: ['0', '3'] }, traefikApi: 'http://127.0.0.1:8080' });
    expect(spec.healthCmd).toEqual(['CMD', 'node', '/srv/probe.mjs']);
    expect([...spec.env]).toEqual([
      ['API_KEY', 's3cr3t=x'],
      ['MODE', 'fast'],
    ]);
    expect(spec.credentials).toEqual({ username: 'octocat', password: 'ghp_x' });
    expect(parse({ 'health-cmd': 'curl -fs localhost:8080/healthz' }).healthCmd).toEqual(['CMD-SHELL', 'curl -fs localhost:8080/healthz']);
  });

  // Every bad input: one line that names the input.
  it.each<[Partial<DeployInputs>, RegExp]>([
    [{ image: '' }, /^Input "image": is required$/],
    [{ image: 'Acme/Iris:latest' }, /^Input "image": "Acme\/Iris:latest" is not a valid image reference: repository names must be lower-case/],
    [{ image: 'x@sha256:123' }, /^Input "image": "x@sha256:123" is not a valid image reference: the digest "sha256:123" is not sha256:/],
    [{ service: 'Iris_v2' }, /^Input "service": must be a DNS label/],
    [{ service: '-iris' }, /^Input "service": must be a DNS label/],
    [{ service: 'a'.repeat(64) }, /^Input "service": must be a DNS label/],
    [{ rule: 'Host(iris.example.com)' }, /^Input "rule": invalid Traefik rule "Host\(iris\.example\.com\)": unexpected/],
    [{ rule: 'Hots(`iris.example.com`)' }, /^Input "rule": invalid Traefik rule .*unknown matcher Hots/],
    [{ entrypoints: ' ' }, /^Input "entrypoints": name at least one/],
    [{ entrypoints: 'web;ssl' }, /^Input "entrypoints": not an entry point name/],
    [{ port: '0' }, /^Input "port": must be at least 1/],
    [{ port: '70000' }, /^Input "port": must be at most 65535/],
    [{ port: 'http' }, /^Input "port": expected a whole number/],
    [{ network: 'bad net' }, /^Input "network": not a Docker network name/],
    [{ replicas: '0' }, /^Input "replicas": must be at least 1/],
    [{ strategy: 'recreate' }, /^Input "strategy": expected one of replace, add/],
    [{ ttl: '7' }, /^Input "ttl": expected a duration like 90s/],
    [{ ttl: 'forever' }, /^Input "ttl": expected a duration/],
    [{ 'health-timeout': '5 minutes' }, /^Input "health-timeout": expected a duration/],
    [{ 'health-interval': '500ms' }, /^Input "health-interval": must be between 1s and 10m, got "500ms"$/],
    [{ 'health-interval': '1h' }, /^Input "health-interval": must be between 1s and 10m/],
    [{ 'health-interval': 'often' }, /^Input "health-interval": expected a duration/],
    [{ 'drain-timeout': '0s' }, /^Input "drain-timeout": duration must be greater than zero/],
    [{ 'health-cmd': '["node", 3]' }, /^Input "health-cmd": expected a non-empty JSON array of strings/],
    [{ 'health-cmd': 'NONE' }, /^Input "health-cmd": a readiness check/],
    [{ 'drain-signal': 'SIGKILL' }, /^Input "drain-signal": SIGKILL cannot be caught/],
    [{ 'drain-signal': 'SIGFOO' }, /^Input "drain-signal": expected a signal/],
    [{ env: 'NOEQUALS' }, /^Input "env": line 1: expected KEY=VALUE/],
    [{ env: 'BAD-KEY=1' }, /^Input "env": line 1: expected KEY=VALUE/],
    [{ gpus: 'many' }, /^Input "gpus": "many" is neither a GPU index nor a GPU UUID/],
    [{ gpus: '0' }, /^Input "gpus": a count of 0 GPUs/],
    [{ 'traefik-api': 'localhost:8080' }, /^Input "traefik-api": expected an http\(s\) URL/],
    [{ 'traefik-api': 'http://admin:s3cret@127.0.0.1:8080' }, /^Input "traefik-api": must not carry credentials: they would be printed with the address; give Traefik's API an entry point the runner reaches without them$/],
    [{ engine: 'kubernetes' }, /^Input "engine": expected one of docker, swarm/],
    [
      { engine: 'swarm', strategy: 'canary', routing: 'file', 'routing-dir': '/srv/traefik/dynamic', 'traefik-api': 'http://127.0.0.1:8080' },
      /^Input "strategy": canary runs on engine docker only for now: its analysis has not been tested against Swarm services/,
    ],
    [{ engine: 'swarm', gpus: 'all' }, /^Input "gpus": engine swarm cannot give GPUs to a service: Swarm has no device requests.* engine: docker/],
    [{ engine: 'swarm', gpus: '2' }, /^Input "gpus": engine swarm cannot give GPUs/],
    [{ engine: 'swarm', service: 'a'.repeat(51) }, /^Input "service": with engine swarm, at most 50 characters .*, got 51$/],
    [{ 'docker-host': 'ssh://me@host' }, /^Input "docker-host": expected unix/],
    [{ 'registry-username': 'octocat' }, /^Input "registry-password": registry-username and registry-password go together/],
    [{ command: '["tritonserver", 3]' }, /^Input "command": expected a non-empty JSON array of strings/],
    [{ command: '[]' }, /^Input "command": expected a non-empty JSON array of strings, got "\[\]"$/],
    [{ command: '["tritonserver"' }, /^Input "command": starts with \[ but is not a JSON array of strings/],
    [{ args: 'serve --port $PORT' }, /^Input "args": "\$" outside quotes: no shell runs this line/],
    [{ args: 'serve | tee log' }, /^Input "args": "\|" outside quotes/],
    [{ args: "serve --name 'iris" }, /^Input "args": unclosed ' in/],
    [{ args: 'serve\n--port 8080' }, /^Input "args": give one line, or a JSON array of strings/],
    [{ 'shm-size': '1 gigabyte' }, /^Input "shm-size": expected a size like 512m or 2g/],
    [{ 'shm-size': '0' }, /^Input "shm-size": must be greater than zero, got "0"$/],
    [{ 'shm-size': '-1g' }, /^Input "shm-size": expected a size/],
    [{ memory: '4m' }, /^Input "memory": must be at least 6m, got "4m"$/],
    [{ memory: 'lots' }, /^Input "memory": expected a size like 512m or 2g/],
    [{ memory: '99999999999t' }, /^Input "memory": size out of range/],
    [{ cpus: 'two' }, /^Input "cpus": expected a number of CPUs like 1.5, got "two"$/],
    [{ cpus: '0.001' }, /^Input "cpus": must be at least 0.01/],
    [{ cpus: '-1' }, /^Input "cpus": expected a number of CPUs/],
    [{ cpus: '5000' }, /^Input "cpus": must be at most 1024/],
    [{ ulimits: 'memlock' }, /^Input "ulimits": expected name=soft or name=soft:hard such as memlock=-1/],
    [{ ulimits: 'files=1024' }, /^Input "ulimits": unknown limit "files" \(one of core, /],
    [{ ulimits: 'nofile=4096:1024' }, /^Input "ulimits": the soft limit of nofile is above its hard limit/],
    [{ ulimits: 'nofile=-1:1024' }, /^Input "ulimits": the soft limit of nofile is above its hard limit/],
    [{ ulimits: 'nofile=1024\nnofile=2048' }, /^Input "ulimits": nofile is given twice$/],
    [{ ulimits: 'stack=-2' }, /^Input "ulimits": expected name=soft/],
    [{ 'metrics-port': '0' }, /^Input "metrics-port": must be at least 1/],
    [{ 'metrics-port': '65536' }, /^Input "metrics-port": must be at most 65535/],
    [{ 'metrics-port': 'metrics' }, /^Input "metrics-port": expected a whole number/],
    [{ 'metrics-path': 'metrics' }, /^Input "metrics-path": expected a URL path starting with \/, such as \/metrics, got "metrics"$/],
    [{ 'metrics-path': '/metrics page' }, /^Input "metrics-path": expected a URL path/],
    [{ 'request-metric': 'vllm-requests' }, /^Input "request-metric": expected a Prometheus metric name/],
    [{ 'request-metric': '2xx_total' }, /^Input "request-metric": expected a Prometheus metric name/],
  ])('refuses %j', (changes, message) => expect(() => parse(changes)).toThrow(message));

  it('reads the inputs of a server that is not the reference server', () => {
    const spec = parse({
      command: '["/opt/nvidia/nvidia_entrypoint.sh"]',
      args: `tritonserver --model-repository=/model --log-info "true" --id ''`,
      'shm-size': '1g',
      memory: '1.5GiB',
      cpus: '0.5',
      ulimits: 'memlock=-1, stack=67108864\nnofile=1024:2048',
      'metrics-port': '8002',
      'metrics-path': '/metrics',
      'request-metric': 'nv_inference_request_success',
    });
    expect(spec.process).toEqual({
      command: ['/opt/nvidia/nvidia_entrypoint.sh'],
      args: ['tritonserver', '--model-repository=/model', '--log-info', 'true', '--id', ''],
      shmBytes: 1024 ** 3,
      memoryBytes: 1.5 * 1024 ** 3,
      nanoCpus: 5e8,
      ulimits: [
        { Name: 'memlock', Soft: -1, Hard: -1 },
        { Name: 'stack', Soft: 67108864, Hard: 67108864 },
        { Name: 'nofile', Soft: 1024, Hard: 2048 },
      ],
    });
    expect(spec.metrics).toEqual({ port: 8002, path: '/metrics', requestMetric: 'nv_inference_request_success' });
    expect(parse({ args: '["sh", "-c", "exec uvicorn app:app --port $PORT"]' }).process.args).toEqual(['sh', '-c', 'exec uvicorn app:app --port $PORT']);
    expect(parse({ 'shm-size': '67108864', memory: '512m', cpus: '2' }).process).toEqual({ shmBytes: 67108864, memoryBytes: 512 * 1024 ** 2, nanoCpus: 2e9 });
    expect(parse({ 'request-metric': 'vllm:request_success_total' }).metrics).toEqual({ requestMetric: 'vllm:request_success_total' });
    expect(parse({ command: ' ', args: '', memory: '' })).toMatchObject({ process: {}, metrics: {} });
  });

  it('takes engine swarm with gpus none, and service names of up to 50 characters', () => {
    expect(parse({ engine: 'swarm', gpus: 'none', service: 'a'.repeat(50) })).toMatchObject({ engine: 'swarm', gpus: undefined, routing: { service: 'a'.repeat(50) } });
    expect(parse({ engine: 'docker', service: 'a'.repeat(63) }).routing.service).toHaveLength(63);
  });

  it('never echoes an env value in its error', () => {
    expect(() => parse({ env: 'TOKEN s3cr3t-value' })).toThrow(/^(?!.*s3cr3t)/);
  });
});
