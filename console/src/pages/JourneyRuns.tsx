import { Button, Select, Space, Table, Typography } from 'antd';
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { ErrorAlert, StatusTag, Time } from '../components/common';
import { Link, navigate, path, useLocation } from '../router';
import type { JourneyDetail, RunListItem, RunsPage, RunStatusFilter } from '../types';
import { usePagedList } from '../use-api';
import { useVersionSteps } from './JourneyOverview';

const STATUSES: RunStatusFilter[] = ['running', 'converted', 'completed', 'exited', 'failed'];
const PAGE_SIZE = 50;

/** The run explorer: customers of a version, at a step, in a state; paged by the server's cursor. */
export function JourneyRuns({ journey, version }: { journey: JourneyDetail; version: number | null }) {
  const { t } = useTranslation();
  const { query } = useLocation();
  const step = query.get('step') ?? undefined;
  const status = (query.get('status') as RunStatusFilter | null) ?? undefined;
  const steps = useVersionSteps(journey, version);
  const filterKey = `${journey.id}|${version}|${step}|${status}`;
  const {
    items: runs,
    next: cursor,
    loading,
    error,
    load,
    clear,
  } = usePagedList<RunListItem, string>(async (after) => {
    const page = await api.get<RunsPage>(`/v1/journeys/${encodeURIComponent(journey.id)}/runs`, {
      version,
      step,
      status,
      pageSize: PAGE_SIZE,
      cursor: after,
    });
    return { items: page.runs, next: page.nextCursor ?? null };
  });
  useEffect(() => {
    clear();
    void load(null, true);
  }, [filterKey]);

  const setFilter = (name: 'step' | 'status', value: string | undefined) => {
    const next = new URLSearchParams(query);
    if (value) next.set(name, value);
    else next.delete(name);
    const qs = next.toString();
    navigate(`${path('journeys', journey.id, 'runs')}${qs ? `?${qs}` : ''}`, { replace: true });
  };

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Space wrap>
        <Select<string>
          allowClear
          placeholder={t('runs.anyStep')}
          value={step}
          onChange={(v) => setFilter('step', v)}
          style={{ width: 220 }}
          data-testid="runs-step"
          options={(steps ?? []).map((s) => ({ value: s.id, label: `${s.id} (${s.type})` }))}
        />
        <Select<string>
          allowClear
          placeholder={t('runs.anyStatus')}
          value={status}
          onChange={(v) => setFilter('status', v)}
          style={{ width: 180 }}
          data-testid="runs-status"
          options={STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))}
        />
        <Button onClick={() => void load(null, true)} loading={loading}>
          {t('common.refresh')}
        </Button>
      </Space>
      <ErrorAlert error={error} />
      <Table<RunListItem>
        size="small"
        rowKey={(r) => `${r.workflowId}/${r.runId}`}
        data-testid="runs"
        loading={loading && runs.length === 0}
        dataSource={runs}
        pagination={false}
        columns={[
          {
            title: t('runs.customer'),
            dataIndex: 'customerId',
            render: (customerId: string) => (
              <Link to={`${path('journeys', journey.id, 'runs', customerId)}`} testId={`run-${customerId}`}>
                {customerId}
              </Link>
            ),
          },
          {
            title: t('runs.version'),
            dataIndex: 'version',
            render: (v: number | null) => (v ? `v${v}` : '—'),
          },
          {
            title: t('runs.step'),
            dataIndex: 'step',
            render: (s: string | null) => (s ? <code>{s}</code> : '—'),
          },
          { title: t('runs.status'), dataIndex: 'status', render: (s: string) => <StatusTag status={s} /> },
          { title: t('runs.started'), dataIndex: 'startTime', render: (v: string) => <Time value={v} /> },
          {
            title: t('runs.closed'),
            dataIndex: 'closeTime',
            render: (v: string | null) => <Time value={v} />,
          },
        ]}
      />
      <Space>
        <Typography.Text type="secondary" data-testid="runs-shown">
          {t('runs.shown', { count: runs.length })}
        </Typography.Text>
        {cursor ? (
          <Button onClick={() => void load(cursor, false)} loading={loading} data-testid="runs-more">
            {t('common.loadMore')}
          </Button>
        ) : null}
      </Space>
    </Space>
  );
}
