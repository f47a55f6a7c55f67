import { DateTime, Duration, IANAZone } from 'luxon';
import { z } from 'zod';
import { parseDuration } from '../language/duration';
import { ApiError, formatPath, type Issue } from '../server/errors';

/*
 * The scenario format of `touchpoint simulate` (docs/cli.md is the stable reference; the seed
 * journeys' tests pin their behaviour with files in it):
 *
 *   {"customer": {"id": "c1", "traits": {"name": "Li", "timezone": "Asia/Shanghai"}},
 *    "start": "2026-03-01T10:00:00+08:00",
 *    "enrol": true,                                   // optional: enrol by API at the start
 *    "events": [{"at": "P3D", "event": "order_completed", "properties": {"amount": 299}},
 *               {"at": "P4D", "traits": {"vip": true}},          // an identify
 *               {"at": "P5D", "enrol": true}],                    // an API enrolment
 *    "until": "P60D"}
 *
 * `at` and `until` are an ISO-8601 duration from `start` (`P3D`, `PT2H30M`, `P1M` by the
 * calendar in the customer's zone; the short forms `3d`, `2h` work too) or an absolute ISO-8601
 * time. A time without an offset is read in the customer's time zone (`timezone` trait, else
 * Asia/Shanghai).
 */

/** The customer's profile at the start (set directly, not routed: no trait-change entry). */
export interface ScenarioCustomer {
  id: string;
  traits?: Record<string, unknown>;
}

/** A track call. */
export interface ScenarioTrack {
  at: string;
  event: string;
  properties?: Record<string, unknown>;
  /** Default: `sim-<n>`; give one to replay a duplicate. */
  messageId?: string;
}

/** An identify: traits merged into the profile through the router (may enter a traitChanged journey). */
export interface ScenarioIdentify {
  at: string;
  traits: Record<string, unknown>;
  messageId?: string;
}

/** An API / bulk enrolment into the simulated journey, whatever its trigger. */
export interface ScenarioEnrol {
  at: string;
  enrol: true;
  properties?: Record<string, unknown>;
  messageId?: string;
}

export type ScenarioEvent = ScenarioTrack | ScenarioIdentify | ScenarioEnrol;

export interface Scenario {
  /** Free text, echoed nowhere; for the file's reader. */
  name?: string;
  description?: string;
  customer: ScenarioCustomer;
  /** ISO-8601 time the simulation starts at (the run's clock reads this then). */
  start: string;
  /** Enrol the customer by API at `start` (api / schedule journeys); before any event at `start`. */
  enrol?: boolean;
  events: ScenarioEvent[];
  /** When the simulation stops: a duration from `start` or an absolute time. Default `P30D`. */
  until?: string;
  /**
   * How the outside systems of `webhook` steps answer, by target name (or literal URL): an HTTP
   * status. Default 200; a 5xx is retried as in production, a 4xx fails the step (its `onFailure`).
   */
  webhooks?: Record<string, number>;
}

/** A scenario's times resolved to epoch milliseconds, events in time order. */
export interface ResolvedScenario {
  scenario: Scenario;
  /** The customer's zone: times in the output are written in it. */
  timeZone: string;
  startMs: number;
  untilMs: number;
  events: (ScenarioEvent & { atMs: number; index: number })[];
}

export const DEFAULT_UNTIL = 'P30D';
export const DEFAULT_SCENARIO_ZONE = 'Asia/Shanghai';

/** A scenario that does not parse: every problem with its path (`events[2].at`), as a 400. */
export class ScenarioError extends ApiError {
  constructor(issues: Issue[], file?: string) {
    const where = file ? `${file}: ` : '';
    super(
      400,
      'invalid_scenario',
      `${where}invalid scenario:\n${issues.map((i) => `  ${i.path || '(scenario)'}: ${i.message}`).join('\n')}`,
      { issues },
    );
    this.name = 'ScenarioError';
  }

  get issues(): Issue[] {
    return this.details.issues ?? [];
  }
}

const jsonObject = z.record(z.string(), z.unknown());
const messageId = z.string().min(1).max(200).optional();
const when = z.string().refine((text) => timeFrom(text, DateTime.utc(2000), 'UTC') !== undefined, {
  error: (issue) =>
    `${JSON.stringify(issue.input)} is neither a duration from start (P3D, PT2H, 3d) nor an ISO-8601 time`,
});

const eventSchema = z
  .strictObject({
    at: when,
    event: z.string().trim().min(1, 'must not be empty').max(200).optional(),
    properties: jsonObject.optional(),
    traits: jsonObject.optional(),
    enrol: z.literal(true).optional(),
    messageId,
  })
  .superRefine((value, ctx) => {
    const kinds = (['event', 'traits', 'enrol'] as const).filter((k) => value[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          kinds.length === 0
            ? 'needs one of `event` (a track), `traits` (an identify) or `enrol: true`'
            : `has ${kinds.map((k) => `\`${k}\``).join(' and ')}: give exactly one of event, traits, enrol`,
      });
    }
    if (value.properties !== undefined && value.traits !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['properties'],
        message: 'an identify (`traits`) has no properties',
      });
    }
  });

const scenarioSchema = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  customer: z.strictObject({
    id: z.string().trim().min(1, 'must not be empty').max(200),
    traits: jsonObject.optional(),
  }),
  start: z.string().min(1, 'must be an ISO-8601 time such as 2026-03-01T10:00:00+08:00'),
  enrol: z.boolean().optional(),
  events: z.array(eventSchema).max(10_000).default([]),
  until: when.optional(),
  webhooks: z.record(z.string(), z.number().int().min(100).max(599)).optional(),
});

/**
 * Checks a scenario (parsed JSON) and returns it typed; throws ScenarioError listing every
 * problem at its path, including times that do not parse, events before `start` or after `until`.
 */
export function parseScenario(json: unknown, file?: string): Scenario {
  return resolveScenario(json, file).scenario;
}

/**
 * parseScenario, plus the times resolved (what the simulator runs on). `defaultZone`: the zone
 * of a customer without a valid `timezone` trait (the rules' `timezone`, Asia/Shanghai by default).
 */
export function resolveScenario(
  json: unknown,
  file?: string,
  defaultZone = DEFAULT_SCENARIO_ZONE,
): ResolvedScenario {
  const parsed = scenarioSchema.safeParse(json);
  if (!parsed.success) {
    throw new ScenarioError(
      parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
      file,
    );
  }
  const scenario = parsed.data as Scenario;
  const issues: Issue[] = [];
  const timeZone = scenarioZone(scenario.customer.traits, defaultZone);
  const start = absolute(scenario.start, timeZone);
  if (!start) {
    issues.push({
      path: 'start',
      message: `"${scenario.start}" is not an ISO-8601 time (e.g. 2026-03-01T10:00:00+08:00)`,
    });
    throw new ScenarioError(issues, file);
  }
  const resolve = (text: string, path: string): number | undefined => {
    const ms = timeFrom(text, start, timeZone);
    if (ms === undefined)
      issues.push({
        path,
        message: `"${text}" is neither a duration from start (P3D, PT2H, 3d) nor an ISO-8601 time`,
      });
    return ms;
  };
  const untilMs = resolve(scenario.until ?? DEFAULT_UNTIL, 'until');
  if (untilMs !== undefined && untilMs < start.toMillis())
    issues.push({ path: 'until', message: 'is before `start`' });
  const events: ResolvedScenario['events'] = [];
  scenario.events.forEach((event, index) => {
    const atMs = resolve(event.at, `events[${index}].at`);
    if (atMs === undefined) return;
    if (atMs < start.toMillis()) issues.push({ path: `events[${index}].at`, message: 'is before `start`' });
    else if (untilMs !== undefined && atMs > untilMs)
      issues.push({ path: `events[${index}].at`, message: 'is after `until`: it would never happen' });
    events.push({ ...event, atMs, index });
  });
  if (issues.length > 0) throw new ScenarioError(issues, file);
  // Stable: events at the same time keep their order in the file.
  events.sort((a, b) => a.atMs - b.atMs || a.index - b.index);
  return { scenario, timeZone, startMs: start.toMillis(), untilMs: untilMs!, events };
}

/** The customer's `timezone` trait when it is a valid IANA zone, else Asia/Shanghai. */
export function scenarioZone(
  traits: Record<string, unknown> | undefined,
  fallback = DEFAULT_SCENARIO_ZONE,
): string {
  const zone = traits?.timezone;
  return typeof zone === 'string' && IANAZone.isValidZone(zone) ? zone : fallback;
}

function absolute(text: string, zone: string): DateTime | undefined {
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const time = DateTime.fromISO(text, { zone, setZone: true });
  return time.isValid ? time : undefined;
}

/** An offset from `start` (ISO or short duration) or an absolute time, as epoch ms. */
function timeFrom(text: string, start: DateTime, zone: string): number | undefined {
  const trimmed = text.trim();
  if (/^[pP]/.test(trimmed)) {
    // ISO durations go by the calendar in the customer's zone, so P1M and P1D across DST are exact.
    const duration = Duration.fromISO(trimmed.toUpperCase());
    if (!duration.isValid || duration.toMillis() < 0) return undefined;
    return start.setZone(zone).plus(duration).toMillis();
  }
  const at = absolute(trimmed, zone);
  if (at) return at.toMillis();
  try {
    return start.toMillis() + parseDuration(trimmed);
  } catch {
    return undefined;
  }
}
