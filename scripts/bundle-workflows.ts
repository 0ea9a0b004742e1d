/** Bundles the workflow code once, at build time, so workers start without webpack. */
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import { NormalModuleReplacementPlugin } from 'webpack';
import { ENCODED_FAILURES_CONVERTER } from '../src/codec';
import { ENCODED_FAILURES_BUNDLE, WORKFLOW_BUNDLE } from '../src/worker';

/** `failureConverterPath`: the sandbox's failure converter, which a bundle fixes when it is built. */
async function bundle(path: string, failureConverterPath?: string) {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../src/workflows'),
    failureConverterPath,
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
  writeFileSync(path, code);
  console.log(`workflow bundle: ${path} (${(code.length / 1024).toFixed(0)} KiB)`);
}

async function main() {
  await bundle(WORKFLOW_BUNDLE);
  await bundle(ENCODED_FAILURES_BUNDLE, ENCODED_FAILURES_CONVERTER);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
