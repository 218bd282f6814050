import type { ClipboardEvent } from 'react';
import { shortId } from '../format.ts';

/** Copying what is shown (or part of it) copies the whole id. */
function copyWhole(event: ClipboardEvent<HTMLElement>, id: string): void {
  const selection = window.getSelection();
  const within = (node: Node | null) => node !== null && event.currentTarget.contains(node);
  if (!selection || !within(selection.anchorNode) || !within(selection.focusNode)) return;
  event.clipboardData.setData('text/plain', id);
  event.preventDefault();
}

/** The part of an id that tells it apart (its end), the whole id in the title and on copy. */
export function ShortId({ id }: { id: string }) {
  return (
    <span className="mono" title={id} data-id={id} onCopy={(event) => copyWhole(event, id)}>
      {shortId(id)}
    </span>
  );
}
