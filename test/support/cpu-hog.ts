import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { waitFor } from './ports';

/**
 * A CPU hog: one busy-loop process per core, at normal priority, as a serving host runs GPU
 * feeding, preprocessing or training beside its servers. Every other process on the machine
 * (dockerd, the servers, their probes, Traefik, the deploy itself) then gets only its share.
 */
export interface CpuHog {
  pids: number[];
  /** The highest 1-minute load average seen since the hog started (sampled every second). */
  peakLoad(): number;
  /** SIGKILL every loop and wait until each has exited. */
  stop(): Promise<void>;
}

/** CPU time a process has used, in clock ticks (/proc/<pid>/stat utime + stime). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Start `count` busy loops (default: one per core) and return once every one of them is spinning. */
export async function startCpuHog(count = cpus().length): Promise<CpuHog> {
  const loops: ChildProcess[] = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  const exited = loops.map((loop) => new Promise<void>((resolve) => (loop.exitCode !== null || loop.signalCode !== null ? resolve() : loop.once('exit', () => resolve()))));
  let peak = loadavg()[0]!;
  const sampler = setInterval(() => (peak = Math.max(peak, loadavg()[0]!)), 1000);
  const stop = async () => {
    clearInterval(sampler);
    for (const loop of loops) loop.kill('SIGKILL');
    await Promise.all(exited);
  };
  try {
    // Spinning: each loop has used CPU time of its own (more than node's start-up alone).
    const start = loops.map((loop) => cpuTicks(loop.pid!));
    await waitFor('every busy loop to spin', async () => loops.every((loop, i) => cpuTicks(loop.pid!) - start[i]! >= 10), 60_000, 200);
  } catch (error) {
    await stop();
    throw error;
  }
  return { pids: loops.map((loop) => loop.pid!), peakLoad: () => peak, stop };
}
