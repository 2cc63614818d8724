/**
 * MIG (Multi-Instance GPU). `--query-gpu` prints one row per physical GPU and never one per MIG
 * instance; `nvidia-smi -L` lists the instances as indented lines under their GPU:
 *
 *     GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-…)
 *       MIG 3g.40gb     Device  0: (UUID: MIG-…)
 *       MIG 1c.3g.71gb  Device  1: (UUID: MIG-…)
 *
 * The padding after the profile name varies with its length, so nothing here relies on columns.
 */

export interface MigInstance {
  /** `MIG-…`, what CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES accept. */
  uuid: string;
  /** `3g.40gb`, or `1c.3g.71gb` for a compute instance sharing a GPU instance. */
  profile: string;
  /** The instance's number under its GPU. */
  device: number;
}

export interface ListedGpu {
  index: number;
  name: string;
  uuid: string;
  mig: MigInstance[];
}

const GPU_LINE = /^GPU (\d+): (.+?) \(UUID: (GPU-[^)\s]+)\)$/;
const MIG_LINE = /^MIG (\S+)\s+Device\s+(\d+): \(UUID: (MIG-[^)\s]+)\)$/;

/** Parse `nvidia-smi -L`. Lines that are neither a GPU nor a MIG instance are skipped. */
export function parseGpuList(text: string): ListedGpu[] {
  const gpus: ListedGpu[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const indented = /^\s/.test(raw);
    const line = raw.trim();
    const gpu = indented ? null : GPU_LINE.exec(line);
    if (gpu) {
      gpus.push({ index: Number(gpu[1]), name: gpu[2]!, uuid: gpu[3]!, mig: [] });
      continue;
    }
    const mig = indented ? MIG_LINE.exec(line) : null;
    if (mig && gpus.length > 0) gpus[gpus.length - 1]!.mig.push({ profile: mig[1]!, device: Number(mig[2]), uuid: mig[3]! });
  }
  return gpus;
}
