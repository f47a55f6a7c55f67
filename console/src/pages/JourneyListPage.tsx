import { Input, Space, Table, Tag, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { ErrorAlert, PageTitle, StatusTag } from '../components/common';
import { Link, path } from '../router';
import type { JourneySummary } from '../types';
import { useApi } from '../use-api';

/** What starts a journey, in a few words: its event, trait change, schedule or API only. */
export function entrySummary(entry: JourneySummary['entry']): string {
  if (!entry) return '';
  if (typeof entry.event === 'string') return entry.event;
  if (typeof entry.traitChanged === 'string') return `identify: ${entry.traitChanged}`;
  if (entry.schedule) return `cron ${entry.schedule.cron} (${entry.schedule.timezone})`;
  if (entry.api) return 'API';
  return '';
}

export function JourneyListPage() {
  const { t } = useTranslation();
  const [filter, setFilter] = useState('');
  const journeys = useApi('journeys', () => api.get<{ journeys: JourneySummary[] }>('/v1/journeys'));

  const rows = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const all = journeys.data?.journeys ?? [];
    return needle
      ? all.filter((j) => j.id.toLowerCase().includes(needle) || j.name.toLowerCase().includes(needle))
      : all;
  }, [journeys.data, filter]);

  return (
    <>
      <PageTitle
        extra={
          <Input.Search
            allowClear
            placeholder={t('journeys.filter')}
            onChange={(e) => setFilter(e.target.value)}
            style={{ width: 260 }}
          />
        }
      >
        {t('journeys.title')}
      </PageTitle>
      <ErrorAlert error={journeys.error} />
      <Table<JourneySummary>
        data-testid="journey-list"
        rowKey="id"
        loading={journeys.loading && !journeys.data}
        dataSource={rows}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        columns={[
          {
            title: t('journeys.name'),
            dataIndex: 'name',
            render: (name: string, j) => (
              <Space direction="vertical" size={0}>
                <Link to={path('journeys', j.id)} testId={`journey-${j.id}`}>
                  {name}
                </Link>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {j.id}
                </Typography.Text>
              </Space>
            ),
            sorter: (a, b) => a.name.localeCompare(b.name),
          },
          {
            title: t('journeys.status'),
            dataIndex: 'status',
            render: (status: string, j) => (
              <Space size={4}>
                <StatusTag status={status} />
                {j.hasDraft ? <Tag>{t('journeys.hasDraft')}</Tag> : null}
              </Space>
            ),
            filters: ['published', 'paused', 'stopped', 'draft'].map((s) => ({
              text: t(`status.${s}`),
              value: s,
            })),
            onFilter: (value, j) => j.status === value,
          },
          {
            title: t('journeys.version'),
            dataIndex: 'version',
            render: (v: number | null) => (v === null ? '—' : `v${v}`),
            width: 100,
          },
          { title: t('journeys.entry'), render: (_: unknown, j) => <code>{entrySummary(j.entry)}</code> },
          { title: t('journeys.steps'), render: (_: unknown, j) => j.steps?.length ?? '—', width: 90 },
        ]}
      />
    </>
  );
}
