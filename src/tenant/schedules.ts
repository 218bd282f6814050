import type { Schedule, ScheduleOptions, SendOptions } from 'pg-boss';
import { badInput, notFound } from '../errors.ts';
import { scheduledQueues } from '../sql/schedules.ts';
import { admitSchedule } from './caps.ts';
import { assertJobPayload, fromBossSendOptions, toBossSendOptions, type JobSendOptions } from './job-input.ts';
import { previewSchedule } from './schedule-preview.ts';
import type { TenantScope } from './scope.ts';

export interface ScheduleRecord {
  queue: string;
  key: string;
  cron: string;
  timezone: string;
  data: unknown;
  options: Record<string, unknown>;
  createdOn: Date;
  updatedOn: Date;
  lastJobId: string | null;
}

const MAX_SCHEDULE_KEY_LENGTH = 255;
/** pg-boss's own rule for schedule keys, checked up front so that unscheduleJob refuses exactly what scheduleJob refuses. */
const SCHEDULE_KEY_PATTERN = /^[\w.\-/]+$/;

function assertScheduleKey(key: string | undefined): void {
  if (key !== undefined && (key.length === 0 || key.length > MAX_SCHEDULE_KEY_LENGTH || !SCHEDULE_KEY_PATTERN.test(key))) {
    throw badInput(`"key" must be 1-${MAX_SCHEDULE_KEY_LENGTH} letters, digits, "_", ".", "-" or "/"`, { argument: 'key' });
  }
}

/** A tenant's schedules (pg-boss cron): create or replace, remove, list. */
export class TenantSchedules {
  readonly #scope: TenantScope;

  constructor(scope: TenantScope) {
    this.#scope = scope;
  }

  async #prepareDeadLetter(options: SendOptions): Promise<void> {
    if (options.deadLetter) await this.#scope.ensureQueue(options.deadLetter);
  }

  async schedule(
    queue: string,
    cron: string,
    data: unknown,
    options: JobSendOptions & { tz?: string | undefined; key?: string | undefined } = {},
  ): Promise<ScheduleRecord> {
    const qualified = this.#scope.names.qualify(queue);
    const { tz, key, ...sendInput } = options;
    const payload = data === undefined || data === null ? undefined : assertJobPayload(data, this.#scope.limits.maxJobDataBytes);
    assertScheduleKey(key);
    // Validates the expression and time zone without touching the database.
    previewSchedule(this.#scope.boss, cron, { tz, count: 1 });
    const sendOptions: ScheduleOptions = toBossSendOptions(this.#scope.names, sendInput);
    if (tz !== undefined) sendOptions.tz = tz;
    if (key !== undefined) sendOptions.key = key;
    await this.#prepareDeadLetter(sendOptions);
    await this.#scope.withQueue(qualified, () =>
      this.#scope.oneCreateAtATime(async () => {
        await admitSchedule(this.#scope.work.db, this.#scope.schema, this.#scope.names.prefix, qualified, key ?? '', this.#scope.limits.tenantMaxSchedules);
        await this.#scope.boss.schedule(qualified, cron, payload, sendOptions);
      }),
    );
    const stored = await this.#scope.boss.getSchedule(qualified, key);
    return this.#toSchedule(stored!);
  }

  async unschedule(queue: string, key?: string): Promise<boolean> {
    const qualified = this.#scope.names.qualify(queue);
    assertScheduleKey(key);
    const existing = await this.#scope.boss.getSchedule(qualified, key);
    if (!existing) throw notFound(`no schedule${key ? ` "${key}"` : ''} on queue "${queue}"`);
    await this.#scope.boss.unschedule(qualified, key);
    return true;
  }

  async listSchedules(queue?: string): Promise<ScheduleRecord[]> {
    if (queue !== undefined) {
      return (await this.#scope.boss.getSchedules(this.#scope.names.qualify(queue))).flatMap((s) => this.#toScheduleOrSkip(s));
    }
    const rows = await this.#scope.rows<{ name: string }>(scheduledQueues(this.#scope.schema, this.#scope.names.prefix));
    const perQueue = await Promise.all(rows.map((row) => this.#scope.boss.getSchedules(row.name)));
    return perQueue.flat().flatMap((s) => this.#toScheduleOrSkip(s));
  }

  #toScheduleOrSkip(schedule: Schedule): ScheduleRecord[] {
    return this.#scope.names.owns(schedule.name) ? [this.#toSchedule(schedule)] : [];
  }

  #toSchedule(schedule: Schedule): ScheduleRecord {
    const { tz: _tz, key: _key, ...options } = schedule.options ?? {};
    return {
      queue: this.#scope.names.unqualify(schedule.name)!,
      key: schedule.key,
      cron: schedule.cron,
      timezone: schedule.timezone,
      data: schedule.data ?? null,
      options: fromBossSendOptions(this.#scope.names, options),
      createdOn: schedule.createdOn,
      updatedOn: schedule.updatedOn,
      lastJobId: schedule.lastJobId,
    };
  }
}
