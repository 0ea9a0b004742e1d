/** Text shapes that made the old redaction patterns backtrack quadratically, at a given size. */
export const HOSTILE_SHAPES: Record<string, string> = {
  'a.a.a.': 'a.',
  'eyJ repeated': 'eyJ',
  'eyJ runs joined by -': 'eyJabcdefgh-',
  '= runs': '=',
  'Bearer runs': 'Bearer ',
  'long base64': 'QUJDRGVmZ2hpams0NTY3ODkw',
  'token repeated': 'token',
  'password: runs': 'password: ',
  'URL user-info without @': '://user:pw',
  'sk- repeated': 'sk-',
};

export function hostileText(unit: string, bytes: number): string {
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

/** Repetitions of `fn` that take at least 20 ms, so a sample is above the timer's noise. */
function repsFor(fn: () => void): number {
  for (let reps = 1; ; reps *= 2) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    if (performance.now() - t >= 20) return reps;
  }
}

/**
 * Milliseconds of one call of `small` and of `large`, sampled alternately (so a busy machine slows
 * both alike) and the fastest sample of each kept: the least disturbed by other processes and GC.
 */
export function timePair(small: () => void, large: () => void, samples = 7): { smallMs: number; largeMs: number } {
  const reps = [repsFor(small), repsFor(large)];
  const best = [Infinity, Infinity];
  for (let s = 0; s < samples; s++) {
    [small, large].forEach((fn, k) => {
      const t = performance.now();
      for (let i = 0; i < reps[k]; i++) fn();
      best[k] = Math.min(best[k], (performance.now() - t) / reps[k]);
    });
  }
  return { smallMs: best[0], largeMs: best[1] };
}
