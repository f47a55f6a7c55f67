import { ReloadOutlined } from '@ant-design/icons';
import { Button, Card, Col, Row, Space, Statistic, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { ErrorAlert, Time } from '../components/common';
import { MermaidDiagram } from '../components/MermaidDiagram';
import { Link, path } from '../router';
import { useSession } from '../session';
import type { CountsAnswer, GraphAnswer, JourneyDetail } from '../types';
import { useApi } from '../use-api';

/** Live counts refresh this often while the page is open. */
export const REFRESH_MS = 10_000;

const OUTCOMES = ['entered', 'running', 'converted', 'completed', 'exited', 'failed'] as const;

/** The steps of one version of a journey (the latest is at hand; others are fetched). */
export function useVersionSteps(
  journey: JourneyDetail,
  version: number | null,
): JourneyDetail['steps'] | undefined {
  const other = version !== null && version !== journey.version;
  const record = useApi(other ? `version:${journey.id}@${version}` : null, () =>
    api.get<{ journey: JourneyDetail }>(`/v1/journeys/${encodeURIComponent(journey.id)}/versions/${version}`),
  );
  return other ? record.data?.journey.steps : journey.steps;
}

/** The diagram with customers per step, the outcome totals, refreshed every 10 s. */
export function JourneyOverview({ journey, version }: { journey: JourneyDetail; version: number }) {
  const { t } = useTranslation();
  const { can } = useSession();
  const id = encodeURIComponent(journey.id);
  const graph = useApi(
    `graph:${journey.id}@${version}`,
    () => api.get<GraphAnswer>(`/v1/journeys/${id}/graph`, { version, counts: true }),
    { refreshMs: REFRESH_MS },
  );
  const countsAnswer = useApi(
    `counts:${journey.id}@${version}`,
    () => api.get<CountsAnswer>(`/v1/journeys/${id}/counts`, { version }),
    { refreshMs: REFRESH_MS },
  );
  const counts = countsAnswer.data?.versions.find((c) => c.version === version) ?? graph.data?.counts;
  const steps = useVersionSteps(journey, version);
  const stepRows = Object.entries(counts?.steps ?? {}).map(([stepId, running]) => ({
    stepId,
    type: steps?.find((s) => s.id === stepId)?.type,
    running,
  }));
  for (const step of steps ?? [])
    if (!stepRows.some((r) => r.stepId === step.id))
      stepRows.push({ stepId: step.id, type: step.type, running: 0 });

  const reload = () => {
    graph.reload();
    countsAnswer.reload();
  };
  const runsAt = (stepId: string) =>
    `${path('journeys', journey.id, 'runs')}?version=${version}&step=${encodeURIComponent(stepId)}`;

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Space wrap>
        <Typography.Text type="secondary" data-testid="counts-updated">
          {t('journey.updatedAt')}{' '}
          <Time value={countsAnswer.loadedAt?.toISOString() ?? graph.loadedAt?.toISOString()} />
          {' · '}
          {t('journey.refreshEvery', { seconds: REFRESH_MS / 1000 })}
        </Typography.Text>
        <Button
          size="small"
          icon={<ReloadOutlined />}
          onClick={reload}
          loading={graph.loading || countsAnswer.loading}
        >
          {t('common.refresh')}
        </Button>
      </Space>
      <ErrorAlert error={countsAnswer.error} title={t('journey.countsFailed')} />
      <Row gutter={[12, 12]} data-testid="counts">
        {OUTCOMES.map((outcome) => (
          <Col key={outcome} xs={12} sm={8} lg={4}>
            <Card size="small">
              <Statistic
                title={t(`counts.${outcome}`)}
                value={counts ? counts[outcome] : '—'}
                valueStyle={outcome === 'failed' && counts?.failed ? { color: '#cf1322' } : undefined}
                data-testid={`count-${outcome}`}
              />
            </Card>
          </Col>
        ))}
      </Row>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={16}>
          <Card title={t('journey.diagram')} size="small">
            <ErrorAlert error={graph.error} title={t('journey.diagramFailed')} />
            {graph.data ? <MermaidDiagram source={graph.data.mermaid} /> : null}
          </Card>
        </Col>
        <Col xs={24} xl={8}>
          <Card title={t('journey.perStep')} size="small">
            <Table
              size="small"
              rowKey="stepId"
              pagination={false}
              dataSource={stepRows}
              data-testid="step-counts"
              columns={[
                {
                  title: t('journey.step'),
                  dataIndex: 'stepId',
                  render: (stepId: string, row) => (
                    <Space direction="vertical" size={0}>
                      <code>{stepId}</code>
                      {row.type ? (
                        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                          {row.type}
                        </Typography.Text>
                      ) : null}
                    </Space>
                  ),
                },
                {
                  title: t('journey.atStep'),
                  dataIndex: 'running',
                  align: 'right',
                  render: (running: number, row) =>
                    can('runs:read') && running > 0 ? (
                      <Link to={runsAt(row.stepId)} testId={`step-count-${row.stepId}`}>
                        {running}
                      </Link>
                    ) : (
                      <span data-testid={`step-count-${row.stepId}`}>{running}</span>
                    ),
                },
              ]}
            />
          </Card>
        </Col>
      </Row>
    </Space>
  );
}
