/**
 * Who may do what. A key carries one role; each route asks for one permission. The table below is
 * the whole policy: change it here and every route, the OpenAPI document's
 * `x-touchpoint-permission` and the 403 matrix test follow.
 */
export const ROLES = ['ingest', 'marketer', 'publisher', 'operator', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  /** Send events: track/identify/batch, receipts, coupon redemption, consent, inbound SMS. */
  'events:write',
  /** Journeys, versions, diff, history, status, graph, live counts; templates and segments. */
  'journeys:read',
  /** Validate, save drafts, simulate, preview templates. */
  'journeys:draft',
  /** Publish (or approve a publish), pause, resume, stop, migrate. */
  'journeys:publish',
  /** Enrol customers or a segment into a journey through the API. */
  'journeys:enrol',
  /** Runs, customers at a step, customer timelines, touches, customers: personal data masked. */
  'runs:read',
  /** Operator actions: remove a customer from a journey, retry a failed step, dead letters. */
  'runs:operate',
  /** `?reveal=true`: personal data unmasked (each read is written to the audit log). */
  'personal-data:reveal',
  /** The audit log: list, verify, export. */
  'audit:read',
  /** API keys: create, rotate, revoke, list. */
  'keys:manage',
  /** Prometheus `/metrics`. */
  'metrics:read',
  /** The BullMQ dashboard. */
  'queues:dashboard',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const marketer: Permission[] = ['journeys:read', 'journeys:draft', 'runs:read'];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  ingest: ['events:write'],
  marketer,
  publisher: [...marketer, 'journeys:publish', 'journeys:enrol'],
  operator: ['journeys:read', 'runs:read', 'runs:operate', 'journeys:enrol', 'metrics:read'],
  auditor: ['journeys:read', 'runs:read', 'audit:read', 'metrics:read'],
  admin: PERMISSIONS,
};

export function roleCan(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
