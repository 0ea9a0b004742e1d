/**
 * The loop's metric names (recorded by the workflow, src/workflows/observe.ts) and the worker's
 * Prometheus exporter for them and the SDK's own. Pure constants and config: the workflow imports it.
 */
export const LOOP_METRICS = {
  phaseEntered: 'tdl_loop_phase_entered',
  phaseDuration: 'tdl_loop_phase_duration',
  cycleDuration: 'tdl_loop_cycle_duration',
  rollbacks: 'tdl_loop_rollbacks',
} as const;

/** Milliseconds: a phase lasts seconds (a test run) to days (a wait for a fix). */
const DURATION_BUCKETS_MS = [1_000, 10_000, 60_000, 300_000, 900_000, 3_600_000, 14_400_000, 43_200_000, 86_400_000, 259_200_000, 604_800_000];

/** The runtime's metrics option: Prometheus on host:port (`/metrics`). */
export function prometheusMetrics(host: string, port: number) {
  return {
    prometheus: {
      bindAddress: `${host}:${port}`,
      histogramBucketOverrides: { [LOOP_METRICS.phaseDuration]: DURATION_BUCKETS_MS, [LOOP_METRICS.cycleDuration]: DURATION_BUCKETS_MS },
    },
  };
}
