/**
 * Benchmark: publishing a 1 GiB model, side by side in one run against one loopback registry.
 *   (a) docker build + docker push of the same model on the same base (the usual way)
 *   (b) one raw PUT of the model bytes to the registry (the floor: the registry must take them)
 *   (c) publish (the real bundle, started as the runner starts it)
 *   (d) publish again, unchanged
 *   (e) promote of the published image to another tag
 * Prints c/a, c/b, the bytes (d) sent to blob uploads (counted by a proxy in front of the
 * registry), and the peak RSS of (c) (VmHWM from /proc while it runs).
 *
 * (b) and (c) alternate BENCH_ROUNDS times (3 by default) and the ratios use their medians: the
 * machine is shared, and a burst of other work should not land on one side only.
 *
 *   npm run bench:publish            (BENCH_MODEL_MIB=1024, BENCH_ROUNDS=3 by default)
 */
import { spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAction } from '../test/support/action-runner';
import { DOCKER, docker, ensureNodeBaseImage } from '../test/support/docker-cli';
import { startFaultProxy } from '../test/support/fault-proxy';
import { startRegistry } from '../test/support/registry';

const MODEL_MIB = Number(process.env.BENCH_MODEL_MIB ?? 1024);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const id = Math.random().toString(16).slice(2, 8);
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function timed<T>(what: string, work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  const ms = performance.now() - started;
  console.log(`  ${what}: ${seconds(ms)} s`);
  return { ms, value };
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

const CLOCK_TICKS = 100;

/** Peak resident memory and CPU time of a running process, sampled until it exits. */
function watchProcess(pid: number): { stop(): { peakRss: number; cpuSeconds: number } } {
  let peakRss = 0;
  let cpuSeconds = 0;
  const sample = () => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) peakRss = Math.max(peakRss, Number(match[1]) * 1024);
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    } catch {
      // exited
    }
  };
  const timer = setInterval(sample, 20);
  sample();
  return {
    stop() {
      clearInterval(timer);
      return { peakRss, cpuSeconds };
    },
  };
}

const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'tts-bench-'));
  const registry = await startRegistry({ auth: 'none' });
  const proxy = await startFaultProxy(registry.host);
  const cleanup: string[] = [];
  try {
    console.log(`Model: ${MODEL_MIB} MiB of random bytes; registry ${registry.host} (docker-registry on loopback)`);
    const modelDir = join(work, 'context', 'model');
    mkdirSync(modelDir, { recursive: true });
    const modelFile = join(modelDir, 'weights.bin');
    const fd = openSync(modelFile, 'w');
    const chunk = Buffer.alloc(16 * 1024 * 1024);
    for (let written = 0; written < MODEL_MIB * 1024 * 1024; written += chunk.length) writeSync(fd, randomFillSync(chunk), 0, Math.min(chunk.length, MODEL_MIB * 1024 * 1024 - written));
    closeSync(fd);

    // The base in the registry (and kept locally under that name, so docker build needs no pull).
    const local = await ensureNodeBaseImage();
    const base = `${registry.host}/bench/base-${id}:1`;
    await docker(['tag', local, base]);
    cleanup.push(base);
    await docker(['push', base]);

    console.log('(a) docker build + docker push');
    const built = `${registry.host}/bench/docker-${id}:1`;
    writeFileSync(join(work, 'context', 'Dockerfile'), `FROM ${base}\nCOPY model /model\n`);
    const build = await timed('docker build (BuildKit)', () => run(DOCKER, ['build', '-q', '-t', built, join(work, 'context')], { DOCKER_BUILDKIT: '1' }));
    cleanup.push(built);
    const push = await timed('docker push', () => run(DOCKER, ['push', built]));
    const a = build.ms + push.ms;

    const hash = createHash('sha256');
    for (let offset = 0, file = openSync(modelFile, 'r'); ;) {
      const read = readSync(file, chunk, 0, chunk.length, offset);
      if (read === 0) {
        closeSync(file);
        break;
      }
      hash.update(chunk.subarray(0, read));
      offset += read;
    }
    const rawDigest = `sha256:${hash.digest('hex')}`;

    // The machine is shared: (b) and (c) alternate, ROUNDS times each, into fresh repositories,
    // and the ratios use their medians, so a burst of someone else's load does not land on one side.
    const bSamples: number[] = [];
    const cSamples: { ms: number; peakRss: number; cpuSeconds: number; digest: string }[] = [];
    const publishInputs = (round: number) => ({ 'model-path': modelDir, 'base-image': base, image: `${registry.host}/bench/iris-${id}-${round}`, tags: 'candidate', 'registry-password': '' });
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`(b) one raw PUT of the model bytes, round ${round}`);
      const b = await timed('curl -T (POST + one PUT)', async () => {
        const start = await fetch(`${registry.url}/v2/bench/raw-${id}-${round}/blobs/uploads/`, { method: 'POST' });
        const location = new URL(start.headers.get('location')!, registry.url);
        location.searchParams.set('digest', rawDigest);
        await run('curl', ['-sf', '-o', '/dev/null', '-T', modelFile, '-H', 'content-type: application/octet-stream', location.toString()]);
      });
      bSamples.push(b.ms);
      console.log(`(c) publish, round ${round}`);
      const c = await timed('publish', async () => {
        const started = startAction('publish', { inputs: publishInputs(round), env: { SOURCE_DATE_EPOCH: '1714000000' }, timeoutMs: 600_000 });
        const watch = watchProcess(started.child.pid!);
        const result = await started.result;
        const usage = watch.stop();
        if (result.exitCode !== 0) throw new Error(`publish failed:\n${result.log}`);
        return { ...usage, digest: result.outputs.digest! };
      });
      cSamples.push({ ms: c.ms, ...c.value });
    }
    const b = median(bSamples);
    const cMs = median(cSamples.map((sample) => sample.ms));
    const c = { ms: cMs, peakRss: Math.max(...cSamples.map((sample) => sample.peakRss)), cpuSeconds: median(cSamples.map((sample) => sample.cpuSeconds)), digest: cSamples[0]!.digest };

    console.log('(d) publish again, unchanged (through a counting proxy)');
    const d = await timed('publish again', async () => {
      const inputs = publishInputs(1);
      const result = await startAction('publish', { inputs: { ...inputs, 'base-image': base.replace(registry.host, proxy.host), image: inputs.image.replace(registry.host, proxy.host) }, env: { SOURCE_DATE_EPOCH: '1714000000' } }).result;
      if (result.exitCode !== 0) throw new Error(`publish failed:\n${result.log}`);
      return result;
    });
    const dUploaded = proxy.bodyBytesForwarded(/\/blobs\/uploads\//);

    console.log('(e) promote');
    const e = await timed('promote', async () => {
      const result = await startAction('promote', { inputs: { image: publishInputs(1).image, source: 'candidate', targets: 'production', 'require-gate': 'false', 'registry-password': '' } }).result;
      if (result.exitCode !== 0) throw new Error(`promote failed:\n${result.log}`);
      return result;
    });

    const same = cSamples.every((sample) => sample.digest === d.value.outputs.digest) && d.value.outputs.digest === e.value.outputs.digest;
    console.log('');
    console.log('| measure | value | target |');
    console.log('|---|---|---|');
    console.log(`| (a) docker build + push | ${seconds(a)} s (build ${seconds(build.ms)} + push ${seconds(push.ms)}) | |`);
    console.log(`| (b) raw PUT of the model, median of ${ROUNDS} | ${seconds(b)} s (${bSamples.map(seconds).join(', ')}) | |`);
    console.log(`| (c) publish, median of ${ROUNDS} | ${seconds(c.ms)} s (${cSamples.map((sample) => seconds(sample.ms)).join(', ')}) | |`);
    console.log(`| (d) publish again | ${seconds(d.ms)} s | |`);
    console.log(`| (e) promote | ${seconds(e.ms)} s | |`);
    console.log(`| c/a | ${(c.ms / a).toFixed(3)} | ≤ 0.15 |`);
    console.log(`| c/b | ${(c.ms / b).toFixed(3)} | ≤ 1.3 |`);
    console.log(`| bytes uploaded by (d) | ${dUploaded} | 0 |`);
    console.log(`| peak RSS of (c) | ${mib(c.peakRss)} | < 200 MB |`);
    console.log(`| CPU time of (c) | ${c.cpuSeconds.toFixed(2)} s | |`);
    console.log(`| same digest c = d = e | ${same} | true |`);
  } finally {
    for (const reference of cleanup) await docker(['rmi', '--force', reference]).catch(() => {});
    await proxy.stop();
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
