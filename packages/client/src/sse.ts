/** One Server-Sent Events message: its `event` name ("message" when none was given) and its data. */
export interface SseMessage {
  event: string;
  /** The message's `data:` lines joined by "\n". */
  data: string;
}

/**
 * Reads a `text/event-stream` body into messages, whatever its chunk boundaries (a chunk may end
 * inside a line, inside a CRLF or inside a UTF-8 character). `:` lines are comments and skipped;
 * `id` and `retry` are ignored, since the client never reconnects. As the format says, a message not
 * yet closed by a blank line when the body ends is dropped: whether that is an error is the
 * caller's to say.
 */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder(); // drops a leading BOM, as the format asks
  // Lines end in LF, CRLF or a lone CR. One regex per stream: its lastIndex survives each yield.
  const eol = /[\r\n]/g;
  let buffer = '';
  // The last chunk ended in CR: a LF opening the next chunk ends no further line.
  let afterCr = false;
  let event = '';
  let data: string[] = [];

  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    if (afterCr && buffer.length > 0) {
      if (buffer.startsWith('\n')) buffer = buffer.slice(1);
      afterCr = false;
    }
    let at = 0;
    eol.lastIndex = 0;
    for (let m = eol.exec(buffer); m !== null; m = eol.exec(buffer)) {
      const line = buffer.slice(at, m.index);
      at = m.index + 1;
      if (m[0] === '\r') {
        if (at === buffer.length) afterCr = true;
        else if (buffer[at] === '\n') at += 1;
      }
      eol.lastIndex = at;

      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    buffer = buffer.slice(at);
  }
}
