import { Alert, Space, Switch, Tag, Tooltip, Typography } from 'antd';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api';
import { useSession } from '../session';

/** A time in the reader's language and zone, the exact ISO value on hover. */
export function Time({ value }: { value: string | null | undefined }) {
  const { i18n } = useTranslation();
  if (!value) return <Typography.Text type="secondary">—</Typography.Text>;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return <>{value}</>;
  const text = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'medium' }).format(
    date,
  );
  return (
    <Tooltip title={value}>
      <span className="tp-time">{text}</span>
    </Tooltip>
  );
}

/** An API failure, said plainly: refused (403), not there (404), or what the server said. */
export function ErrorAlert({ error, title }: { error: unknown; title?: ReactNode }) {
  const { t } = useTranslation();
  if (!error) return null;
  let description: ReactNode = error instanceof Error ? error.message : String(error);
  if (error instanceof ApiError) {
    if (error.status === 403) description = t('errors.forbidden');
    else if (error.status === 404) description = `${t('errors.notFound')} (${error.message})`;
    else if (error.issues?.length)
      description = error.issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ');
    else description = `${error.message} (${error.status} ${error.code})`;
  }
  return (
    <Alert
      type="error"
      showIcon
      title={title ?? t('errors.title')}
      description={description}
      data-testid="error"
    />
  );
}

const STATUS_COLOURS: Record<string, string> = {
  published: 'green',
  running: 'processing',
  paused: 'orange',
  stopped: 'red',
  draft: 'default',
  converted: 'green',
  completed: 'blue',
  exited: 'default',
  failed: 'red',
  pending: 'gold',
  canceled: 'default',
  terminated: 'red',
  timed_out: 'red',
  queued: 'default',
  sent: 'blue',
  delivered: 'green',
  opened: 'green',
  clicked: 'green',
  issued: 'purple',
  redeemed: 'green',
  expired: 'default',
  'not-redeemed': 'default',
};

/** A status as a coloured tag, in the reader's language when it is one the console knows. */
export function StatusTag({ status }: { status: string | null | undefined }) {
  const { t } = useTranslation();
  if (!status) return null;
  const key = status.toLowerCase();
  const colour = STATUS_COLOURS[key] ?? (key.startsWith('skipped') ? 'warning' : 'default');
  return (
    <Tag color={colour} data-status={key}>
      {t(`status.${key}`, { defaultValue: status })}
    </Tag>
  );
}

/** The switch that asks for personal data unmasked; shown only to a role with personal-data:reveal. */
export function RevealSwitch({
  checked,
  onChange,
}: {
  checked: boolean;
  onChange: (reveal: boolean) => void;
}) {
  const { t } = useTranslation();
  const { can } = useSession();
  if (!can('personal-data:reveal')) return null;
  return (
    <Space>
      <Typography.Text>{t('common.reveal')}</Typography.Text>
      <Switch checked={checked} onChange={onChange} data-testid="reveal" />
    </Space>
  );
}

export function PageTitle({ children, extra }: { children: ReactNode; extra?: ReactNode }) {
  return (
    <div className="tp-page-title">
      <Typography.Title level={3} style={{ margin: 0 }}>
        {children}
      </Typography.Title>
      {extra ? <div className="tp-page-title-extra">{extra}</div> : null}
    </div>
  );
}

/** Small JSON values shown as code (details of audit entries, timeline items, path entries). */
export function JsonBlock({ value }: { value: unknown }) {
  if (value === undefined || value === null) return null;
  return <pre className="tp-json">{JSON.stringify(value, null, 2)}</pre>;
}
