import { ExportOutlined } from '@ant-design/icons';
import {
  Alert,
  App,
  Button,
  Card,
  Descriptions,
  Empty,
  Space,
  Table,
  Tag,
  Timeline,
  Typography,
  type TableColumnsType,
  type TableProps,
} from 'antd';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api';
import { ErrorAlert, JsonBlock, PageTitle, RevealSwitch, StatusTag, Time } from '../components/common';
import { ReasonPrompt } from '../components/ReasonPrompt';
import { Link, path } from '../router';
import { useSession } from '../session';
import type { PathEntry, PendingActivity, RunCoupon, RunDetail, RunMessage } from '../types';
import { useApi } from '../use-api';

type Action = 'remove' | 'retry';

/** One customer's run of a journey: where it is, how it got there and why, what it sent. */
export function RunPage({ journeyId, customerId }: { journeyId: string; customerId: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const { can } = useSession();
  const [reveal, setReveal] = useState(false);
  const [action, setAction] = useState<Action>();
  const url = `/v1/journeys/${encodeURIComponent(journeyId)}/customers/${encodeURIComponent(customerId)}`;
  const run = useApi(`run:${journeyId}:${customerId}:${reveal}`, () =>
    api.get<RunDetail>(url, { reveal: reveal || undefined }),
  );

  const act = async (kind: Action, reason: string) => {
    try {
      await api.post(`${url}/${kind}`, { reason });
      void message.success(t(`operator.${kind}Done`));
      setAction(undefined);
      run.reload();
    } catch (err) {
      const text =
        err instanceof ApiError && err.status === 409
          ? t(`operator.${kind}Conflict`)
          : err instanceof Error
            ? err.message
            : String(err);
      void message.error(text);
      throw err;
    }
  };

  const data = run.data;
  const state = data?.state ?? null;
  const running = data?.temporalStatus === 'RUNNING';

  return (
    <>
      <PageTitle
        extra={
          <>
            <RevealSwitch checked={reveal} onChange={setReveal} />
            <Link to={path('customers', customerId)} testId="open-timeline">
              {t('run.timeline')}
            </Link>
            {data?.temporalUiUrl ? (
              <a href={data.temporalUiUrl} target="_blank" rel="noreferrer" data-testid="temporal-link">
                {t('run.temporal')} <ExportOutlined />
              </a>
            ) : null}
            {can('runs:operate') ? (
              <>
                <Button
                  danger
                  disabled={!running}
                  onClick={() => setAction('remove')}
                  data-testid="op-remove"
                >
                  {t('operator.remove')}
                </Button>
                <Button disabled={!data?.retry} onClick={() => setAction('retry')} data-testid="op-retry">
                  {t('operator.retry')}
                </Button>
              </>
            ) : null}
          </>
        }
      >
        <Space wrap>
          <span>{t('run.title', { customerId })}</span>
          <Link to={path('journeys', journeyId)}>
            <Tag>{journeyId}</Tag>
          </Link>
          <StatusTag status={data?.status ?? state?.status} />
        </Space>
      </PageTitle>
      <ErrorAlert error={run.error} />
      {data ? (
        <Space direction="vertical" size="middle" style={{ width: '100%' }}>
          {data.failure ? (
            <Alert
              type="error"
              showIcon
              title={t('run.failure')}
              description={<pre className="tp-json">{data.failure}</pre>}
            />
          ) : null}
          <Card size="small">
            <Descriptions size="small" column={{ xs: 1, md: 2, xl: 3 }} data-testid="run-facts">
              <Descriptions.Item label={t('run.version')}>
                {data.version !== null ? `v${data.version}` : '—'}
              </Descriptions.Item>
              <Descriptions.Item label={t('run.currentStep')}>
                <span data-testid="current-step">{data.currentStep ?? '—'}</span>
              </Descriptions.Item>
              <Descriptions.Item label={t('run.temporalStatus')}>
                <StatusTag status={data.temporalStatus} />
              </Descriptions.Item>
              <Descriptions.Item label={t('run.entered')}>
                <Time value={state?.enteredAt ?? data.startTime} />
              </Descriptions.Item>
              <Descriptions.Item label={t('run.nextWake')}>
                <Time value={data.nextWakeAt} />
              </Descriptions.Item>
              <Descriptions.Item label={t('run.closed')}>
                <Time value={data.closeTime} />
              </Descriptions.Item>
              {state?.group ? (
                <Descriptions.Item label={t('run.group')}>{t(`run.groups.${state.group}`)}</Descriptions.Item>
              ) : null}
              {state?.conversion ? (
                <Descriptions.Item label={t('run.conversion')}>
                  {state.conversion.event} · <Time value={state.conversion.at} />
                </Descriptions.Item>
              ) : null}
              {state?.exitReason ? (
                <Descriptions.Item label={t('run.exitReason')}>{state.exitReason}</Descriptions.Item>
              ) : null}
              {state?.migratedFrom ? (
                <Descriptions.Item label={t('run.migratedFrom')}>
                  v{state.migratedFrom.version} ({state.migratedFrom.by})
                </Descriptions.Item>
              ) : null}
              <Descriptions.Item label={t('run.workflow')}>
                <Typography.Text copyable style={{ fontSize: 12 }}>
                  {data.workflowId}
                </Typography.Text>
              </Descriptions.Item>
            </Descriptions>
          </Card>
          <Card size="small" title={t('run.path')}>
            {state?.path.length ? (
              <Timeline
                data-testid="run-path"
                items={state.path.map((entry, i) => ({
                  key: i,
                  color: pathColour(entry),
                  children: <PathItem entry={entry} />,
                }))}
              />
            ) : (
              <Empty description={t('run.noPath')} />
            )}
          </Card>
          {data.pendingActivities.length ? (
            <RecordsCard<PendingActivity>
              title={t('run.pending')}
              testId="run-pending"
              rowKey="activityId"
              rows={data.pendingActivities}
              columns={[
                { title: t('run.activity'), dataIndex: 'activityType' },
                { title: t('run.state'), dataIndex: 'state' },
                {
                  title: t('run.attempt'),
                  render: (_: unknown, a: PendingActivity) =>
                    a.maximumAttempts ? `${a.attempt} / ${a.maximumAttempts}` : String(a.attempt),
                },
                {
                  title: t('run.lastFailure'),
                  dataIndex: 'lastFailure',
                  render: (v: string | null) => v ?? '—',
                },
                {
                  title: t('run.nextAttempt'),
                  dataIndex: 'nextAttemptAt',
                  render: (v: string | null) => <Time value={v} />,
                },
              ]}
            />
          ) : null}
          <RecordsCard<RunMessage>
            title={t('run.messages')}
            testId="run-messages"
            rowKey="idempotencyKey"
            rows={data.messages}
            empty={t('run.noMessages')}
            columns={[
              { title: t('run.step'), dataIndex: 'stepId', render: (s: string) => <code>{s}</code> },
              {
                title: t('run.channel'),
                render: (_: unknown, m) => (
                  <Space direction="vertical" size={0}>
                    <span>{m.channel}</span>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {m.template}
                      {m.locale ? ` · ${m.locale}` : ''}
                    </Typography.Text>
                  </Space>
                ),
              },
              {
                title: t('run.messageStatus'),
                dataIndex: 'status',
                render: (s: string, m) => (
                  <Space direction="vertical" size={0}>
                    <StatusTag status={s} />
                    {m.error ? <Typography.Text type="danger">{m.error}</Typography.Text> : null}
                  </Space>
                ),
              },
              { title: t('run.at'), render: (_: unknown, m) => <Time value={m.sentAt ?? m.at} /> },
              {
                title: t('run.content'),
                render: (_: unknown, m) =>
                  m.to || m.subject || m.body ? (
                    <div className="tp-message" data-testid="message-content">
                      {m.to ? <div className="tp-message-to">→ {m.to}</div> : null}
                      {m.subject ? <strong>{m.subject}</strong> : null}
                      {m.body ? <div>{m.body}</div> : null}
                    </div>
                  ) : (
                    '—'
                  ),
              },
            ]}
          />
          <RecordsCard<RunCoupon>
            title={t('run.coupons')}
            testId="run-coupons"
            rowKey="code"
            rows={data.coupons}
            empty={t('run.noCoupons')}
            columns={[
              { title: t('run.couponCode'), dataIndex: 'code', render: (c: string) => <code>{c}</code> },
              { title: t('run.campaign'), dataIndex: 'campaign' },
              { title: t('run.value'), render: (_: unknown, c) => `${c.value} ${c.currency}` },
              { title: t('run.step'), render: (_: unknown, c) => <code>{c.journey.stepId}</code> },
              { title: t('run.issued'), dataIndex: 'issuedAt', render: (v: string) => <Time value={v} /> },
              {
                title: t('run.expires'),
                dataIndex: 'expiresAt',
                render: (v: string) => <Time value={v} />,
              },
              {
                title: t('run.redeemed'),
                render: (_: unknown, c) =>
                  c.redemption ? (
                    <Tag color="green" data-testid="coupon-redeemed">
                      {t('run.redeemedAt')} <Time value={c.redemption.at} />
                    </Tag>
                  ) : (
                    <StatusTag status={c.status === 'issued' ? 'not-redeemed' : c.status} />
                  ),
              },
            ]}
          />
        </Space>
      ) : null}
      <ReasonPrompt
        open={action === 'remove'}
        danger
        title={t('operator.removeTitle', { customerId, journeyId })}
        description={t('operator.removeHelp')}
        okText={t('operator.remove')}
        onConfirm={(reason) => act('remove', reason)}
        onCancel={() => setAction(undefined)}
      />
      <ReasonPrompt
        open={action === 'retry'}
        title={t('operator.retryTitle', { customerId, journeyId })}
        description={t('operator.retryHelp')}
        okText={t('operator.retry')}
        onConfirm={(reason) => act('retry', reason)}
        onCancel={() => setAction(undefined)}
      />
    </>
  );
}

/** A card of the run's records (activities, messages, coupons) as a table; `empty` when there are none. */
function RecordsCard<T extends object>({
  title,
  testId,
  rowKey,
  rows,
  empty,
  columns,
}: {
  title: ReactNode;
  testId: string;
  rowKey: TableProps<T>['rowKey'];
  rows: T[];
  empty?: ReactNode;
  columns: TableColumnsType<T>;
}) {
  return (
    <Card size="small" title={title}>
      <Table<T>
        size="small"
        data-testid={testId}
        rowKey={rowKey}
        dataSource={rows}
        pagination={false}
        locale={empty === undefined ? undefined : { emptyText: empty }}
        columns={columns}
      />
    </Card>
  );
}

function pathColour(entry: PathEntry): string {
  const outcome = entry.outcome ?? '';
  if (outcome.startsWith('skipped')) return 'gray';
  if (outcome === 'failed' || outcome.startsWith('error')) return 'red';
  if (outcome === 'converted') return 'green';
  return 'blue';
}

function PathItem({ entry }: { entry: PathEntry }) {
  return (
    <Space direction="vertical" size={2}>
      <Space wrap size={6}>
        <code>{entry.stepId}</code>
        <Tag>{entry.type}</Tag>
        {entry.outcome ? (
          <Tag color={pathColour(entry) === 'gray' ? 'default' : pathColour(entry)}>{entry.outcome}</Tag>
        ) : null}
        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
          <Time value={entry.at} />
        </Typography.Text>
      </Space>
      {entry.reason ? <Typography.Text data-testid="path-reason">{entry.reason}</Typography.Text> : null}
      {entry.detail && Object.keys(entry.detail).length > 0 && !entry.reason ? (
        <JsonBlock value={entry.detail} />
      ) : null}
    </Space>
  );
}
