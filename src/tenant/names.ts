import { badInput } from '../errors.ts';

/** API.md: segments joined by "/", each starting with a letter or digit. */
export const QUEUE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9][A-Za-z0-9_.-]*)*$/;
export const MAX_QUEUE_NAME_LENGTH = 100;

export function isValidQueueName(name: string): boolean {
  return name.length <= MAX_QUEUE_NAME_LENGTH && QUEUE_NAME_PATTERN.test(name);
}

/** Throws BAD_USER_INPUT unless `name` is a valid tenant-facing queue name. */
export function assertQueueName(name: string, argument = 'queue'): void {
  if (!isValidQueueName(name)) {
    throw badInput(`"${argument}" must match ${QUEUE_NAME_PATTERN.source} and be at most ${MAX_QUEUE_NAME_LENGTH} characters`, { argument });
  }
}

/** Translates between a tenant's queue names and pg-boss's `<tenantId>/<name>`. */
export class QueueNamespace {
  readonly prefix: string;

  constructor(tenantId: string) {
    this.prefix = `${tenantId}/`;
  }

  /** `emails` → `<tenantId>/emails`, after validation. */
  qualify(name: string, argument = 'queue'): string {
    assertQueueName(name, argument);
    return this.prefix + name;
  }

  owns(qualified: string): boolean {
    return qualified.startsWith(this.prefix) && isValidQueueName(qualified.slice(this.prefix.length));
  }

  /** `<tenantId>/emails` → `emails`; null for anything outside this tenant. */
  unqualify(qualified: string | null | undefined): string | null {
    return qualified && this.owns(qualified) ? qualified.slice(this.prefix.length) : null;
  }
}
