/** One WebSocket handshake attempt as the probe records it, for tests that judge or render attempts. */
import { unansweredAttempt } from '../../src/diagnosis/probes';
import type { WebSocketAttempt } from '../../src/diagnosis/types';

export const wsAttempt = (over: Partial<WebSocketAttempt>): WebSocketAttempt => ({
  ...unansweredAttempt('no subprotocol, Authorization: Bearer <token>', [], 'bearer'),
  ms: 12,
  ...over,
});
