import { Select, Space, Tabs, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { ErrorAlert, PageTitle, StatusTag } from '../components/common';
import { navigate, path, useLocation } from '../router';
import { useSession } from '../session';
import type { JourneyDetail, VersionsAnswer } from '../types';
import { useApi } from '../use-api';
import { JourneyOverview } from './JourneyOverview';
import { JourneyRuns } from './JourneyRuns';
import { JourneyVersions } from './JourneyVersions';

export type JourneyTab = 'overview' | 'versions' | 'runs';

/**
 * One journey: its diagram with live counts, its versions and diffs, and the runs explorer, as
 * tabs (each its own address). The version picked in the header applies to all three.
 */
export function JourneyPage({ id, tab }: { id: string; tab: JourneyTab }) {
  const { t } = useTranslation();
  const { can } = useSession();
  const { query } = useLocation();
  const journey = useApi(`journey:${id}`, () =>
    api.get<JourneyDetail>(`/v1/journeys/${encodeURIComponent(id)}`),
  );
  const versions = useApi(`versions:${id}`, () =>
    api.get<VersionsAnswer>(`/v1/journeys/${encodeURIComponent(id)}/versions`),
  );

  const latest = journey.data?.version ?? null;
  const requested = Number(query.get('version'));
  const version = Number.isInteger(requested) && requested > 0 ? requested : latest;
  const setVersion = (v: number) => {
    const next = new URLSearchParams(query);
    next.set('version', String(v));
    // The step filter belongs to a version's steps.
    next.delete('step');
    navigate(`${base}${tabPath(tab)}?${next.toString()}`, { replace: true });
  };
  const base = path('journeys', id);
  const tabPath = (key: JourneyTab) => (key === 'overview' ? '' : `/${key}`);
  const keepVersion = version && version !== latest ? `?version=${version}` : '';

  if (journey.error) return <ErrorAlert error={journey.error} />;
  const data = journey.data;
  const versionOptions = (versions.data?.versions ?? []).map((v) => ({
    value: v.version,
    label: `v${v.version}${v.version === latest ? ` (${t('journey.latest')})` : ''}`,
  }));

  return (
    <>
      <PageTitle
        extra={
          version !== null ? (
            <Space>
              <Typography.Text type="secondary">{t('journey.version')}</Typography.Text>
              <Select<number>
                value={version}
                options={versionOptions.length ? versionOptions : [{ value: version, label: `v${version}` }]}
                onChange={setVersion}
                style={{ width: 160 }}
                data-testid="version-select"
              />
            </Space>
          ) : null
        }
      >
        <Space align="center" wrap>
          <span data-testid="journey-name">{data?.name ?? id}</span>
          <Tag>{id}</Tag>
          <StatusTag status={data?.status} />
        </Space>
      </PageTitle>
      <Tabs
        activeKey={tab}
        onChange={(key) => navigate(`${base}${tabPath(key as JourneyTab)}${keepVersion}`)}
        items={[
          {
            key: 'overview',
            label: <span data-testid="tab-overview">{t('journey.tabs.overview')}</span>,
            children:
              tab === 'overview' && data && version !== null ? (
                <JourneyOverview journey={data} version={version} />
              ) : null,
          },
          {
            key: 'versions',
            label: <span data-testid="tab-versions">{t('journey.tabs.versions')}</span>,
            children: tab === 'versions' ? <JourneyVersions id={id} versions={versions} /> : null,
          },
          ...(can('runs:read')
            ? [
                {
                  key: 'runs',
                  label: <span data-testid="tab-runs">{t('journey.tabs.runs')}</span>,
                  children: tab === 'runs' && data ? <JourneyRuns journey={data} version={version} /> : null,
                },
              ]
            : []),
        ]}
      />
    </>
  );
}
