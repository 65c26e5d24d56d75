// Per-path bookkeeping the page shows beside the race: latency percentiles over a sliding
// window, and duplicate suppression by event id (a retried Kinesis batch delivers again).

export const LATENCY_WINDOW = 100;
export const SEEN_IDS_KEPT = 2000;

/** The p-th percentile (0..100) by nearest rank; null for no samples. */
export function percentile(samples: readonly number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? null;
}

/** The median of the samples: the mean of the two middle ones for an even count. */
export function median(samples: readonly number[]): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const high = sorted[mid] ?? 0;
  return sorted.length % 2 === 1 ? high : ((sorted[mid - 1] ?? 0) + high) / 2;
}

export class LatencyWindow {
  private readonly samples: number[] = [];

  constructor(private readonly size: number = LATENCY_WINDOW) {}

  add(ms: number): void {
    this.samples.push(Math.max(0, ms));
    if (this.samples.length > this.size) this.samples.shift();
  }

  get count(): number {
    return this.samples.length;
  }

  summary(): { median: number | null; p99: number | null } {
    return { median: median(this.samples), p99: percentile(this.samples, 99) };
  }

  clear(): void {
    this.samples.length = 0;
  }
}

/** Remembers the last `limit` ids; `firstTime` is true only the first time an id is offered. */
export class SeenIds {
  private readonly ids = new Set<string>();

  constructor(private readonly limit: number = SEEN_IDS_KEPT) {}

  firstTime(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.limit) {
      const oldest = this.ids.values().next();
      if (!oldest.done) this.ids.delete(oldest.value);
    }
    return true;
  }
}

export function formatMs(ms: number | null): string {
  if (ms === null) return "–";
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
