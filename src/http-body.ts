/**
 * Reads the start of an HTTP response body: health checks, probes and webhook receivers only need
 * an excerpt, and a huge or endless body must not be read whole into the worker's memory.
 */

/** Enough for an error message or a health excerpt. */
export const BODY_EXCERPT_BYTES = 4096;

/**
 * The body's first `maxBytes` bytes as text (a character cut at the end is dropped); the rest is
 * not read: the stream is cancelled, which closes the connection. '' when the body cannot be read.
 */
export async function readBodyStart(res: Response, maxBytes = BODY_EXCERPT_BYTES): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A body cut off mid-way: keep what arrived.
  } finally {
    reader.cancel().catch(() => undefined);
  }
  const bytes = Buffer.concat(chunks).subarray(0, maxBytes);
  return new TextDecoder().decode(bytes, { stream: true });
}
