import * as path from 'node:path';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';

/** The repository root, from dist/test/diagnosis (compiled) or test/diagnosis (source). */
export const REPO_ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');

export function fixture(...parts: string[]): string {
  return path.join(REPO_ROOT, 'test/fixtures/junit', ...parts);
}

/** A realistic HS256-shaped JWT (header, claims, 43-char signature) built from the given claims. */
export function makeJwt(claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${body}.${crypto.createHmac('sha256', 'test-secret').update(body).digest('base64url')}`;
}

/** Runs `fn` with a fresh folder for the reports it writes (`dir.write(name, content)` returns the path), then removes it. */
export async function withReports<T>(fn: (dir: { write: (name: string, content: string | Buffer) => string }) => Promise<T>): Promise<T> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tdl-junit-'));
  const write = (name: string, content: string | Buffer) => {
    const file = path.join(root, name);
    fs.writeFileSync(file, content);
    return file;
  };
  try {
    return await fn({ write });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
