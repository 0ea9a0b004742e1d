/** Bundles the workflow code once, at build time, so workers start without webpack. */
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import { NormalModuleReplacementPlugin } from 'webpack';
import { WORKFLOW_BUNDLE } from '../src/worker';

async function main() {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../src/workflows'),
    // Shared by every loop on the worker: see src/workflows/preload.ts.
    preloadModules: [require.resolve('../src/workflows/preload')],
    logger: { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} },
    // The loop input's schema needs zod's English messages only. The source map keeps file and line
    // for stack traces but not the sources themselves: every worker holds the bundle in memory.
    webpackConfigHook: (config) => ({
      ...config,
      devtool: 'inline-nosources-source-map',
      plugins: [...(config.plugins ?? []), new NormalModuleReplacementPlugin(/[\\/]zod[\\/]v4[\\/]locales[\\/]index\.c?js$/, require.resolve('./zod-locales-en'))],
    }),
  });
  writeFileSync(WORKFLOW_BUNDLE, code);
  console.log(`workflow bundle: ${WORKFLOW_BUNDLE} (${(code.length / 1024).toFixed(0)} KiB)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
