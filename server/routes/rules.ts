import express, { type Router } from 'express';
import type { AuditLog } from '../../audit-log/types';
import type { ProfileStore } from '../../customers/profiles';
import type { ConsentStore } from '../../rules/consent';
import type { UnsubscribeLinks } from '../../rules/unsubscribe';
import type { Access } from '../auth';
import { consentRouter } from './consent';
import { inboundSmsRouter } from './inbound-sms';
import { unsubscribeRouter } from './unsubscribe';

/** What the opt-in / opt-out routes need (docs/rules.md). */
export interface RulesRouterDeps {
  consent: ConsentStore;
  profiles: ProfileStore;
  links: UnsubscribeLinks;
  /** Stop keywords for SMS replies (rules.consent.smsKeywords). */
  smsKeywords: readonly string[];
}

/**
 * Consent API, unsubscribe links and SMS replies, mounted at the root (paths are absolute). Each
 * consent change is appended to the audit log (`consent.change`).
 */
export function rulesRouter(access: Access, deps: RulesRouterDeps, auditLog: AuditLog): Router {
  const router = express.Router();
  router.use(consentRouter({ access, auditLog, consent: deps.consent }));
  router.use(
    inboundSmsRouter({
      access,
      auditLog,
      consent: deps.consent,
      profiles: deps.profiles,
      keywords: deps.smsKeywords,
    }),
  );
  router.use(unsubscribeRouter({ auditLog, consent: deps.consent, links: deps.links }));
  return router;
}
