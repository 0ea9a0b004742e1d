/**
 * Stands in for zod's locales index in the workflow bundle: zod reports in English, and the other
 * forty-odd locales doubled the bundle that every worker loads (see bundle-workflows.ts).
 */
export { default as en } from 'zod/v4/locales/en.js';
