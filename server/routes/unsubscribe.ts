import express, { type Request, type Response, type Router } from 'express';
import type { AuditLog } from '../../audit-log/types';
import type { ConsentStore } from '../../rules/consent';
import type { UnsubscribeLinks } from '../../rules/unsubscribe';
import { originOf } from '../request-origin';

export interface UnsubscribeRouterOptions {
  /** An opt-out is appended as the customer's own `consent.change`, via `unsubscribe-link`. */
  auditLog: AuditLog;
  consent: ConsentStore;
  links: UnsubscribeLinks;
}

type Lang = 'zh-CN' | 'en';

const PAGES: Record<Lang, Record<'done' | 'invalid', { title: string; text: (topic: string) => string }>> = {
  'zh-CN': {
    done: {
      title: '退订成功',
      text: (topic) =>
        `您已退订此类营销邮件（主题：${topic}），今后不会再收到。订单、物流等服务通知不受影响。`,
    },
    invalid: {
      title: '链接无效',
      text: () => '此退订链接无效或不完整。请使用邮件中的完整链接，或联系客服为您退订。',
    },
  },
  en: {
    done: {
      title: 'You are unsubscribed',
      text: (topic) =>
        `You will no longer receive these marketing emails (topic: ${topic}). Service messages such as order and delivery updates are not affected.`,
    },
    invalid: {
      title: 'This link is not valid',
      text: () =>
        'This unsubscribe link is invalid or incomplete. Use the full link from the email, or contact us to unsubscribe.',
    },
  },
};

/**
 * The email unsubscribe link, `/u/:token`, no API key (the signed token is the authorisation).
 * GET is the link in the email body; POST is RFC 8058 one-click unsubscribe, which mail clients
 * send from the List-Unsubscribe header. Both revoke at once and answer a small page in the
 * reader's language (Chinese unless the browser prefers English). A forged or altered token
 * changes nothing and gets 400.
 */
export function unsubscribeRouter({ auditLog, consent, links }: UnsubscribeRouterOptions): Router {
  const router = express.Router();

  const handle = async (req: Request<{ token: string }>, res: Response) => {
    const lang = language(req);
    const target = links.read(req.params.token);
    if (!target) return page(res.status(400), lang, 'invalid', '');
    // A second click (or a mail scanner fetching the link again) adds nothing to the history.
    const now = await consent.check(target.customerId, target.channel, target.topic);
    if (now.allowed || now.record?.topic !== target.topic) {
      await consent.record(target.customerId, {
        channel: target.channel,
        topic: target.topic,
        status: 'revoked',
        source: 'unsubscribe-link',
      });
      await auditLog.append({
        actor: { name: target.customerId, role: 'customer' },
        action: 'consent.change',
        target: `customer:${target.customerId}`,
        detail: { channel: target.channel, topic: target.topic, status: 'revoked', method: req.method },
        from: { ...originOf(req), via: 'unsubscribe-link' },
      });
    }
    page(res.status(200), lang, 'done', target.topic);
  };
  router.get('/u/:token', handle);
  router.post('/u/:token', handle);
  return router;
}

function language(req: Request): Lang {
  const preferred = req.acceptsLanguages('zh-CN', 'zh', 'en');
  return preferred === 'en' ? 'en' : 'zh-CN';
}

function page(res: Response, lang: Lang, kind: 'done' | 'invalid', topic: string): void {
  const { title, text } = PAGES[lang][kind];
  res
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      // The token is in the URL: keep it out of Referer headers and search indexes.
      'Referrer-Policy': 'no-referrer',
      'X-Robots-Tag': 'noindex',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
    })
    .send(
      `<!doctype html>
<html lang="${lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head>
<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text(topic))}</p></body>
</html>
`,
    );
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}
