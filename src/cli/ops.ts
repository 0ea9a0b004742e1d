/** Operating commands: setup (search attributes), schedule create|list|delete, codec-server. */
import { Option } from 'commander';
import { ScheduleAlreadyRunning, ScheduleNotFoundError } from '@temporalio/client';
import { CodecConfigError, KEYS_ENV } from '../codec';
import { startCodecServer } from '../codec/server';
import { connectionSettings, type ConnectionSettings } from '../connection';
import { grpcCode, registerLoopSearchAttributes } from '../search-attributes-admin';
import { createLoopSchedule, deleteLoopSchedule, listLoopSchedules } from '../schedules';
import { formatTable } from './format';
import { OperationFailed, UsageError, type Io } from './io';
import { readLoopInput } from './loops';
import type { Declaration } from './main';

type Values = Record<string, unknown>;
type WithClient = Parameters<Declaration['handler']>[0]['withClient'];

async function setup(io: Io, withClient: WithClient): Promise<number> {
  const { namespace } = cliConnectionSettings();
  return withClient(async (client) => {
    try {
      const { added, present } = await registerLoopSearchAttributes(client.connection, namespace);
      io.out(
        `namespace ${namespace}: ${added.length ? `registered ${added.join(', ')}` : 'nothing to register'}` +
          (present.length ? `; already there: ${present.join(', ')}` : ''),
      );
      return 0;
    } catch (err) {
      // Temporal Cloud serves no operator service: its namespaces get search attributes through tcld or the Cloud UI.
      // PERMISSION_DENIED, UNIMPLEMENTED
      if ([7, 12].includes(grpcCode(err) ?? 0)) {
        throw new OperationFailed(
          `this server does not let tdl register search attributes (${(err as Error).message}). On Temporal Cloud add ` +
            'LoopPhase (Keyword), LoopCycle (Int), LoopName (Keyword) and WaitingFor (Keyword) in the Cloud UI or with `tcld namespace search-attributes add`.',
        );
      }
      throw err;
    }
  });
}

async function schedule(io: Io, withClient: WithClient, action: string | undefined, id: string | undefined, v: Values): Promise<number> {
  const needsId = () => {
    if (!id) throw new UsageError(`schedule ${action} takes a schedule id`);
    return id;
  };
  switch (action) {
    case 'create': {
      const cron = (v.cron as string[] | undefined) ?? [];
      if (cron.length === 0) throw new UsageError('schedule create needs --cron EXPR (e.g. --cron "0 2 * * *")');
      const loop = readLoopInput({ config: v.config as string | undefined, input: v.input as string | undefined });
      const scheduleId = needsId();
      return withClient(async (client) => {
        try {
          await createLoopSchedule(client, { scheduleId, cron, timezone: v.timezone as string | undefined, taskQueue: v.taskQueue as string, input: loop.input, name: loop.config.name });
        } catch (err) {
          if (err instanceof ScheduleAlreadyRunning) throw new OperationFailed(`schedule ${scheduleId} exists already: delete it first to change it`);
          throw err;
        }
        const [listed] = (await listLoopSchedules(client)).filter((s) => s.scheduleId === scheduleId);
        io.out(v.json ? JSON.stringify({ scheduleId }) : `schedule ${scheduleId} created: ${loop.config.name} on ${cron.join(' | ')}${listed?.nextRuns[0] ? `, next run ${listed.nextRuns[0]}` : ''}`);
        return 0;
      });
    }
    case 'list':
      return withClient(async (client) => {
        const schedules = await listLoopSchedules(client);
        if (v.json) io.out(JSON.stringify(schedules));
        else if (schedules.length === 0) io.out('no schedules');
        else {
          const rows = [['SCHEDULE ID', 'LOOP', 'CRON', 'NEXT RUN', 'LAST LOOP']];
          for (const s of schedules) rows.push([s.scheduleId, s.name ?? '-', s.cron.join(' | ') || '-', s.paused ? 'paused' : (s.nextRuns[0] ?? '-'), s.recentLoops.at(-1) ?? '-']);
          io.out(formatTable(rows));
        }
        return 0;
      });
    case 'delete': {
      const scheduleId = needsId();
      return withClient(async (client) => {
        try {
          await deleteLoopSchedule(client, scheduleId);
        } catch (err) {
          if (err instanceof ScheduleNotFoundError) throw new OperationFailed(`no schedule with id ${scheduleId}`);
          throw err;
        }
        io.out(v.json ? JSON.stringify({ deleted: scheduleId }) : `schedule ${scheduleId} deleted (loops it started keep running)`);
        return 0;
      });
    }
    default:
      throw new UsageError(`schedule takes create, list or delete${action ? ` (got "${action}")` : ''}`);
  }
}

/** The connection settings for a command; a malformed TDL_ENCRYPTION_KEY is bad input (exit 2), naming it. */
export function cliConnectionSettings(): ConnectionSettings {
  try {
    return connectionSettings();
  } catch (err) {
    if (err instanceof CodecConfigError) throw new UsageError(err.message);
    throw err;
  }
}

async function codecServer(io: Io, v: Values): Promise<number> {
  const codecs = cliConnectionSettings().payloadCodecs;
  if (codecs.length === 0) throw new UsageError(`${KEYS_ENV} is not set: the codec server decodes with the same keys as the worker`);
  const { server, url } = await startCodecServer({
    codecs,
    uiOrigin: v.uiOrigin as string,
    token: process.env.TDL_CODEC_TOKEN || undefined,
    host: v.host as string,
    port: v.port as number,
  });
  io.err(`codec server on ${url} for the Web UI at ${v.uiOrigin}; set it as the namespace's codec endpoint. Ctrl-C stops it`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await new Promise((r) => server.close(r));
  return 0;
}

export function opsCommands(portNumber: (value: string) => number, json: () => Option, taskQueue: () => Option): Declaration[] {
  return [
    {
      name: 'setup',
      usage: '',
      summary: "registers the loop's search attributes (LoopPhase, LoopCycle, LoopName, WaitingFor) on the namespace",
      details:
        'For a self-hosted Temporal service (tdl dev registers them itself). Attributes already there are left as they are.\n' +
        'Temporal Cloud: add them in the Cloud UI or with tcld.',
      options: [],
      examples: ['TEMPORAL_ADDRESS=temporal.internal:7233 tdl setup'],
      handler: ({ io, withClient }) => setup(io, withClient),
    },
    {
      name: 'schedule',
      usage: 'create ID --cron EXPR (--config FILE | --input JSON) [--timezone TZ] | list | delete ID',
      summary: 'runs a loop on a calendar (Temporal Schedules); a due run is skipped while the previous loop still runs',
      arguments: ['[action]', '[id]'],
      options: [
        new Option('--cron <expr...>', 'cron expression(s): "minute hour day-of-month month day-of-week", or @daily, @hourly'),
        new Option('--config <file>', 'the loop input, a JSON file'),
        new Option('--input <json>', 'the loop input, inline JSON'),
        new Option('--timezone <tz>', 'the cron time zone (IANA name, e.g. Europe/Berlin; default UTC)'),
        taskQueue(),
        json(),
      ],
      examples: ['tdl schedule create nightly-staging --cron "0 2 * * *" --config loop.json', 'tdl schedule list', 'tdl schedule delete nightly-staging'],
      handler: ({ io, withClient, args, values }) => schedule(io, withClient, args[0], args[1], values),
    },
    {
      name: 'codec-server',
      usage: '[--port 8888] [--host 127.0.0.1] [--ui-origin http://localhost:8233]',
      summary: 'decodes encrypted payloads for the Temporal Web UI (its codec endpoint), with the keys in TDL_ENCRYPTION_KEY',
      details: 'With TDL_CODEC_TOKEN set, requests must carry it as "Authorization: Bearer <token>".',
      options: [
        new Option('--port <port>', 'the port to listen on').default(8888).argParser(portNumber),
        new Option('--host <host>', 'the address to listen on').default('127.0.0.1'),
        new Option('--ui-origin <origin>', "the Web UI's origin, the only one the browser may call from").default('http://localhost:8233'),
      ],
      examples: ['TDL_ENCRYPTION_KEY=... tdl codec-server --ui-origin https://temporal.example.com'],
      handler: ({ io, values }) => codecServer(io, values),
    },
  ];
}
