import express, { type Router } from 'express';
import type { ApiKeys } from '../../config/keys';
import type { ProfileStore } from '../../customers/profiles';
import type { ConsentStore } from '../../rules/consent';
import type { UnsubscribeLinks } from '../../rules/unsubscribe';
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

/** Consent API, unsubscribe links and SMS replies, mounted at the root (paths are absolute). */
export function rulesRouter(keys: ApiKeys, deps: RulesRouterDeps): Router {
  const router = express.Router();
  router.use(consentRouter({ keys, consent: deps.consent }));
  router.use(
    inboundSmsRouter({ keys, consent: deps.consent, profiles: deps.profiles, keywords: deps.smsKeywords }),
  );
  router.use(unsubscribeRouter({ consent: deps.consent, links: deps.links }));
  return router;
}
