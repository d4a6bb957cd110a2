/** One recorded value. */
export interface TrackedValue {
  value: number;
  time: number;
  metadata?: Record<string, unknown>;
}

export interface StatSummary {
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
}

/** What a run's tracker reports. */
export interface MetricsSummary {
  /** Milliseconds per candidate evaluation (one split). */
  executionTimes: StatSummary;
  /** Share of examples answered without error, per candidate evaluation. */
  successRates: StatSummary;
  /** Validation score minus the baseline's, per validated candidate. */
  improvementScores: StatSummary;
  /** Any other series recorded with `record`. */
  other: Record<string, StatSummary>;
  durationMs: number;
}

function summarize(values: readonly TrackedValue[]): StatSummary {
  if (values.length === 0) return { count: 0, mean: 0, min: 0, max: 0, p50: 0 };
  const v = values.map((x) => x.value).sort((a, b) => a - b);
  return {
    count: v.length,
    mean: v.reduce((s, x) => s + x, 0) / v.length,
    min: v[0]!,
    max: v[v.length - 1]!,
    p50: v[Math.floor((v.length - 1) / 2)]!,
  };
}

/** Tracks an optimization: execution times, success rates, improvement scores, and any named series. */
export class MetricsTracker {
  private readonly series = new Map<string, TrackedValue[]>();
  private startedAt: number;

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  start(): void {
    this.startedAt = this.now();
  }

  record(name: string, value: number, metadata?: Record<string, unknown>): void {
    let s = this.series.get(name);
    if (!s) this.series.set(name, (s = []));
    s.push({ value, time: this.now(), ...(metadata ? { metadata } : {}) });
  }

  values(name: string): readonly TrackedValue[] {
    return this.series.get(name) ?? [];
  }

  summary(): MetricsSummary {
    const other: Record<string, StatSummary> = {};
    for (const [k, v] of this.series) if (!['executionTimes', 'successRates', 'improvementScores'].includes(k)) other[k] = summarize(v);
    return {
      executionTimes: summarize(this.values('executionTimes')),
      successRates: summarize(this.values('successRates')),
      improvementScores: summarize(this.values('improvementScores')),
      other,
      durationMs: this.now() - this.startedAt,
    };
  }
}
