import { Button, Card, Empty, Input, Select, Space, Tag, Timeline, Typography } from 'antd';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { ErrorAlert, JsonBlock, PageTitle, RevealSwitch, Time } from '../components/common';
import { Link, navigate, path } from '../router';
import type { TimelineAnswer, TimelineItem, TimelineKind } from '../types';

const PAGE_SIZE = 200;

const KIND_COLOURS: Record<TimelineKind, string> = {
  event: 'blue',
  step: 'cyan',
  touch: 'green',
  skip: 'gray',
  'coupon-issued': 'purple',
  'coupon-redeemed': 'magenta',
  consent: 'orange',
  merge: 'gold',
};
// The kinds to filter by: KIND_COLOURS, typed by the server's TimelineKind, names every one.
const TIMELINE_KINDS = Object.keys(KIND_COLOURS) as TimelineKind[];

function CustomerLookup({ initial = '' }: { initial?: string }) {
  const { t } = useTranslation();
  return (
    <Input.Search
      defaultValue={initial}
      placeholder={t('timeline.customerId')}
      enterButton={t('timeline.open')}
      onSearch={(value) => value.trim() && navigate(path('customers', value.trim()))}
      style={{ maxWidth: 420 }}
      data-testid="customer-search"
    />
  );
}

/** /customers: a customer id to open the timeline of. */
export function CustomerSearch() {
  const { t } = useTranslation();
  return (
    <>
      <PageTitle>{t('timeline.title')}</PageTitle>
      <Card>
        <Typography.Paragraph type="secondary">{t('timeline.lookupHelp')}</Typography.Paragraph>
        <CustomerLookup />
      </Card>
    </>
  );
}

/** A touch's rendered message (masked unless revealed): subject and body as the customer saw them. */
function TouchContent({ detail }: { detail: Record<string, unknown> | undefined }) {
  const subject = typeof detail?.subject === 'string' ? detail.subject : undefined;
  const body = typeof detail?.body === 'string' ? detail.body : undefined;
  if (subject === undefined && body === undefined) return null;
  return (
    <div className="tp-message" data-testid="touch-content">
      {typeof detail?.to === 'string' ? <div className="tp-message-to">→ {detail.to}</div> : null}
      {subject ? <strong>{subject}</strong> : null}
      {body ? <div>{body}</div> : null}
    </div>
  );
}

/** Everything that happened to one customer across every journey, newest first. */
export function CustomerTimelinePage({ customerId }: { customerId: string }) {
  const { t } = useTranslation();
  const [reveal, setReveal] = useState(false);
  const [kinds, setKinds] = useState<TimelineKind[]>([]);
  const [answer, setAnswer] = useState<TimelineAnswer>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();

  const load = async (until: string | undefined, previous: TimelineAnswer | undefined) => {
    setLoading(true);
    try {
      const page = await api.get<TimelineAnswer>(`/v1/customers/${encodeURIComponent(customerId)}/timeline`, {
        limit: PAGE_SIZE,
        until,
        reveal: reveal || undefined,
      });
      // `until` is inclusive: items at that very time come again.
      const seen = new Set(previous?.items.map(itemKey));
      setAnswer(
        previous
          ? { ...page, items: [...previous.items, ...page.items.filter((i) => !seen.has(itemKey(i)))] }
          : page,
      );
      setError(undefined);
    } catch (err) {
      setError(err);
      if (!previous) setAnswer(undefined);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load(undefined, undefined);
  }, [customerId, reveal]);

  const items = useMemo(
    () => (answer?.items ?? []).filter((item) => kinds.length === 0 || kinds.includes(item.kind)),
    [answer, kinds],
  );
  const resolved = answer?.customerId ?? customerId;

  return (
    <>
      <PageTitle
        extra={
          <>
            <Select<TimelineKind[]>
              mode="multiple"
              allowClear
              placeholder={t('timeline.allKinds')}
              value={kinds}
              onChange={setKinds}
              style={{ minWidth: 240 }}
              options={TIMELINE_KINDS.map((k) => ({ value: k, label: t(`timeline.kinds.${k}`) }))}
              data-testid="timeline-kinds"
            />
            <RevealSwitch checked={reveal} onChange={setReveal} />
          </>
        }
      >
        <Space wrap>
          <span data-testid="timeline-title">{t('timeline.of', { customerId })}</span>
          {answer?.resolvedFrom ? (
            <Tag color="gold">{t('timeline.mergedInto', { customerId: resolved })}</Tag>
          ) : null}
          {answer?.aliases?.length ? (
            <Tag>{t('timeline.aliases', { ids: answer.aliases.join(', ') })}</Tag>
          ) : null}
        </Space>
      </PageTitle>
      <Space direction="vertical" size="middle" style={{ width: '100%' }}>
        <CustomerLookup key={customerId} initial={customerId} />
        <ErrorAlert error={error} />
        {!reveal ? (
          <Typography.Text type="secondary" data-testid="masked-note">
            {t('timeline.masked')}
          </Typography.Text>
        ) : null}
        <Card size="small" loading={loading && !answer}>
          {items.length ? (
            <Timeline
              data-testid="timeline"
              items={items.map((item, i) => ({
                key: `${itemKey(item)}-${i}`,
                color: KIND_COLOURS[item.kind] ?? 'blue',
                children: (
                  <Space direction="vertical" size={2} style={{ width: '100%' }} data-kind={item.kind}>
                    <Space wrap size={6}>
                      <Tag color={KIND_COLOURS[item.kind]}>
                        {t(`timeline.kinds.${item.kind}`, { defaultValue: item.kind })}
                      </Tag>
                      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                        <Time value={item.at} />
                      </Typography.Text>
                      {item.journeyId ? (
                        <Link to={path('journeys', item.journeyId, 'runs', resolved)}>
                          <Tag>
                            {item.journeyId}
                            {item.version ? ` v${item.version}` : ''}
                            {item.stepId ? ` · ${item.stepId}` : ''}
                          </Tag>
                        </Link>
                      ) : null}
                    </Space>
                    <Typography.Text data-testid="timeline-summary">{item.summary}</Typography.Text>
                    {item.kind === 'touch' ? <TouchContent detail={item.detail} /> : null}
                    {item.detail && Object.keys(item.detail).length > 0 ? (
                      <details>
                        <summary>
                          <Typography.Text type="secondary">{t('common.details')}</Typography.Text>
                        </summary>
                        <JsonBlock value={item.detail} />
                      </details>
                    ) : null}
                  </Space>
                ),
              }))}
            />
          ) : (
            <Empty description={t('timeline.empty')} />
          )}
        </Card>
        {answer?.more ? (
          <Button
            onClick={() => void load(answer.items.at(-1)?.at, answer)}
            loading={loading}
            data-testid="timeline-more"
          >
            {t('common.loadMore')}
          </Button>
        ) : null}
      </Space>
    </>
  );
}

const itemKey = (item: TimelineItem) =>
  `${item.at}|${item.kind}|${item.journeyId ?? ''}|${item.stepId ?? ''}|${item.summary}`;
