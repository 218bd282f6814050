/** One sample line of Prometheus's text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g;

export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(LABEL)) labels[name!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Distinct values of each label of each metric name: name → label → values. */
export function labelValues(samples: readonly Sample[]): Map<string, Map<string, Set<string>>> {
  const byName = new Map<string, Map<string, Set<string>>>();
  for (const { name, labels } of samples) {
    let byLabel = byName.get(name);
    if (!byLabel) byName.set(name, (byLabel = new Map()));
    for (const [label, value] of Object.entries(labels)) {
      let values = byLabel.get(label);
      if (!values) byLabel.set(label, (values = new Set()));
      values.add(value);
    }
  }
  return byName;
}

/** The sum of a metric's samples whose labels include `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(match).every(([label, value]) => sample.labels[label] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}
