/**
 * What a failed nvidia-smi run means, from the driver's own words (stdout and stderr alike: some
 * failures print on stdout with stderr empty) and its exit code. Recognised by the text first,
 * because the exit code is not reliable across driver generations; the code decides only when the
 * text is unfamiliar.
 */

export type DriverTrouble = 'driver-not-loaded' | 'version-mismatch' | 'nvml-failed' | 'no-devices' | 'gpu-lost' | 'permissions' | 'arguments' | 'other';

export interface Diagnosis {
  kind: DriverTrouble;
  /** A few words naming the situation. */
  title: string;
  /** What to do about it. */
  hint: string;
}

/** The bus id in `Unable to determine the device handle for GPU0000:07:00.0` (newer) or `GPU 0000:0B:00.0` (older). */
const DEVICE_HANDLE = /Unable to determine the device handle for GPU ?([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+\.[0-9A-Fa-f])/;

function gpuLost(words: string): Diagnosis {
  const bus = DEVICE_HANDLE.exec(words)?.[1];
  const which = bus ? `the GPU at ${bus}` : 'a GPU';
  return {
    kind: 'gpu-lost',
    title: 'GPU lost',
    hint: `${which} stopped answering the driver (fallen off the bus or hung): take this runner out of rotation (drain the node), then reset the GPU (nvidia-smi -r${bus ? ` -i ${bus}` : ''}) or reboot; dmesg shows the Xid error (79: fallen off the bus)`,
  };
}

const fixed = (kind: DriverTrouble, title: string, hint: string) => (): Diagnosis => ({ kind, title, hint });

const MEANINGS: Record<Exclude<DriverTrouble, 'other'>, (words: string) => Diagnosis> = {
  'driver-not-loaded': fixed(
    'driver-not-loaded',
    'driver not loaded',
    'the NVIDIA kernel module is not loaded, often after a kernel update the driver was not rebuilt for: check lsmod | grep nvidia and dmesg, then reinstall the driver for the running kernel (or its DKMS module) and reboot',
  ),
  'version-mismatch': fixed(
    'version-mismatch',
    'driver/library version mismatch',
    "the driver's libraries were upgraded while the older kernel module stayed loaded: reboot the runner (or unload and reload the nvidia modules), or reinstall the driver so the module and the libraries are the same version",
  ),
  'gpu-lost': gpuLost,
  'nvml-failed': fixed(
    'nvml-failed',
    'NVML failed to start',
    'in a container this usually means it lost access to the /dev/nvidia* devices (reloading systemd on the host does that): restart the container or the runner; on the host, check dmesg for Xid errors and reboot',
  ),
  'no-devices': fixed('no-devices', 'no GPU found', 'the driver is loaded but sees no GPU: check lspci | grep -i nvidia; a recent GPU may need Above 4G decoding and Resizable BAR enabled in the firmware; in a container, pass the GPUs in'),
  permissions: fixed('permissions', 'permissions', "the runner's user may not query the GPUs: give it access to the /dev/nvidia* devices (often the video group) or run the runner service as a user the driver allows"),
  arguments: fixed('arguments', 'query refused', "this nvidia-smi does not accept train's query, so its driver is probably too old: update the driver"),
};

/** The driver's words, matched in this order (a lost GPU can also print "Unknown Error"). */
const BY_TEXT: [RegExp, Exclude<DriverTrouble, 'other'>][] = [
  [/couldn.t communicate with the NVIDIA driver/i, 'driver-not-loaded'],
  [/Driver\/library version mismatch/i, 'version-mismatch'],
  [DEVICE_HANDLE, 'gpu-lost'],
  [/GPU is lost/i, 'gpu-lost'],
  [/Failed to initialize NVML: Unknown Error/i, 'nvml-failed'],
  [/No devices were found/i, 'no-devices'],
  [/Insufficient Permissions|No permission/i, 'permissions'],
  [/is not a valid field to query|Please run 'nvidia-smi -h'|Invalid combination of input arguments/i, 'arguments'],
];

/** nvidia-smi's manual, for words train does not recognise. */
const BY_EXIT_CODE: Record<number, Exclude<DriverTrouble, 'other'>> = { 2: 'arguments', 4: 'permissions', 6: 'no-devices', 9: 'driver-not-loaded', 15: 'gpu-lost', 18: 'version-mismatch' };

export function diagnose(words: string, exitCode: number | null): Diagnosis | undefined {
  const kind = BY_TEXT.find(([pattern]) => pattern.test(words))?.[1] ?? (exitCode === null ? undefined : BY_EXIT_CODE[exitCode]);
  return kind ? MEANINGS[kind](words) : undefined;
}

/** Everything the run printed, on either stream, as one line: the driver's own words, whitespace collapsed. */
export function driverWords(stdout: string, stderr: string, max = 400): string {
  const words = `${stdout}\n${stderr}`.replace(/\s+/g, ' ').trim();
  return words.length > max ? `${words.slice(0, max)}…` : words;
}

/** The one-line failure: exit code, the driver's words, and what to do. */
export function describeFailure(stdout: string, stderr: string, exitCode: number | null): { message: string; diagnosis?: Diagnosis } {
  const words = driverWords(stdout, stderr);
  const diagnosis = diagnose(words, exitCode);
  const code = exitCode === null ? 'was killed before it exited' : `exited with code ${exitCode}`;
  const said = words ? `, saying "${words}"` : ' and printed nothing';
  const what = diagnosis ? `. ${diagnosis.title[0]!.toUpperCase()}${diagnosis.title.slice(1)}: ${diagnosis.hint}` : '. Run nvidia-smi on the runner to see its full report; dmesg shows driver errors';
  return { message: `${code}${said}${what}`, diagnosis };
}
