import { notFound } from '../errors.ts';
import { asInputError, isQueueNotFound } from '../pgboss/errors.ts';
import { rowsOf } from '../sql/plan.ts';
import { subscribedQueues, topicsWithQueues } from '../sql/subscriptions.ts';
import { jobIdMaker } from './job-ids.ts';
import { assertJobPayload, toBossSendOptions, type JobSendOptions } from './job-input.ts';
import { SentJob } from './job-record.ts';
import type { TenantScope } from './scope.ts';

/** A topic of the tenant and the queues subscribed to it (tenant names). */
export interface TopicRecord {
  name: string;
  queues: string[];
}

/**
 * pg-boss's publish/subscribe for one tenant. Topics are names of the
 * tenant's namespace with the rules of queue names, stored in
 * pgboss.subscription qualified like queues (`<tenantId>/<topic>`), so two
 * tenants' topics of the same name are two topics. publish sends only into
 * subscribed queues of the tenant, whatever else that table holds.
 */
export class TenantTopics {
  readonly #scope: TenantScope;

  constructor(scope: TenantScope) {
    this.#scope = scope;
  }

  async #subscribed(topic: string): Promise<string[]> {
    const rows = await rowsOf<{ name: string }>(this.#scope.db, subscribedQueues(this.#scope.schema, topic, this.#scope.names.prefix));
    return rows.map((row) => row.name);
  }

  async #topic(qualifiedTopic: string): Promise<TopicRecord> {
    const { names } = this.#scope;
    return { name: names.unqualify(qualifiedTopic)!, queues: (await this.#subscribed(qualifiedTopic)).flatMap((name) => names.unqualify(name) ?? []) };
  }

  /** Every topic with at least one subscribed queue, by name. */
  async list(): Promise<TopicRecord[]> {
    const { names, db, schema } = this.#scope;
    const rows = await rowsOf<{ event: string; queues: string[] }>(db, topicsWithQueues(schema, names.prefix));
    return rows.flatMap((row) => {
      const name = names.unqualify(row.event);
      return name === null ? [] : [{ name, queues: row.queues.flatMap((queue) => names.unqualify(queue) ?? []) }];
    });
  }

  /** Subscribes an existing queue (NOT_FOUND otherwise); subscribing again changes nothing. */
  async subscribe(topic: string, queue: string): Promise<TopicRecord> {
    const { names, boss } = this.#scope;
    const event = names.qualify(topic, 'topic');
    const qualified = names.qualify(queue);
    if (!(await this.#scope.queueExists(qualified))) throw notFound(`no queue "${queue}"`);
    await boss.subscribe(event, qualified).catch((error: unknown) => {
      // The queue was deleted meanwhile: the subscription's foreign key.
      if ((error as { code?: string } | null)?.code === '23503') throw notFound(`no queue "${queue}"`);
      throw error;
    });
    return this.#topic(event);
  }

  /** NOT_FOUND unless the queue is subscribed to the topic. */
  async unsubscribe(topic: string, queue: string): Promise<TopicRecord> {
    const { names, boss } = this.#scope;
    const event = names.qualify(topic, 'topic');
    const qualified = names.qualify(queue);
    if (!(await this.#subscribed(event)).includes(qualified)) throw notFound(`queue "${queue}" is not subscribed to topic "${topic}"`);
    await boss.unsubscribe(event, qualified);
    return this.#topic(event);
  }

  /**
   * One job into each queue subscribed to the topic (none when no queue is),
   * as sendJob would send it there; jobs a singleton rule suppressed are left out.
   */
  async publish(topic: string, data: unknown, options?: JobSendOptions): Promise<SentJob[]> {
    const { names, boss, limits } = this.#scope;
    const event = names.qualify(topic, 'topic');
    const payload = assertJobPayload(data, limits.maxJobDataBytes);
    const sendOptions = toBossSendOptions(names, options);
    const queues = await this.#subscribed(event);
    if (queues.length === 0) return [];
    if (sendOptions.deadLetter) await this.#scope.ensureQueue(sendOptions.deadLetter);
    const newId = jobIdMaker();
    const sent: SentJob[] = [];
    for (const qualified of queues) {
      const id = await boss.send(qualified, payload, { ...sendOptions, id: sendOptions.id ?? newId(), db: this.#scope.db }).catch((error: unknown) => {
        // A queue deleted since it was read has no subscription any more either.
        if (isQueueNotFound(error)) return null;
        throw asInputError(error);
      });
      if (!id) continue;
      this.#scope.sent(qualified, [id]);
      const queue = names.unqualify(qualified)!;
      sent.push(new SentJob(id, queue, () => this.#scope.getJob(queue, id)));
    }
    return sent;
  }
}
