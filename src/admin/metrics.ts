// Declares a daemon's metrics once, in one list, on its own prom-client Registry.
// Values owned elsewhere (the native reactor's counters, a frontend's stats) are read at
// scrape time instead of being mirrored on every event.
import { Counter, Gauge, Registry, type Metric } from 'prom-client';

/** One sample: what follows the metric's name on its line (a histogram's _bucket, _sum or _count
 * suffix, then the labels as labelText renders them), and its value. */
export type Sample = [series: string, value: number];

/** `key="value",…` with Prometheus' escapes, for Sample series rendered once and reused. */
export function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

export class MetricSet {
  readonly registry = new Registry();

  constructor(private readonly prefix: string) {}

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter<string> {
    return new Counter({ name: `${this.prefix}_${name}`, help, labelNames, registers: [this.registry] });
  }

  gauge(name: string, help: string): Gauge<string> {
    return new Gauge({ name: `${this.prefix}_${name}`, help, registers: [this.registry] });
  }

  /** A counter whose value is read from its owner when scraped. */
  counterFrom(name: string, help: string, read: () => number): void {
    new Counter({
      name: `${this.prefix}_${name}`,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  /** A gauge whose value is read from its owner when scraped. */
  gaugeFrom(name: string, help: string, read: () => number): void {
    new Gauge({
      name: `${this.prefix}_${name}`,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** Labelled series read from their owner when scraped; series the owner no longer lists vanish. */
  seriesFrom(kind: 'counter' | 'gauge', name: string, help: string, labelNames: readonly string[], read: () => Iterable<[Record<string, string | number>, number]>): void {
    const collect = function (this: Counter<string> | Gauge<string>): void {
      this.reset();
      for (const [labels, value] of read()) {
        if (this instanceof Counter) this.inc(labels, value);
        else this.set(labels, value);
      }
    };
    const opts = { name: `${this.prefix}_${name}`, help, labelNames, registers: [this.registry], collect };
    if (kind === 'counter') new Counter(opts);
    else new Gauge(opts);
  }

  /** Samples read from their owner when scraped and written as they come (series already rendered),
   * without prom-client's per-label bookkeeping and escaping: for many series (one per node) and for
   * histograms whose buckets the owner already counts. HELP and TYPE are there even without samples. */
  samplesFrom(type: 'counter' | 'gauge' | 'histogram', name: string, help: string, read: () => readonly Sample[]): void {
    const fullName = `${this.prefix}_${name}`;
    const metric = {
      name: fullName,
      help,
      type,
      aggregator: 'sum',
      // prom-client writes metricName, then the (here empty) labels, then the value.
      get: () => ({ name: fullName, help, type, aggregator: 'sum', values: read().map(([series, value]) => ({ metricName: fullName + series, value })) }),
      reset: () => {},
    };
    this.registry.registerMetric(metric as unknown as Metric);
  }
}
