import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AuditLog } from '../../audit-log/types';
import { LOCALE_TAG, TEMPLATE_NAME } from '../../language/catalog';
import { CHANNELS, type Channel } from '../../language/types';
import { logReveal, maskTraits } from '../../customers/masking';
import { DEFAULT_SENSITIVE_TRAITS } from '../../customers/profiles';
import { TemplateNotFoundError } from '../../messages/errors';
import { previewTemplate } from '../../messages/preview';
import type { TemplateStore } from '../../messages/templates';
import { principalOf, type Access } from '../auth';
import { ApiError } from '../errors';
import { isJsonObject, jsonObject } from '../ingest/json-object';
import { jsonBody } from '../json-body';
import { withTimeout } from '../timeout';
import type { JourneyLookup } from './admin';
import { auditChange } from './audit-log';
import { validateBody } from './validate-body';

/** What the template routes need besides the keys and journeys. */
export interface TemplatesApi {
  templates: TemplateStore;
  /** Where a preview for `customerId` reads the customer's traits. */
  profiles: { get(customerId: string): Promise<Record<string, unknown>> };
  /** The zone for customers without a valid `timezone` trait (the rules' default). */
  defaultTimeZone?: string;
  /**
   * Sensitive traits (config `profiles.sensitive`): a preview for a stored customer renders them
   * masked (customers/masking.ts) unless asked `?reveal=true`, which is logged. Default phone,
   * email, idNumber.
   */
  sensitive?: readonly string[];
  /** Where reveals are logged (`personal data revealed`). */
  logger?: Pick<Logger, 'info'>;
}

export interface TemplatesRouterOptions {
  access: Access;
  /** A preview with `?reveal=true` for a stored customer is appended (`personal-data.read`). */
  auditLog: AuditLog;
  journeys: JourneyLookup;
  templates: TemplatesApi;
  bodyLimit?: number | string;
  /** How long a preview waits for the profile store before answering 503. Default 10 s. */
  enqueueTimeoutMs?: number;
}

const text = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

const previewSchema = z.object({
  channel: z.enum(CHANNELS as [Channel, ...Channel[]], {
    error: (issue) => (issue.input === undefined ? 'is required' : `must be one of ${CHANNELS.join(', ')}`),
  }),
  template: text(100).regex(TEMPLATE_NAME, 'must be a template name such as `dormant-offer`'),
  locale: text(35).regex(LOCALE_TAG, 'must be a locale such as `zh-CN` or `en`').optional(),
  customerId: text(256).optional(),
  traits: jsonObject.optional(),
  event: z
    .strictObject({ name: text(200), properties: jsonObject.optional() }, { error: 'must be an object' })
    .optional(),
  journeyId: text(200).optional(),
  /** Coupons by issueCoupon step id, as a run would have issued them. */
  coupons: jsonObject
    .superRefine((coupons, ctx) => {
      for (const [stepId, coupon] of Object.entries(coupons)) {
        if (!isJsonObject(coupon))
          ctx.addIssue({ code: 'custom', path: [stepId], message: 'must be an object' });
      }
    })
    .optional(),
});

/**
 * API under /v1/templates (journeys:read; preview journeys:draft): the templates the engine loaded, and a preview that renders one
 * for a customer exactly as a send step would (locale fallback, layout, limits).
 */
export function templatesRouter({
  access,
  auditLog,
  journeys,
  templates: api,
  bodyLimit,
  enqueueTimeoutMs = 10_000,
}: TemplatesRouterOptions): Router {
  const router = express.Router();

  /** Each template once, with the locales it exists in. */
  router.get('/', access.require('journeys:read'), (_req, res) => {
    // `channel` is the folder: a channel, or `notify` for internal alerts.
    const byTemplate = new Map<string, { channel: string; name: string; locales: string[] }>();
    for (const { channel, name, locale } of api.templates.list()) {
      const id = `${channel}/${name}`;
      const entry = byTemplate.get(id) ?? { channel, name, locales: [] };
      entry.locales.push(locale);
      byTemplate.set(id, entry);
    }
    const list = [...byTemplate.values()]
      .map((t) => ({ ...t, locales: t.locales.sort() }))
      .sort((a, b) => (a.channel + a.name < b.channel + b.name ? -1 : 1));
    res.json({ templates: list });
  });

  router.post('/preview', access.require('journeys:draft'), ...jsonBody(bodyLimit), async (req, res) => {
    const input = validateBody(previewSchema, req.body);
    const journey = input.journeyId === undefined ? undefined : journeys.get(input.journeyId);
    if (input.journeyId !== undefined && !journey) {
      throw new ApiError(404, 'not_found', `no journey ${JSON.stringify(input.journeyId)}`);
    }
    let traits = input.traits ?? {};
    // The stored sensitive traits a revealed preview shows unmasked: recorded before it answers.
    let revealedTraits: string[] | undefined;
    if (input.customerId !== undefined) {
      const found = await readProfile(api, input.customerId, enqueueTimeoutMs);
      if (Object.keys(found).length === 0 && input.traits === undefined) {
        throw new ApiError(404, 'not_found', `no profile for customer ${JSON.stringify(input.customerId)}`);
      }
      // The answer shows the rendered text: stored personal data is masked unless revealed.
      const reveal = req.query.reveal === 'true';
      const stored = maskTraits(found, { reveal, sensitive: api.sensitive });
      if (reveal) {
        const sensitive = api.sensitive ?? DEFAULT_SENSITIVE_TRAITS;
        revealedTraits = sensitive.filter((name) => Object.prototype.hasOwnProperty.call(found, name));
        if (api.logger) {
          logReveal(api.logger, {
            who: principalOf(res).name,
            customerId: input.customerId,
            traits: revealedTraits,
            where: 'POST /v1/templates/preview',
          });
        }
      }
      // Given traits override the stored ones: "this customer, but in English".
      traits = { ...stored, ...traits };
    }

    let preview;
    try {
      preview = previewTemplate(api.templates, {
        channel: input.channel,
        template: input.template,
        locale: input.locale,
        customerId: input.customerId ?? 'preview',
        traits,
        ...(input.event
          ? { event: { name: input.event.name, properties: input.event.properties ?? {} } }
          : {}),
        ...(journey ? { journey } : {}),
        coupons: input.coupons,
        defaultTimeZone: api.defaultTimeZone,
      });
    } catch (err) {
      if (err instanceof TemplateNotFoundError) throw new ApiError(404, 'not_found', err.message);
      throw err;
    }
    const { message, length, exceeded } = preview;
    // Both answers below show the rendered text (a 422 too, to show what is too long).
    if (revealedTraits !== undefined) {
      await auditChange(auditLog, req, res, {
        action: 'personal-data.read',
        target: `customer:${input.customerId}`,
        detail: {
          fields: revealedTraits,
          where: 'POST /v1/templates/preview',
          template: `${input.channel}/${input.template}`,
        },
      });
    }
    const shown = { subject: message.subject ?? null, body: message.body, locale: message.locale, length };
    if (exceeded) {
      const { field, unit, limit, actual } = exceeded;
      res.status(422).json({
        error: 'content_too_long',
        message: exceeded.message,
        exceeded: { field, unit, limit, actual },
        ...shown,
      });
      return;
    }
    res.json(shown);
  });

  return router;
}

async function readProfile(api: TemplatesApi, customerId: string, timeoutMs: number) {
  try {
    return await withTimeout(api.profiles.get(customerId), timeoutMs, 'profile store');
  } catch (err) {
    throw new ApiError(503, 'unavailable', 'the profile store is unavailable; retry', {
      headers: { 'Retry-After': '5' },
      cause: err,
    });
  }
}
