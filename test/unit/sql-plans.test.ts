import { describe, expect, it } from '@jest/globals';
import { quoteIdentifier } from '../../src/sql/identifiers.ts';
import { activeJobIds, jobInQueue, jobPage } from '../../src/sql/jobs.ts';
import { integerLiteral } from '../../src/sql/literals.ts';
import { queuesWithCounts, queueWithCounts } from '../../src/sql/queues.ts';

// Plans take the pg-boss schema already quoted and keep every caller value a parameter, but for the
// few integers written into the text, which must be integers.

const schema = quoteIdentifier('my"boss');

describe('plans', () => {
  it('quote the schema once, where it enters', () => {
    expect(schema).toBe('"my""boss"');
    expect(jobInQueue(schema, 't/q', 'id').text).toMatch(/ FROM "my""boss"\.job WHERE name = \$1 AND id = \$2$/);
  });

  it('keep the caller’s values out of the text', () => {
    const page = jobPage(schema, { qualified: "t/q'", states: ['active'], afterCreated: null, afterId: null, limit: 11 });
    expect(page.values).toEqual(["t/q'", ['active'], null, null, 11]);
    expect(page.text).not.toContain("t/q'");
    expect(jobPage(schema, { qualified: 'other', states: null, afterCreated: 'x', afterId: 'y', limit: 2 }).text).toBe(page.text);
  });

  it('read all of a tenant’s queues or one with the same statement but for its filter', () => {
    const all = queuesWithCounts(schema, 't/');
    const one = queueWithCounts(schema, 't/q');
    expect(all.text.replace('starts_with(q.name, $1)', 'q.name = $1')).toBe(one.text);
    expect(all.values).toEqual(['t/']);
    expect(one.values).toEqual(['t/q']);
  });

  it('write a batch size into the text only when it is an integer', () => {
    expect(activeJobIds(schema, 't/q', 1000)).toEqual({
      text: `SELECT id FROM "my""boss".job WHERE name = $1 AND state = 'active' LIMIT 1000`,
      values: ['t/q'],
    });
    expect(integerLiteral(-3)).toBe('-3');
    expect(() => activeJobIds(schema, 't/q', 1.5)).toThrow('not an integer');
    expect(() => integerLiteral(Number.NaN)).toThrow('not an integer');
  });
});
