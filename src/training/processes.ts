import { readdirSync, readFileSync } from 'node:fs';

/**
 * Finding every process a training run started, on Linux, from /proc. Three nets, because each
 * alone lets something escape: the process group (what `kill(-pgid)` reaches), the descendants of
 * the root process (children that called setsid or setpgid to leave the group), and an environment
 * tag every process inherits (children that were re-parented to init after their parent died, the
 * way Jenkins finds a build's daemons). Where /proc is missing the group is all there is.
 */

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  /** R, S, D, Z (zombie: already dead, waiting to be reaped), … */
  state: string;
  command: string;
}

export function parseStat(text: string): ProcessInfo | undefined {
  // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses, so split at the last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(' ');
  return {
    pid: Number(text.slice(0, open).trim()),
    command: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: Number(rest[1]),
    pgrp: Number(rest[2]),
  };
}

export function hasProcFs(): boolean {
  try {
    readdirSync('/proc/self');
    return true;
  } catch {
    return false;
  }
}

export function listProcesses(): ProcessInfo[] {
  const processes: ProcessInfo[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return processes;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const info = parseStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (info) processes.push(info);
    } catch {
      // Gone between readdir and read.
    }
  }
  return processes;
}

function environmentHas(pid: number, entry: string): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    return environ.startsWith(`${entry}\0`) || environ.includes(`\0${entry}\0`) || environ === entry;
  } catch {
    return false;
  }
}

export interface RunIdentity {
  rootPid: number;
  /** The process group the root leads (it was started detached, so pgid = rootPid). */
  pgid: number;
  /** `NAME=value` present in the environment of every process of the run. */
  tag: string;
}

/** Live (not zombie) processes of a run, never including this process itself. */
export function findRunProcesses(run: RunIdentity, processes: ProcessInfo[] = listProcesses()): ProcessInfo[] {
  const live = processes.filter((p) => p.state !== 'Z' && p.state !== 'X' && p.pid !== process.pid);
  const children = new Map<number, ProcessInfo[]>();
  for (const p of live) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found = new Map<number, ProcessInfo>();
  const visit = (p: ProcessInfo) => {
    if (found.has(p.pid)) return;
    found.set(p.pid, p);
    for (const child of children.get(p.pid) ?? []) visit(child);
  };
  for (const p of live) {
    if (p.pid === run.rootPid || p.pgrp === run.pgid) visit(p);
  }
  for (const p of live) {
    if (!found.has(p.pid) && environmentHas(p.pid, run.tag)) visit(p);
  }
  return [...found.values()].sort((a, b) => a.pid - b.pid);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone, or never ours.
  }
}

/** Send a signal to the whole run: its group, then each process found by the other nets. */
export function signalRun(run: RunIdentity, sig: NodeJS.Signals): ProcessInfo[] {
  const found = hasProcFs() ? findRunProcesses(run) : [];
  signal(-run.pgid, sig);
  for (const p of found) signal(p.pid, sig);
  return found;
}

function alive(run: RunIdentity): boolean {
  if (hasProcFs()) return findRunProcesses(run).length > 0;
  try {
    process.kill(-run.pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stop every process of a run: SIGTERM (training code saves a checkpoint on it), then SIGKILL to
 * whatever is left after `graceMs`. Resolves with the processes that were signalled, once none is
 * alive (or after a last few seconds of SIGKILL, which nothing survives but a process stuck in
 * the kernel).
 */
export async function stopRun(run: RunIdentity, graceMs: number, { pollMs = 100 }: { pollMs?: number } = {}): Promise<ProcessInfo[]> {
  const signalled = new Map<number, ProcessInfo>();
  const note = (list: ProcessInfo[]) => list.forEach((p) => signalled.set(p.pid, p));
  note(signalRun(run, 'SIGTERM'));
  const termDeadline = Date.now() + graceMs;
  while (Date.now() < termDeadline && alive(run)) {
    await sleep(pollMs);
    // A process started during shutdown gets the same SIGTERM.
    for (const p of hasProcFs() ? findRunProcesses(run) : []) {
      if (!signalled.has(p.pid)) {
        signal(p.pid, 'SIGTERM');
        signalled.set(p.pid, p);
      }
    }
  }
  const killDeadline = Date.now() + 5_000;
  while (alive(run) && Date.now() < killDeadline) {
    note(signalRun(run, 'SIGKILL'));
    await sleep(pollMs);
  }
  return [...signalled.values()];
}

/** SIGKILL the run at once (a second cancellation). */
export function killRun(run: RunIdentity): ProcessInfo[] {
  return signalRun(run, 'SIGKILL');
}
