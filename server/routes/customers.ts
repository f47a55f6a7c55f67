import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { AuditLog } from '../../audit-log/types';
import type { CustomerIdentifier, IdentityResolver } from '../../customers/identity';
import {
  IDENTIFIER_TYPES,
  normaliseIdentifier,
  SENSITIVE_TYPES,
  type IdentifierType,
} from '../../customers/identifiers';
import { logReveal, maskTraits, maskValue } from '../../customers/masking';
import { COMPUTED_TRAITS } from '../../customers/profiles-config';
import type { ProfileStore } from '../../customers/profiles';
import { principalOf, type Access } from '../auth';
import { ApiError, invalidRequest } from '../errors';
import { auditChange } from './audit-log';

/** What the customers API reads: the identity graph, profiles and (when wired) segments. */
export interface CustomersApi {
  identity: Pick<IdentityResolver, 'canonical' | 'customer' | 'history' | 'lookup'>;
  profiles: Pick<ProfileStore, 'get' | 'tags' | 'sensitiveTraits'>;
  /** The segments the customer is in (segmentation); without it the answer has no `segments`. */
  segmentsOf?: (customerId: string) => Promise<string[]>;
}

export interface CustomersRouterOptions {
  access: Access;
  /** Each `?reveal=true` answer is appended (`personal-data.read`). */
  auditLog: AuditLog;
  customers: CustomersApi;
  logger: Logger;
}

const COMPUTED: ReadonlySet<string> = new Set(COMPUTED_TRAITS);

/**
 * The customer as the API shows it (runs:read; `?reveal=true` personal-data:reveal), docs/identity.md:
 * - `GET /v1/customers/:id`: identifiers, traits (sensitive ones masked), computed traits, tags,
 *   segments, merged aliases. An id merged into another answers that customer (`resolvedFrom`);
 * - `GET /v1/customers?<type>=<value>`: the customer holding one identifier (`phone`, `email`,
 *   `memberId`, `unionId`, `openId` as `<app>:<openid>`, `userId`, `anonymousId`, `deviceId`);
 * - `GET /v1/customers/:id/merges`: the merges it took part in and its identity conflicts.
 * `?reveal=true` shows sensitive values unmasked; each reveal is logged (`personal data revealed`).
 */
export function customersRouter({ access, auditLog, customers, logger }: CustomersRouterOptions): Router {
  const router = express.Router();
  const auth = access.require('runs:read');

  /** Logs a reveal and appends it to the audit log, before the unmasked answer leaves. */
  const revealed =
    (req: Request, res: Response): RevealRecorder =>
    async (customerId, fields) => {
      logRevealed(logger, req, res, customerId, fields);
      await auditChange(auditLog, req, res, {
        action: 'personal-data.read',
        target: `customer:${customerId}`,
        detail: {
          fields,
          where: `${req.method} ${req.baseUrl}${(req.route as { path?: string }).path ?? ''}`,
        },
      });
    };
  const recorder = (req: Request, res: Response) => (reveal(req) ? revealed(req, res) : undefined);

  router.get('/', auth, async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const given = Object.keys(query).filter((k) => k !== 'reveal');
    const types = given.filter((k): k is IdentifierType =>
      (IDENTIFIER_TYPES as readonly string[]).includes(k),
    );
    const issues = given
      .filter((k) => !types.includes(k as IdentifierType))
      .map((k) => ({
        path: `query.${k}`,
        message: `unknown identifier: expected one of ${IDENTIFIER_TYPES.join(', ')}`,
      }));
    if (issues.length === 0 && types.length !== 1)
      issues.push({ path: 'query', message: `give exactly one identifier: ${IDENTIFIER_TYPES.join(', ')}` });
    const type = types[0]!;
    const value = query[type];
    if (issues.length === 0 && (typeof value !== 'string' || value === ''))
      issues.push({ path: `query.${type}`, message: 'must be one non-empty value' });
    else if (issues.length === 0 && normaliseIdentifier(type, value) === undefined)
      issues.push({ path: `query.${type}`, message: `is not a valid ${type}` });
    if (issues.length > 0) throw invalidRequest(issues);
    const customerId = await customers.identity.lookup(type, value as string);
    if (customerId === undefined) throw new ApiError(404, 'not_found', `no customer with this ${type}`);
    res.json({ customer: await describe(customers, customerId, recorder(req, res)) });
  });

  router.get('/:id', auth, async (req, res) => {
    const asked = (req.params as { id: string }).id;
    const customerId = await customers.identity.canonical(asked);
    const customer = await describe(customers, customerId, recorder(req, res));
    if (!customer) throw new ApiError(404, 'not_found', `no customer ${JSON.stringify(asked)}`);
    res.json({ customer: asked === customerId ? customer : { ...customer, resolvedFrom: asked } });
  });

  router.get('/:id/merges', auth, async (req, res) => {
    const asked = (req.params as { id: string }).id;
    const customerId = await customers.identity.canonical(asked);
    const [identity, history] = await Promise.all([
      customers.identity.customer(customerId),
      customers.identity.history(customerId),
    ]);
    if (!identity) throw new ApiError(404, 'not_found', `no customer ${JSON.stringify(asked)}`);
    const show = (i: CustomerIdentifier) => showIdentifier(i, reveal(req));
    if (reveal(req)) await revealed(req, res)(customerId, ['identifiers']);
    res.json({
      customer: customerId,
      ...(asked === customerId ? {} : { resolvedFrom: asked }),
      merges: history.merges.map((m) => ({ ...m, via: m.via.map(show) })),
      conflicts: history.conflicts.map((c) => ({ ...c, identifier: show(c.identifier) })),
    });
  });

  return router;
}

function reveal(req: Request): boolean {
  return req.query.reveal === 'true';
}

/** Records that a customer's `fields` were shown unmasked. */
type RevealRecorder = (customerId: string, fields: string[]) => Promise<void>;

/**
 * The customer's record; undefined when nothing is known of them (no identity, profile or tags).
 * Unmasked only with `onReveal`, which hears of it first.
 */
async function describe(
  customers: CustomersApi,
  customerId: string,
  onReveal: RevealRecorder | undefined,
): Promise<Record<string, unknown> | undefined> {
  const revealed = onReveal !== undefined;
  const [identity, profile, tags, segments] = await Promise.all([
    customers.identity.customer(customerId),
    customers.profiles.get(customerId),
    customers.profiles.tags(customerId),
    customers.segmentsOf?.(customerId),
  ]);
  if (!identity && Object.keys(profile).length === 0 && tags.length === 0) return undefined;
  const sensitive = customers.profiles.sensitiveTraits();
  const masked = maskTraits(profile, { reveal: revealed, sensitive });
  const traits: Record<string, unknown> = {};
  const computed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(masked)) {
    Object.defineProperty(COMPUTED.has(name) ? computed : traits, name, {
      value,
      enumerable: true,
      writable: true,
    });
  }
  if (onReveal) {
    const shown = sensitive.filter((name) => Object.prototype.hasOwnProperty.call(profile, name));
    await onReveal(customerId, [...shown, 'identifiers']);
  }
  return {
    id: customerId,
    ...(identity?.createdAt ? { createdAt: identity.createdAt } : {}),
    ...(identity?.origin ? { origin: identity.origin } : {}),
    identifiers: (identity?.identifiers ?? []).map((i) => showIdentifier(i, revealed)),
    traits,
    computedTraits: computed,
    tags,
    ...(segments ? { segments } : {}),
    aliases: identity?.aliases ?? [],
  };
}

/** A sensitive identifier masked as its trait would be (customers/masking.ts) unless revealed. */
function showIdentifier(identifier: CustomerIdentifier, revealed: boolean): CustomerIdentifier {
  if (revealed || !SENSITIVE_TYPES.has(identifier.type) || identifier.value === undefined) return identifier;
  return { ...identifier, value: maskValue(identifier.type, identifier.value) };
}

function logRevealed(
  logger: Logger,
  req: Request,
  res: Response,
  customerId: string,
  traits: string[],
): void {
  logReveal(logger, {
    who: principalOf(res).name,
    customerId,
    traits,
    where: `${req.method} ${req.baseUrl}${req.path}`,
  });
}
