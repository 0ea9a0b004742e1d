/**
 * A root cause's fingerprint: the same failure keeps it across cycles and loops, because it is
 * derived from what clustering already normalised (ids, numbers, times masked) and the category.
 * Computed where the diagnosis runs (an activity), never in workflow code.
 */
import { createHash } from 'node:crypto';
import type { Category } from '../diagnosis/types';

export function fingerprintOf(category: Category, signature: string): string {
  return createHash('sha256').update(`${category}\n${signature}`).digest('hex').slice(0, 16);
}
