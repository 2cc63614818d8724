/**
 * Traefik's weighted round robin (pkg/server/service/loadbalancer/wrr/wrr.go), used both for the
 * servers of a load balancer and for the children of a `weighted` service: an earliest-deadline-
 * first schedule. Each entry's deadline advances by 1/weight when it is picked; the entry with the
 * earliest deadline goes next, so over any run of sum(weights) picks each entry gets exactly its
 * weight. An entry added with weight 0 (or less) is not added at all (Balancer.Add). Entries marked
 * down (SetStatus) are skipped; with none up it answers nothing (`no available server`). Traefik
 * shuffles entries before adding them; ties here go to the entry added first.
 */
export class WeightedRoundRobin<T> {
  private readonly entries: { name: string; item: T; weight: number; deadline: number; order: number }[] = [];
  private readonly up = new Set<string>();
  private current = 0;

  constructor(items: { name: string; item: T; weight: number }[]) {
    for (const { name, item, weight } of items) {
      if (weight <= 0) continue;
      this.entries.push({ name, item, weight, deadline: this.current + 1 / weight, order: this.entries.length });
      this.up.add(name);
    }
  }

  /** Whether any entry is up (what a parent with `healthCheck` sees of this balancer). */
  get anyUp(): boolean {
    return this.up.size > 0;
  }

  /** SetStatus: returns true when the balancer as a whole went from up to down or back. */
  setStatus(name: string, up: boolean): boolean {
    const before = this.anyUp;
    if (up) {
      if (this.entries.some((entry) => entry.name === name)) this.up.add(name);
    } else {
      this.up.delete(name);
    }
    return before !== this.anyUp;
  }

  next(): T | undefined {
    if (this.entries.length === 0 || this.up.size === 0) return undefined;
    for (;;) {
      let best = this.entries[0]!;
      for (const entry of this.entries) {
        if (entry.deadline < best.deadline || (entry.deadline === best.deadline && entry.order < best.order)) best = entry;
      }
      this.current = best.deadline;
      best.deadline += 1 / best.weight;
      if (this.up.has(best.name)) return best.item;
    }
  }
}
