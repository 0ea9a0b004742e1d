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

/** Median milliseconds of one call of `fn`, each sample repeated until it takes at least 20 ms. */
export function timePerCall(fn: () => void, samples = 5): number {
  let reps = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    if (performance.now() - t >= 20) break;
    reps *= 2;
  }
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    times.push((performance.now() - t) / reps);
  }
  return times.sort((a, b) => a - b)[Math.floor(samples / 2)];
}
