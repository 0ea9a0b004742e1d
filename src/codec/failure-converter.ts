/**
 * With encryption on, a failure's message and stack trace travel as an encoded payload (and so
 * through the codec) instead of in clear text beside it. Loaded by path: by the workflow bundle's
 * sandbox (fixed when the bundle is built), by the worker for its activities and by every client.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
