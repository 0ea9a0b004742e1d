/**
 * A loop worker is two SDK workers on one connection: one on the shared task queue (workflows and
 * every activity) and one on a queue only this process polls, where the steps that read the files
 * of a suite it ran come back (Temporal's worker-specific task queue pattern). They start, run and
 * stop together.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Worker } from '@temporalio/worker';

/** A queue name no other worker process uses: readable (host, pid) and unique (a random part). */
export function hostQueueName(taskQueue: string): string {
  return `${taskQueue}@${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

export class LoopWorker {
  constructor(
    readonly shared: Worker,
    readonly host: Worker,
    /** The queue `host` polls. */
    readonly hostQueue: string,
  ) {}

  /** Runs both until shutdown (or until one fails, which stops the other); rethrows a failure. */
  async run(): Promise<void> {
    const results = await Promise.allSettled(
      [this.shared, this.host].map((w) =>
        w.run().finally(() => {
          this.shutdown();
        }),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Asks both to stop (each finishes its running tasks, as Worker.shutdown does). */
  shutdown(): void {
    for (const w of [this.shared, this.host]) if (w.getState() === 'RUNNING') w.shutdown();
  }

  getState(): ReturnType<Worker['getState']> {
    return this.shared.getState();
  }

  /** Runs while `fn` runs, then shuts down; like Worker.runUntil. */
  async runUntil<R>(fn: () => Promise<R>): Promise<R> {
    const running = this.run();
    try {
      return await Promise.race([fn(), running.then(() => Promise.reject(new Error('the worker stopped before the work was done')))]);
    } finally {
      this.shutdown();
      await running;
    }
  }
}
