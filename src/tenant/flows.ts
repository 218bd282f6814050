import type { DependencyRef, FlowJob } from 'pg-boss';
import { badInput, conflict, notFound } from '../errors.ts';
import { asInputError, isQueueNotFound } from '../pgboss/errors.ts';
import { jobsByKey } from '../sql/jobs.ts';
import { rowsOf } from '../sql/plan.ts';
import { pageSize } from './job-cursor.ts';
import { jobIdMaker } from './job-ids.ts';
import { assertJobPayload, isUuid, toBossSendOptions, type JobSendOptions } from './job-input.ts';
import { SentJob, toJobRecord, type JobRecord, type JobRow } from './job-record.ts';
import type { TenantScope } from './scope.ts';

export interface FlowJobInput {
  ref: string;
  queue: string;
  data: unknown;
  options?: JobSendOptions | undefined;
  dependsOn?: readonly string[] | undefined;
}

/** A job a flow created: the caller's ref, its id and queue (tenant names). */
export interface FlowJobCreated {
  ref: string;
  id: string;
  queue: string;
  job: SentJob;
}

export const DEFAULT_DEPENDENCY_PAGE = 50;
const MAX_REF_LENGTH = 255;
/**
 * The ref pg-boss gets for the flow's job at `index`. pg-boss maps refs to
 * ids in a plain object, where a ref such as `__proto__` is no key of its
 * own: the tenant's refs stay on this side, translated both ways.
 */
const bossRef = (index: number): string => `j${index}`;
/** PostgreSQL's division_by_zero: pg-boss aborts a flow so when ON CONFLICT skipped one of its inserts. */
const FLOW_ROW_SKIPPED = '22012';

/** One path around a cycle of `dependsOn`, or null when there is none. */
function findCycle(edges: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (ref: string): string[] | null => {
    state.set(ref, 'open');
    path.push(ref);
    for (const parent of edges.get(ref) ?? []) {
      if (state.get(parent) === 'open') return [...path.slice(path.indexOf(parent)), parent];
      if (!state.has(parent)) {
        const found = visit(parent);
        if (found) return found;
      }
    }
    path.pop();
    state.set(ref, 'done');
    return null;
  };
  for (const ref of edges.keys()) {
    if (state.has(ref)) continue;
    const found = visit(ref);
    if (found) return found;
  }
  return null;
}

/**
 * pg-boss flows for one tenant: jobs that wait for other jobs of the same
 * flow (`dependsOn` names refs of that flow, nothing else), all in the
 * tenant's queues, inserted in one transaction. pg-boss keeps a job with
 * dependencies `blocked` until its last parent has completed.
 */
export class TenantFlows {
  readonly #scope: TenantScope;

  constructor(scope: TenantScope) {
    this.#scope = scope;
  }

  /** Validated here, before pg-boss sees anything: its messages would carry qualified names. */
  #validate(jobs: readonly FlowJobInput[]): Map<string, string[]> {
    const { maxBatchSize } = this.#scope.limits;
    if (jobs.length > maxBatchSize) throw badInput(`a flow holds at most ${maxBatchSize} jobs; got ${jobs.length}`, { argument: 'jobs', limit: maxBatchSize });
    if (jobs.length < 2) throw badInput('a flow holds at least 2 jobs', { argument: 'jobs' });
    const edges = new Map<string, string[]>();
    for (const [index, job] of jobs.entries()) {
      if (job.ref.length === 0 || job.ref.length > MAX_REF_LENGTH)
        throw badInput(`jobs[${index}].ref must be 1-${MAX_REF_LENGTH} characters`, { argument: 'ref' });
      if (edges.has(job.ref)) throw badInput(`jobs[${index}]: ref "${job.ref}" is used twice`, { argument: 'ref' });
      edges.set(job.ref, [...new Set(job.dependsOn ?? [])]);
    }
    for (const [ref, parents] of edges) {
      for (const parent of parents) {
        if (parent === ref) throw badInput(`"${ref}" cannot depend on itself`, { argument: 'dependsOn' });
        if (!edges.has(parent)) throw badInput(`"${ref}" depends on "${parent}", which is no ref of this flow`, { argument: 'dependsOn' });
      }
    }
    if (![...edges.values()].some((parents) => parents.length > 0)) throw badInput('a flow needs at least one job with dependsOn', { argument: 'dependsOn' });
    const cycle = findCycle(edges);
    if (cycle) throw badInput(`the flow's dependencies form a cycle: ${cycle.join(' -> ')}`, { argument: 'dependsOn' });
    return edges;
  }

  /** Creates the jobs of a flow (their queues, with defaults, on first use); ids in input order. */
  async send(jobs: readonly FlowJobInput[]): Promise<FlowJobCreated[]> {
    const { names, boss, limits } = this.#scope;
    const edges = this.#validate(jobs);
    const newId = jobIdMaker();
    const indexOf = new Map(jobs.map((job, index) => [job.ref, index]));
    const flow: FlowJob[] = jobs.map((job, index) => {
      const name = names.qualify(job.queue, `jobs[${index}].queue`);
      const data = assertJobPayload(job.data, limits.maxJobDataBytes, `jobs[${index}].data`);
      if (job.options?.debounceSeconds !== undefined || job.options?.singletonNextSlot) {
        throw badInput(`jobs[${index}]: debounceSeconds and singletonNextSlot need sendJob, not sendFlow`, { argument: 'jobs' });
      }
      const { db: _db, ...options } = toBossSendOptions(names, job.options);
      const parents = (edges.get(job.ref) ?? []).map((parent) => bossRef(indexOf.get(parent)!));
      return { ref: bossRef(index), name, data, options: { ...options, id: options.id ?? newId() }, ...(parents.length ? { dependsOn: parents } : {}) };
    });
    const queues = [...new Set(flow.flatMap((job) => [job.name, ...(job.options?.deadLetter ? [job.options.deadLetter] : [])]))];
    for (const qualified of queues) if (!(await this.#scope.queueExists(qualified))) await this.#scope.ensureQueue(qualified);
    let ids: Record<string, string>;
    try {
      // Without a db of ours: pg-boss runs the flow's statements in a transaction of its own.
      ids = await boss.flow(flow);
    } catch (error) {
      const failure = error as { code?: string; cause?: { code?: string } } | null;
      if (failure?.code === FLOW_ROW_SKIPPED || failure?.cause?.code === FLOW_ROW_SKIPPED) {
        throw conflict('a job of the flow conflicts with a job its queue already holds (the same id, or a singleton rule): nothing was created');
      }
      if (isQueueNotFound(error)) throw notFound('a queue of the flow was deleted while it was sent');
      throw asInputError(error);
    }
    const ready = new Map<string, string[]>();
    for (const job of flow) {
      if (job.dependsOn) continue;
      ready.set(job.name, [...(ready.get(job.name) ?? []), ids[job.ref]!]);
    }
    for (const [qualified, readyIds] of ready) this.#scope.sent(qualified, readyIds);
    return jobs.map((job, index) => {
      const id = ids[bossRef(index)]!;
      return { ref: job.ref, id, queue: job.queue, job: new SentJob(id, job.queue, () => this.#scope.getJob(job.queue, id)) };
    });
  }

  /** The jobs `job` waits for (`parents`) or that wait for it (`children`), in pg-boss's order, within the tenant. */
  async related(job: { queue: string; id: string }, side: 'parents' | 'children', first?: number): Promise<JobRecord[]> {
    const { names, boss, db, schema } = this.#scope;
    const limit = pageSize(first, 500, DEFAULT_DEPENDENCY_PAGE);
    const qualified = names.qualify(job.queue);
    if (!isUuid(job.id)) return [];
    const refs: DependencyRef[] =
      side === 'parents' ? await boss.getDependencies(qualified, job.id, { limit, db }) : await boss.getDependents(qualified, job.id, { limit, db });
    const own = refs.filter((ref) => names.owns(ref.name));
    if (own.length === 0) return [];
    const rows = await rowsOf<JobRow>(db, jobsByKey(schema, own));
    const byKey = new Map(rows.map((row) => [`${row.name}\n${row.id}`, row]));
    return own.flatMap((ref) => {
      const row = byKey.get(`${ref.name}\n${ref.id}`);
      return row ? (toJobRecord(names, row) ?? []) : [];
    });
  }
}
