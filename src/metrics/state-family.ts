import { Counter, Gauge, type Registry } from 'prom-client';

export type Labels = Record<string, string>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface StateFamilySpec {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  labelNames?: readonly string[];
  /** Called at scrape time: reads state already in memory, never collects. */
  samples(): Iterable<Sample>;
}

/**
 * A metric family whose samples are the state's latest reading, rebuilt on every scrape so series
 * of a disk or unit that went away vanish with it. Counters carry totals the kernel or device
 * counted (PSI stall time, error counts); they are set, not incremented.
 */
export function stateFamily(registry: Registry, spec: StateFamilySpec): void {
  const labelNames = [...(spec.labelNames ?? [])];
  const fill = (metric: Gauge | Counter) => {
    metric.reset();
    let any = false;
    for (const sample of spec.samples()) {
      any = true;
      if (metric instanceof Gauge) metric.set(sample.labels, sample.value);
      else metric.inc(sample.labels, sample.value);
    }
    // prom-client gives an unlabelled metric a 0 sample after reset; no reading means no sample.
    if (!any && labelNames.length === 0) metric.remove({});
  };
  const common = { name: spec.name, help: spec.help, labelNames, registers: [registry] };
  if (spec.type === 'gauge') {
    new Gauge({ ...common, collect() { fill(this); } });
  } else {
    new Counter({ ...common, collect() { fill(this); } });
  }
}
