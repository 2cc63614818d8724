/**
 * One JSON object per line. Predictions and lifecycle events go to stdout, where Docker's log
 * drivers pick them up; `event` tells them apart (`prediction`, `listening`, `ready`, `draining`,
 * `stopping`, `stopped`, `error`).
 */
export type Writer = (line: string) => void;

export const stdoutWriter: Writer = (line) => {
  process.stdout.write(line);
};

export function logLine(event: string, fields: Record<string, unknown>): string {
  return `${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`;
}
