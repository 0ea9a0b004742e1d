/** The workflows this worker serves. */
export { testDeployLoop } from './loop';
