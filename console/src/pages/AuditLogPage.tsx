import {
  CheckCircleOutlined,
  CloseCircleOutlined,
  DownloadOutlined,
  SafetyCertificateOutlined,
} from '@ant-design/icons';
import { Alert, Button, Card, Form, Input, Space, Table, Tag, Tooltip, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, withQuery } from '../api';
import { ErrorAlert, JsonBlock, PageTitle, Time } from '../components/common';
import type { AuditEntry, AuditPage, AuditVerification } from '../types';
import { usePagedList } from '../use-api';

const PAGE_SIZE = 100;

interface Filters {
  action?: string;
  actor?: string;
  target?: string;
  since?: string;
  until?: string;
}

/** The filter inputs, in order: each labelled `audit.<name>`, with an example where one helps. */
const FILTER_FIELDS: { name: keyof Filters; placeholder?: string; width: number; testId?: string }[] = [
  { name: 'action', placeholder: 'journey.publish', width: 170, testId: 'filter-action' },
  { name: 'actor', width: 140, testId: 'filter-actor' },
  { name: 'target', placeholder: 'journey:welcome*', width: 180, testId: 'filter-target' },
  { name: 'since', placeholder: '2025-01-31 08:00', width: 150 },
  { name: 'until', placeholder: '2025-02-01', width: 150 },
];

/** A time typed as `2024-05-01` or `2024-05-01 08:00` (local), as ISO-8601; undefined if empty. */
export function isoFrom(text: string | undefined): string | undefined {
  if (!text?.trim()) return undefined;
  const date = new Date(text.trim().replace(' ', 'T'));
  return Number.isNaN(date.getTime()) ? text.trim() : date.toISOString();
}

/**
 * The audit log: every change and unmasked read, newest first, filtered on the server; older
 * pages on demand. "Verify" walks the hash chain on the server and says whether
 * anything was edited, removed or reordered.
 */
export function AuditLogPage() {
  const { t } = useTranslation();
  const [form] = Form.useForm<Filters>();
  const [filters, setFilters] = useState<Filters>({});
  const [verification, setVerification] = useState<AuditVerification>();
  const [verifying, setVerifying] = useState(false);
  const [verifyError, setVerifyError] = useState<unknown>();

  const query = (f: Filters) => ({
    action: f.action?.trim(),
    actor: f.actor?.trim(),
    target: f.target?.trim(),
    since: isoFrom(f.since),
    until: isoFrom(f.until),
  });

  const {
    items: entries,
    next,
    loading,
    error,
    load,
  } = usePagedList<AuditEntry, number>(async (before) => {
    const page = await api.get<AuditPage>('/v1/audit', {
      ...query(filters),
      order: 'desc',
      before,
      limit: PAGE_SIZE,
    });
    return { items: page.entries, next: page.next };
  });
  // Applying filters starts again from the newest entry.
  useEffect(() => {
    void load(null, true);
  }, [filters]);

  const verify = async () => {
    setVerifying(true);
    try {
      setVerification(await api.get<AuditVerification>('/v1/audit/verify'));
      setVerifyError(undefined);
    } catch (err) {
      setVerifyError(err);
    } finally {
      setVerifying(false);
    }
  };

  return (
    <>
      <PageTitle
        extra={
          <>
            <Button
              icon={<SafetyCertificateOutlined />}
              onClick={() => void verify()}
              loading={verifying}
              data-testid="audit-verify"
            >
              {t('audit.verify')}
            </Button>
            <Button
              icon={<DownloadOutlined />}
              href={withQuery('/v1/audit/export', { after: undefined })}
              download="touchpoint-audit.jsonl"
              data-testid="audit-export"
            >
              {t('audit.export')}
            </Button>
          </>
        }
      >
        {t('audit.title')}
      </PageTitle>
      <Space direction="vertical" size="middle" style={{ width: '100%' }}>
        <ErrorAlert error={verifyError} />
        {verification ? (
          <Alert
            data-testid="audit-verification"
            type={verification.ok ? 'success' : 'error'}
            showIcon
            icon={verification.ok ? <CheckCircleOutlined /> : <CloseCircleOutlined />}
            title={
              verification.ok
                ? t('audit.verifiedOk', { count: verification.entries })
                : t('audit.verifiedBad', { count: verification.problems.length })
            }
            description={
              <Space direction="vertical" size={2}>
                {verification.head ? (
                  <Typography.Text>
                    {t('audit.head')}: <code>{`${verification.head.seq}:${verification.head.hash}`}</code>
                  </Typography.Text>
                ) : null}
                {verification.problems.slice(0, 20).map((p) => (
                  <Typography.Text key={`${p.seq}-${p.problem}`} type="danger">
                    #{p.seq}: {p.problem}
                  </Typography.Text>
                ))}
              </Space>
            }
          />
        ) : null}
        <Card size="small">
          <Form
            form={form}
            layout="inline"
            onFinish={(values) => setFilters(values)}
            data-testid="audit-filters"
            style={{ rowGap: 8 }}
          >
            {FILTER_FIELDS.map(({ name, placeholder, width, testId }) => (
              <Form.Item key={name} name={name} label={t(`audit.${name}`)}>
                <Input allowClear placeholder={placeholder} style={{ width }} data-testid={testId} />
              </Form.Item>
            ))}
            <Form.Item>
              <Space>
                <Button type="primary" htmlType="submit" data-testid="filter-apply">
                  {t('common.apply')}
                </Button>
                <Button
                  onClick={() => {
                    form.resetFields();
                    setFilters({});
                  }}
                >
                  {t('common.reset')}
                </Button>
              </Space>
            </Form.Item>
          </Form>
        </Card>
        <ErrorAlert error={error} />
        <Table<AuditEntry>
          size="small"
          rowKey="seq"
          data-testid="audit-entries"
          loading={loading && entries.length === 0}
          dataSource={entries}
          pagination={false}
          expandable={{
            expandedRowRender: (e) => (
              <Space direction="vertical" style={{ width: '100%' }}>
                <Typography.Text type="secondary">
                  {t('audit.hash')}: <code>{e.hash}</code> ← <code>{e.prevHash.slice(0, 16)}…</code>
                </Typography.Text>
                {e.from.userAgent ? (
                  <Typography.Text type="secondary">User-Agent: {e.from.userAgent}</Typography.Text>
                ) : null}
                <JsonBlock value={e.detail} />
              </Space>
            ),
          }}
          columns={[
            { title: '#', dataIndex: 'seq', width: 70 },
            { title: t('audit.at'), dataIndex: 'at', render: (v: string) => <Time value={v} /> },
            {
              title: t('audit.actor'),
              dataIndex: 'actor',
              render: (a: AuditEntry['actor']) => (
                <Space size={4} wrap>
                  <span>{a.name}</span>
                  <Tag>{t(`roles.${a.role}`, { defaultValue: a.role })}</Tag>
                  {a.onBehalfOf ? (
                    <Typography.Text type="secondary">
                      ({t('audit.onBehalfOf', { name: a.onBehalfOf })})
                    </Typography.Text>
                  ) : null}
                </Space>
              ),
            },
            {
              title: t('audit.action'),
              dataIndex: 'action',
              render: (a: string) => (
                <Tag color={a === 'personal-data.read' ? 'volcano' : 'geekblue'}>{a}</Tag>
              ),
            },
            { title: t('audit.target'), dataIndex: 'target', render: (v: string) => <code>{v}</code> },
            { title: t('audit.reason'), dataIndex: 'reason', render: (v?: string) => v ?? '—' },
            {
              title: t('audit.from'),
              dataIndex: 'from',
              render: (f: AuditEntry['from']) => (
                <Tooltip title={f.userAgent}>
                  <span>
                    {f.via}
                    {f.ip ? ` · ${f.ip}` : ''}
                  </span>
                </Tooltip>
              ),
            },
          ]}
        />
        <Space>
          <Typography.Text type="secondary" data-testid="audit-shown">
            {t('audit.shown', { count: entries.length })}
          </Typography.Text>
          {next !== null ? (
            <Button onClick={() => void load(next, false)} loading={loading} data-testid="audit-more">
              {t('common.loadMore')}
            </Button>
          ) : null}
        </Space>
      </Space>
    </>
  );
}
