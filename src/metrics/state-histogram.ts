import { Histogram, type Registry } from 'prom-client';
import type { Labels } from './state-family.js';

/** One histogram series as the state keeps it: observations per bucket and their sum. */
export interface HistogramSample {
  labels: Labels;
  /**
   * Observations per bucket, not cumulative: `counts[i]` fell at or below `buckets[i]` and above
   * the bound before it; `counts[buckets.length]` above the last bound.
   */
  counts: readonly number[];
  sum: number;
}

export interface StateHistogramSpec {
  name: string;
  help: string;
  labelNames: readonly string[];
  /** Upper bounds, ascending, without +Inf. */
  buckets: readonly number[];
  /** Called at scrape time: reads state already in memory, never collects. */
  samples(): Iterable<HistogramSample>;
}

/** The bucket an observation falls in, for `HistogramSample.counts`. */
export function bucketIndex(buckets: readonly number[], value: number): number {
  const i = buckets.findIndex((le) => value <= le);
  return i === -1 ? buckets.length : i;
}

/**
 * A histogram whose series are the state's latest reading, like `stateFamily` for gauges: the
 * collector counts observations into buckets in its reading, and a scrape only writes them out.
 * (A prom-client Histogram observed by the collector would outlive the collector across a reload
 * and keep series of targets that were removed.)
 */
export function stateHistogram(registry: Registry, spec: StateHistogramSpec): void {
  const values = () => {
    const out: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (const sample of spec.samples()) {
      let cumulative = 0;
      spec.buckets.forEach((le, i) => {
        cumulative += sample.counts[i] ?? 0;
        out.push({ metricName: `${spec.name}_bucket`, labels: { ...sample.labels, le }, value: cumulative });
      });
      cumulative += sample.counts[spec.buckets.length] ?? 0;
      out.push({ metricName: `${spec.name}_bucket`, labels: { ...sample.labels, le: '+Inf' }, value: cumulative });
      out.push({ metricName: `${spec.name}_sum`, labels: sample.labels, value: sample.sum });
      out.push({ metricName: `${spec.name}_count`, labels: sample.labels, value: cumulative });
    }
    return out;
  };
  class StateHistogram extends Histogram<string> {
    /** What the registry writes out (prom-client's own reads observations, of which there are none). */
    async getForPromString() {
      return { name: spec.name, help: spec.help, type: 'histogram', aggregator: 'sum', values: values() };
    }

    override async get() {
      return (await this.getForPromString()) as unknown as Awaited<ReturnType<Histogram<string>['get']>>;
    }
  }
  new StateHistogram({ name: spec.name, help: spec.help, labelNames: [...spec.labelNames], buckets: [...spec.buckets], registers: [registry] });
}
