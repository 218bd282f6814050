/** One server-sent event: `event` defaults to "message". */
export interface ServerSentEvent {
  event: string;
  data: string;
  /** The stream's last event id so far (`id:` lines), or "" when there was none. */
  id: string;
}

/**
 * Reads a `text/event-stream` body as it arrives, in chunks cut anywhere: a
 * line (or a CR LF pair) may be split across chunks. Follows the HTML
 * specification's parsing rules: `:` comments are skipped, a blank line
 * dispatches the event, an event without data is dropped.
 */
export class ServerSentEventParser {
  #pending = '';
  /** The chunk before ended in CR: an LF at the start of this one belongs to it. */
  #afterCarriageReturn = false;
  #event = '';
  #data: string[] = [];
  #id = '';

  /** The events the chunk completes, in order. */
  push(chunk: string): ServerSentEvent[] {
    let text = chunk;
    if (this.#afterCarriageReturn && text.startsWith('\n')) text = text.slice(1);
    this.#afterCarriageReturn = text.endsWith('\r');
    const lines = (this.#pending + text).split(/\r\n|\r|\n/);
    // The last piece has no line end yet (empty when the chunk ended with one).
    this.#pending = lines.pop() ?? '';
    const events: ServerSentEvent[] = [];
    for (const line of lines) {
      const event = this.#line(line);
      if (event) events.push(event);
    }
    return events;
  }

  #line(line: string): ServerSentEvent | null {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
    return null;
  }

  #dispatch(): ServerSentEvent | null {
    const data = this.#data;
    const event = this.#event;
    this.#data = [];
    this.#event = '';
    if (data.length === 0) return null;
    return { event: event || 'message', data: data.join('\n'), id: this.#id };
  }
}
