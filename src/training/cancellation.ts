/**
 * A job cancellation as the runner delivers it: SIGINT, then SIGTERM some seconds later, then
 * SIGKILL. The first request stops training gracefully; a second one kills what is left at once.
 * Signal handlers live in the action entry; domain code only listens here.
 */
export type CancelListener = (signal: NodeJS.Signals, count: number) => void;

export class Cancellation {
  private readonly listeners = new Set<CancelListener>();
  signal: NodeJS.Signals | undefined;
  count = 0;

  get requested(): boolean {
    return this.count > 0;
  }

  request(signal: NodeJS.Signals): void {
    this.signal ??= signal;
    this.count += 1;
    for (const listener of this.listeners) listener(signal, this.count);
  }

  subscribe(listener: CancelListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
