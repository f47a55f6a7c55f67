/*
 * The shapes of the API answers the console reads (docs/openapi.yaml). Where the server declares
 * an answer's type it is imported from there, type-only, from modules that import nothing at
 * runtime: one declaration for both sides, and no server code in the browser bundle. Declared
 * here: answers the routes build inline.
 */
import type { Permission, Role } from '../../access/permissions';
import type { JourneyStatus, ReleaseInfo, StepChanges } from '../../registry/types';
import type { VersionCounts } from '../../audit/run-types';

export type { Permission, JourneyStatus, StepChanges, VersionCounts };
export type { VersionDiff } from '../../registry/types';
export type {
  ExplainedEntry as PathEntry,
  PendingActivityView as PendingActivity,
  RunListItem,
  RunMessage,
  RunPage as RunsPage,
  RunStatusFilter,
  RunView as RunDetail,
} from '../../audit/run-types';
export type { CouponView as RunCoupon } from '../../coupons/types';
export type { Timeline as TimelineAnswer, TimelineItem, TimelineKind } from '../../audit/timeline-types';
export type { AuditEntry, AuditPage, AuditVerification } from '../../audit-log/types';

/** GET /v1/session */
export interface SessionInfo {
  name: string;
  role: Role;
  permissions: Permission[];
  expiresAt?: string;
}

/** GET /v1/journeys (one item) */
export interface JourneySummary {
  id: string;
  name: string;
  status: JourneyStatus;
  version: number | null;
  hasDraft: boolean;
  defaultLocale?: string;
  entry?: {
    event?: string;
    traitChanged?: string;
    schedule?: { cron: string; timezone: string };
    api?: true;
  };
  steps?: { id: string; type: string }[];
}

/** GET /v1/journeys/:id */
export interface JourneyDetail extends JourneySummary {
  steps: ({ id: string; type: string } & Record<string, unknown>)[];
}

/** GET /v1/journeys/:id/versions */
export interface VersionsAnswer {
  id: string;
  versions: (Omit<ReleaseInfo, 'note'> & { note: string | null; changes: StepChanges })[];
}

/** GET /v1/journeys/:id/counts */
export interface CountsAnswer {
  journeyId?: string;
  versions: VersionCounts[];
}

/** GET /v1/journeys/:id/graph */
export interface GraphAnswer {
  journeyId: string;
  version: number;
  mermaid: string;
  counts?: VersionCounts;
}
