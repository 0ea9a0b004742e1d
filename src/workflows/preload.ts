/**
 * Evaluated once per worker, before any loop, into the workflow sandbox's shared modules (the
 * bundle's `preloadModules`): zod and the loop input's schemas then cost a loop neither memory nor
 * time, where each loop would otherwise evaluate zod and build the schemas again. The SDK freezes
 * what shared modules export, so what zod sets up lazily on its exports (default locale, memoizer,
 * the eval check) is set up here, by parsing a good and a bad input under both duration rules once.
 * The built schemas live in config's unexported cache, which stays writable for their own caches.
 * For the same reason the modules loaded here export no regular expression: zod resets the
 * lastIndex of every pattern it tests, which a frozen one refuses.
 */
import { ConfigError, parseLoopConfig, type DurationRule } from '../config';

for (const durations of ['bounded', 'legacy'] as DurationRule[]) {
  parseLoopConfig({ suite: { command: 'true' } }, { durations });
  try {
    parseLoopConfig({ suite: {}, maxCycles: 'x', surprise: 1 }, { durations });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err; // the error path is warmed too
  }
}
