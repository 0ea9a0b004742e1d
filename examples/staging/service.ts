/**
 * A staging service that behaves like the seed's: `GET /health` (503 with the database start-up
 * error when unhealthy) and a WebSocket `/ws` that needs the `jwt-auth` subprotocol and an HS256 JWT
 * sent as `Authorization: Bearer <token>`. Without either, it answers like the seed's backend did:
 * a VALIDATION_FAILED welcome message, then close 1008. Loopback only.
 *
 * Its database can break (a revision's migration dropping tables, as in the seed): the service then
 * logs the start-up error at ERROR through `log` and answers 503 until someone repairs it, in code
 * (`repairDatabase`) or as the infrastructure team would, `POST /admin/database/repair` with the
 * `x-admin-key` the service was started with.
 *
 * Run: node dist/examples/staging/service.js --port 8090   (JWT secret from STAGING_JWT_SECRET)
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';

export const SUBPROTOCOL = 'jwt-auth';
export const DATABASE_STARTUP_ERROR =
  "Database initialization failed in staging environment: Failed to ensure database tables exist: Failed to create tables: {'subscriptions', 'credit_transactions', 'agent_executions'}";

export interface StagingServiceOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  jwtSecret: string;
  /** Status `GET /health` answers; anything but 200 also refuses WebSocket upgrades. */
  health?: number;
  /** Require the `jwt-auth` subprotocol (default true, as in the seed). */
  requireSubprotocol?: boolean;
  /** Where the service's own log lines go (default: nowhere). */
  log?: (severity: 'INFO' | 'ERROR', text: string) => void;
  /** Enables `POST /admin/database/repair` for callers sending it as `x-admin-key`. */
  adminKey?: string;
}

export interface StagingService {
  url: string;
  wsUrl: string;
  setHealth(status: number): void;
  /** The database fails: start-up errors logged (one per connection attempt), 503 until repaired. */
  breakDatabase(attempts?: number): void;
  repairDatabase(): void;
  readonly databaseBroken: boolean;
  close(): Promise<void>;
}

export async function startStagingService(opts: StagingServiceOptions): Promise<StagingService> {
  const host = opts.host ?? '127.0.0.1';
  const key = new TextEncoder().encode(opts.jwtSecret);
  const requireSubprotocol = opts.requireSubprotocol ?? true;
  let health = opts.health ?? 200;
  let databaseBroken = false;
  const log = opts.log ?? (() => undefined);

  function repairDatabase(): void {
    if (!databaseBroken) return;
    databaseBroken = false;
    health = 200;
    log('INFO', 'Database tables present; service ready');
  }

  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/admin/database/repair' && opts.adminKey) {
      const allowed = req.headers['x-admin-key'] === opts.adminKey;
      if (allowed) repairDatabase();
      res.writeHead(allowed ? 200 : 403, { 'content-type': 'application/json' });
      res.end(JSON.stringify(allowed ? { database: 'repaired' } : { error: 'x-admin-key not accepted' }));
      return;
    }
    if (req.method === 'GET' && req.url === '/health' && databaseBroken) {
      // What Cloud Run's front end says when no instance can start: the reason is in the logs.
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('Service Unavailable');
      return;
    }
    if (req.method === 'GET' && req.url === '/health') {
      const healthy = health === 200;
      res.writeHead(health, { 'content-type': 'application/json' });
      res.end(JSON.stringify(healthy ? { status: 'healthy' } : { status: 'unhealthy', error: DATABASE_STARTUP_ERROR }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: `no route ${req.method} ${req.url}` }));
  });

  const wss = new WebSocketServer({
    noServer: true,
    // Accept the upgrade either way, like the seed's backend: the rejection comes as a message.
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  server.on('upgrade', (req, socket, head) => {
    if (req.url !== '/ws' || health !== 200) {
      const status = req.url !== '/ws' ? '404 Not Found' : '503 Service Unavailable';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => void welcome(ws, req));
  });

  async function welcome(ws: WebSocket, req: http.IncomingMessage): Promise<void> {
    const header = req.headers.authorization ?? '';
    const token = header.replace(/^Bearer\s+/i, '');
    const problems: string[] = [];
    if (requireSubprotocol && ws.protocol !== SUBPROTOCOL) problems.push('websocket_protocol [MISSING]');
    if (!/^Bearer\s+/i.test(header)) problems.push(header ? 'no Bearer prefix' : 'no Authorization header');
    let userId: string | null = null;
    try {
      userId = (await jwtVerify(token, key, { algorithms: ['HS256'] })).payload.sub ?? null;
    } catch (e) {
      problems.push(`token invalid: ${(e as { code?: string }).code ?? 'unreadable'}`);
    }
    if (problems.length > 0) {
      const debug = `${token.length} chars, ${token.split('.').length - 1} dots`;
      ws.send(
        JSON.stringify({
          type: 'error_message',
          error_code: 'VALIDATION_FAILED',
          error_message: `Token validation failed | Debug: ${debug}`,
          websocket_protocol: ws.protocol || '[MISSING]',
          problems,
        }),
      );
      ws.close(1008, 'Token validation failed');
      return;
    }
    ws.send(JSON.stringify({ type: 'welcome', user_id: userId }));
    ws.on('message', (data) => ws.send(JSON.stringify({ type: 'echo', data: data.toString() })));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}/ws`,
    setHealth: (status) => {
      health = status;
    },
    breakDatabase: (attempts = 3) => {
      databaseBroken = true;
      health = 503;
      for (let i = 1; i <= attempts; i++) {
        log('INFO', `Running database migrations (attempt ${i} of ${attempts})`);
        log('ERROR', DATABASE_STARTUP_ERROR);
      }
      log('ERROR', 'Application startup failed. Exiting.');
    },
    repairDatabase,
    get databaseBroken() {
      return databaseBroken;
    },
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (require.main === module) {
  const portArg = process.argv.indexOf('--port');
  const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 8090;
  const jwtSecret = process.env.STAGING_JWT_SECRET;
  if (!jwtSecret) {
    process.stderr.write('set STAGING_JWT_SECRET to the HS256 secret the service accepts\n');
    process.exit(2);
  }
  startStagingService({ port, jwtSecret }).then(
    (s) => process.stdout.write(`staging service on ${s.url} (health ${s.url}/health, WebSocket ${s.wsUrl})\n`),
    (e: Error) => {
      process.stderr.write(`cannot start the staging service: ${e.message}\n`);
      process.exit(1);
    },
  );
}
