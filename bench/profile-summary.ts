/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the top functions by
 * self time and the self time per package. Usage:
 *   node bench/profile-summary.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  name: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  functions: ProfileLine[];
  packages: ProfileLine[];
}

const ROOT = path.resolve(import.meta.dirname, '..');

function where(url: string): string {
  if (!url) return '';
  const file = url.startsWith('file://') ? url.slice('file://'.length) : url;
  return file.startsWith(ROOT) ? path.relative(ROOT, file) : file;
}

/** node_modules/<pkg>, node:internal, src/<dir>, or a V8 pseudo-frame such as (garbage collector). */
function packageOf(frame: CallFrame): string {
  const file = where(frame.url);
  if (!file) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const modules = file.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = file.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (file.startsWith('node:')) return 'node (built-in)';
  const src = file.split('/');
  return src.length > 2 ? `${src[0]}/${src[1]}` : file;
}

const IDLE = new Set(['(idle)', '(program)']);

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let total = 0;
  let busy = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    total += us;
    if (IDLE.has(frame.functionName)) continue;
    busy += us;
    const name = `${frame.functionName || '(anonymous)'} ${where(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
    const pkg = packageOf(frame);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const lines = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: busy ? us / busy : 0 }));
  return { totalMs: total / 1000, busyMs: busy / 1000, functions: lines(functions), packages: lines(packages) };
}

export function renderProfile(summary: ProfileSummary): string {
  const line = (entry: ProfileLine) => `${entry.selfMs.toFixed(0).padStart(8)} ms ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.name}`;
  return [
    `profile: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.busyMs.toFixed(0)} ms busy (shares below are of busy time)`,
    'top self time by function:',
    ...summary.functions.map(line),
    'self time by package:',
    ...summary.packages.map(line),
  ].join('\n');
}

if (import.meta.main) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(renderProfile(summarizeProfile(file, Number(top ?? 25))));
}
