// `sessions` in the config schema (src/config/schema.ts): stored conversations and the store they live in.
import { DURATION_EXPECT, DURATION_PATTERN } from './duration.ts';
import { positiveInt } from './schema-integers.ts';

export const sessionsSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    maxHistoryMessages: { ...positiveInt, default: 200, description: 'How many stored messages (the most recent) a run replays to the model.' },
    lockLeaseMs: {
      type: 'integer',
      minimum: 1000,
      default: 30_000,
      description: 'Session lock lease: runs on one session are serialized across processes, and a killed holder blocks its session at most this long.',
    },
    durability: {
      enum: ['normal', 'full'],
      default: 'normal',
      description:
        'What a committed turn survives. Either way a crash of the gateway process loses nothing committed and the store is never left corrupt. SQLite: `normal` (WAL, `synchronous = NORMAL`): an OS crash or power loss can lose the last turns committed before it; `full` (`synchronous = FULL`): those survive too, at the cost of an fsync per commit. PostgreSQL: `normal` keeps the database\'s own `synchronous_commit`; `full` sets it `on` for the store\'s connections. See the operations guide. Applies at the next restart.',
    },
    store: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Where transcripts live. Applies at the next restart.',
      properties: {
        driver: {
          enum: ['sqlite', 'postgres'],
          default: 'sqlite',
          description: '`sqlite`: a file under the state dir, nothing to install (one machine). `postgres`: one database shared by every replica behind a load balancer.',
        },
        url: {
          type: 'string',
          minLength: 1,
          description: 'PostgreSQL URL (`postgres://user:password@host:5432/database`); required with driver `postgres`. `"${DATABASE_URL}"` reads it from the environment.',
        },
        poolSize: { ...positiveInt, default: 10, description: 'Most PostgreSQL connections one gateway process opens.' },
      },
    },
    retention: {
      type: 'string',
      pattern: DURATION_PATTERN,
      'x-expect': DURATION_EXPECT,
      description:
        'Delete sessions (and their stored responses) not updated for this long, e.g. `"30d"`: the gateway prunes at start, when this setting changes, and hourly. Unset: sessions are kept until deleted (`openclaw sessions prune`).',
    },
  },
} as const;
