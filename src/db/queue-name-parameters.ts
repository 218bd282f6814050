/**
 * A tenant's queue name written into a statement as a literal (`t` and 20 hex
 * digits, `/`, the queue's name), not inside another literal. pg-boss writes
 * the queue's name into its insert, so without this every queue would be a
 * text of its own.
 */
const QUEUE_NAME_LITERAL = /(?<!')'(t[0-9a-f]{20}\/[A-Za-z0-9][A-Za-z0-9_./-]*)'(?!')/g;

/**
 * `text` with each queue-name literal turned into a parameter after
 * `values`; null when it has none.
 */
export function queueNamesAsParameters(text: string, values: readonly unknown[]): { text: string; values: unknown[] } | null {
  if (!text.includes("'t")) return null;
  const added: string[] = [];
  const rewritten = text.replace(QUEUE_NAME_LITERAL, (_literal, name: string) => {
    let index = added.indexOf(name);
    if (index < 0) index = added.push(name) - 1;
    return `$${values.length + index + 1}::text`;
  });
  return added.length ? { text: rewritten, values: [...values, ...added] } : null;
}
