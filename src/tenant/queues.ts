import type { Queue, UpdateQueueOptions } from 'pg-boss';
import { badInput, conflict, notFound } from '../errors.ts';
import { asInputError } from '../pgboss/errors.ts';
import { ADOPT_JOB_TABLES_SQL } from '../sql/job-events.ts';
import type { SqlPlan } from '../sql/plan.ts';
import { existingQueues, queuesWithCounts, queueWithCounts } from '../sql/queues.ts';
import type { QueueNamespace } from './names.ts';
import { toQueueRecord, type QueueRecord, type QueueRow, type QueueSettings } from './queue-record.ts';
import type { TenantScope } from './scope.ts';

function toBossQueueOptions(names: QueueNamespace, settings: QueueSettings): Omit<Queue, 'name'> {
  const options: Omit<Queue, 'name'> = {};
  for (const [key, value] of Object.entries(settings) as [string, unknown][]) {
    if (value === undefined || key === 'deadLetter') continue;
    Object.assign(options, { [key]: value });
  }
  // An empty string is a name too (an invalid one): only undefined/null mean "no dead letter".
  if (settings.deadLetter !== undefined && settings.deadLetter !== null) options.deadLetter = names.qualify(settings.deadLetter, 'deadLetter');
  return options;
}

/** A tenant's queues: list, read, create, update, delete. Something of another tenant looks exactly like something that does not exist. */
export class TenantQueues {
  readonly #scope: TenantScope;

  constructor(scope: TenantScope) {
    this.#scope = scope;
  }

  async listQueues(): Promise<QueueRecord[]> {
    return this.#queueRows(queuesWithCounts(this.#scope.schema, this.#scope.names.prefix));
  }

  async getQueue(name: string): Promise<QueueRecord | null> {
    const [queue] = await this.#queueRows(queueWithCounts(this.#scope.schema, this.#scope.names.qualify(name)));
    return queue ?? null;
  }

  async #queueRows(plan: SqlPlan): Promise<QueueRecord[]> {
    const rows = await this.#scope.rows<QueueRow>(plan);
    return rows.flatMap((row) => toQueueRecord(this.#scope.names, row) ?? []);
  }

  /** Which of these tenant queue names exist: one indexed lookup, no job counts. */
  async existingQueues(names: readonly string[]): Promise<Set<string>> {
    const rows = await this.#scope.rows<{ name: string }>(
      existingQueues(
        this.#scope.schema,
        names.map((name) => this.#scope.names.qualify(name)),
      ),
    );
    return new Set(rows.flatMap((row) => this.#scope.names.unqualify(row.name) ?? []));
  }

  /** Qualified names of these tenant queues, creating with defaults those that do not exist yet. */
  async ensureQueues(names: readonly string[], argument?: string): Promise<string[]> {
    const qualified = names.map((name) => this.#scope.names.qualify(name, argument));
    const found = await this.existingQueues(names);
    for (const [index, name] of names.entries()) if (!found.has(name)) await this.#scope.ensureQueue(qualified[index]!);
    return qualified;
  }

  async createQueue(name: string, settings: QueueSettings = {}): Promise<QueueRecord> {
    const qualified = this.#scope.names.qualify(name);
    if (await this.#scope.queueExists(qualified)) throw conflict(`queue "${name}" already exists`);
    const options = toBossQueueOptions(this.#scope.names, settings);
    if (options.deadLetter) {
      if (options.deadLetter === qualified) throw badInput('a queue cannot be its own dead letter queue', { argument: 'deadLetter' });
      await this.#scope.ensureQueue(options.deadLetter);
    }
    await this.#scope.createQueueWithinCap(qualified, () =>
      this.#scope.boss.createQueue(qualified, options).catch((error: unknown) => {
        throw asInputError(error);
      }),
    );
    // A partitioned queue has a job table of its own: give it the job-event statement triggers.
    if (options.partition) await this.#scope.rows({ text: ADOPT_JOB_TABLES_SQL, values: [] });
    return (await this.getQueue(name))!;
  }

  async updateQueue(name: string, settings: QueueSettings): Promise<QueueRecord> {
    const qualified = this.#scope.names.qualify(name);
    if (!(await this.#scope.queueExists(qualified))) throw notFound(`no queue "${name}"`);
    if (settings.policy !== undefined || settings.partition !== undefined) {
      throw badInput('"policy" and "partition" are fixed when a queue is created', { argument: 'options' });
    }
    const { deadLetter, policy: _policy, partition: _partition, ...rest } = settings;
    const options: UpdateQueueOptions = toBossQueueOptions(this.#scope.names, rest);
    if (deadLetter === null) options.deadLetter = null;
    else if (deadLetter !== undefined) {
      options.deadLetter = this.#scope.names.qualify(deadLetter, 'deadLetter');
      if (options.deadLetter === qualified) throw badInput('a queue cannot be its own dead letter queue', { argument: 'deadLetter' });
      await this.#scope.ensureQueue(options.deadLetter);
    }
    await this.#scope.boss.updateQueue(qualified, options).catch((error: unknown) => {
      throw asInputError(error);
    });
    return (await this.getQueue(name))!;
  }

  async deleteQueue(name: string): Promise<boolean> {
    const qualified = this.#scope.names.qualify(name);
    if (!(await this.#scope.queueExists(qualified))) throw notFound(`no queue "${name}"`);
    await this.#scope.boss.deleteQueue(qualified).catch((error: unknown) => {
      // pg-boss refuses (with a plain Error naming the prefixed referrer) to drop a dead letter queue still in use.
      if (/as (its|their) dead letter queue/.test((error as Error | null)?.message ?? '')) {
        throw conflict(`queue "${name}" is the dead letter queue of another queue or of stored jobs`);
      }
      throw error;
    });
    return true;
  }
}
