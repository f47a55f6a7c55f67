import path from 'node:path';

/**
 * Every knob Touchpoint reads from the environment, resolved once at start-up. Paths are
 * absolute so that child servers, workers and tests agree on them whatever their cwd.
 */
export interface Settings {
  port: number;
  /** Root for embedded state: temporal.db, redis/, outbox/, keys.json. */
  dataDir: string;
  journeysDir: string;
  /** Segment definitions (`<id>.yaml`), checked at start-up; TOUCHPOINT_SEGMENTS_DIR, default segments/. */
  segmentsDir: string;
  /**
   * TOUCHPOINT_SEED_JOURNEYS (default true): at start-up, publish the journeys/ files that are new
   * or changed into the journey registry (by `startup`). `false`: the registry alone is used.
   */
  seedJourneys: boolean;
  templatesDir: string;
  outboxDir: string;
  /** Unset: start (or reuse) a local Temporal dev server under dataDir. */
  temporalAddress?: string;
  temporalNamespace: string;
  taskQueue: string;
  /** Unset: start (or reuse) a local redis-server under dataDir. */
  redisUrl?: string;
  /** Prefix of every BullMQ key, so several installations can share one Redis. */
  queuePrefix: string;
  /** Prefix of Touchpoint's own Redis keys (profiles, markers, counters). */
  keyPrefix: string;
  writeKey?: string;
  adminKey?: string;
  /** Optional YAML file with channel providers and rate limits. */
  configFile?: string;
  logLevel: string;
  /**
   * Where customers reach this server (unsubscribe links, tracked links, open pixels).
   * Default: http://localhost:<port>.
   */
  publicUrl: string;
  /** HMAC key for links sent to customers; unset: generated into <dataDir>/secret.key. */
  secret?: string;
  /** TOUCHPOINT_TRACK_LINKS: `true` (default), `false`, or channels to track (`email,wecom`). */
  trackLinks?: string;
  /**
   * TOUCHPOINT_METRICS_PORT: a process without the api role serves GET /metrics on this port
   * (docs/observability.md); unset, it serves none. The api role always serves it on PORT.
   */
  metricsPort?: number;
  /** TOUCHPOINT_PUBLISH_APPROVAL: `required` or `none`; wins over the config's `approvals.publish`. */
  publishApproval?: string;
}

export const projectRoot = path.resolve(
  __dirname,
  __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..',
);

function intFrom(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got "${value}"`);
  return n;
}

function boolFrom(value: string | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined || value === '') return fallback;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new Error(`${name} must be true or false, got "${value}"`);
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const abs = (p: string) => path.resolve(projectRoot, p);
  const dataDir = abs(env.TOUCHPOINT_DATA_DIR ?? 'data');
  const port = intFrom(env.PORT, 3000, 'PORT');
  return {
    port,
    dataDir,
    journeysDir: abs(env.TOUCHPOINT_JOURNEYS_DIR ?? 'journeys'),
    segmentsDir: abs(env.TOUCHPOINT_SEGMENTS_DIR ?? 'segments'),
    seedJourneys: boolFrom(env.TOUCHPOINT_SEED_JOURNEYS, true, 'TOUCHPOINT_SEED_JOURNEYS'),
    templatesDir: abs(env.TOUCHPOINT_TEMPLATES_DIR ?? 'templates'),
    outboxDir: env.TOUCHPOINT_OUTBOX_DIR ? abs(env.TOUCHPOINT_OUTBOX_DIR) : path.join(dataDir, 'outbox'),
    temporalAddress: env.TEMPORAL_ADDRESS || undefined,
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.TOUCHPOINT_TASK_QUEUE || 'touchpoint-journeys',
    redisUrl: env.REDIS_URL || undefined,
    queuePrefix: env.TOUCHPOINT_QUEUE_PREFIX || 'tp-bull',
    keyPrefix: env.TOUCHPOINT_KEY_PREFIX || 'tp',
    writeKey: env.TOUCHPOINT_WRITE_KEY || undefined,
    adminKey: env.TOUCHPOINT_ADMIN_KEY || undefined,
    configFile: env.TOUCHPOINT_CONFIG ? abs(env.TOUCHPOINT_CONFIG) : undefined,
    logLevel: env.LOG_LEVEL || 'info',
    publicUrl: (env.TOUCHPOINT_PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, ''),
    secret: env.TOUCHPOINT_SECRET || undefined,
    trackLinks: env.TOUCHPOINT_TRACK_LINKS || undefined,
    metricsPort: env.TOUCHPOINT_METRICS_PORT
      ? intFrom(env.TOUCHPOINT_METRICS_PORT, 0, 'TOUCHPOINT_METRICS_PORT')
      : undefined,
    publishApproval: env.TOUCHPOINT_PUBLISH_APPROVAL || undefined,
  };
}
