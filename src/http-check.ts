/** One HTTP request to a health URL: the verify step's checks and the diagnosis's health probe. */
import { clipText } from './diagnosis/redact';
import { readBodyStart } from './http-body';

export interface HttpCheck {
  /** null: no answer (see error). */
  status: number | null;
  /** The start of the body, whitespace collapsed, clipped; not yet redacted. */
  body: string;
  error: string | null;
  ms: number;
}

export interface HttpCheckOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Characters of body kept (default 300). */
  excerpt?: number;
}

export async function checkHttp(url: string, opts: HttpCheckOptions): Promise<HttpCheck> {
  const started = Date.now();
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  try {
    // A redirect is an answer to report, not to follow.
    const res = await fetch(url, { signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout, redirect: 'manual' });
    // Clipped before it is redacted: never inside a token.
    const body = clipText((await readBodyStart(res)).replace(/\s+/g, ' ').trim(), opts.excerpt ?? 300, '…');
    return { status: res.status, body, error: null, ms: Date.now() - started };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { status: null, body: '', error: cause?.code ?? cause?.message ?? (err as Error).message, ms: Date.now() - started };
  }
}
