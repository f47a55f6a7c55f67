import { Card, Empty, Select, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { ErrorAlert, Time } from '../components/common';
import type { StepChanges, VersionDiff, VersionsAnswer } from '../types';
import { useApi, type Loaded } from '../use-api';

/** Step-level changes as tags: +added, −removed, ~changed, and entry / exit / settings. */
export function ChangeTags({ changes }: { changes: StepChanges }) {
  const { t } = useTranslation();
  const tags = [
    ...changes.added.map((s) => (
      <Tag color="green" key={`a-${s}`}>
        + {s}
      </Tag>
    )),
    ...changes.removed.map((s) => (
      <Tag color="red" key={`r-${s}`}>
        − {s}
      </Tag>
    )),
    ...changes.changed.map((s) => (
      <Tag color="gold" key={`c-${s}`}>
        ~ {s}
      </Tag>
    )),
    changes.entryChanged ? <Tag key="entry">{t('versions.entryChanged')}</Tag> : null,
    changes.exitChanged ? <Tag key="exit">{t('versions.exitChanged')}</Tag> : null,
    ...changes.settingsChanged.map((s) => (
      <Tag key={`s-${s}`}>{t('versions.settingChanged', { name: s })}</Tag>
    )),
  ].filter(Boolean);
  return tags.length ? (
    <Space size={[0, 4]} wrap>
      {tags}
    </Space>
  ) : (
    <Typography.Text type="secondary">—</Typography.Text>
  );
}

/** A unified diff, line by line, coloured. */
export function UnifiedDiff({ text }: { text: string }) {
  const lines = text.split('\n');
  return (
    <pre className="tp-diff" data-testid="diff">
      {lines.map((line, i) => {
        const kind =
          line.startsWith('+++') ||
          line.startsWith('---') ||
          line.startsWith('===') ||
          line.startsWith('Index:')
            ? 'meta'
            : line.startsWith('@@')
              ? 'hunk'
              : line.startsWith('+')
                ? 'add'
                : line.startsWith('-')
                  ? 'del'
                  : '';
        return (
          <div key={i} className={kind}>
            {line || ' '}
          </div>
        );
      })}
    </pre>
  );
}

/** The published versions (who, when, what changed) and a diff between any two. */
export function JourneyVersions({ id, versions }: { id: string; versions: Loaded<VersionsAnswer> }) {
  const { t } = useTranslation();
  const list = versions.data?.versions ?? [];
  const latest = list.at(-1)?.version;
  const [pair, setPair] = useState<{ from?: number; to?: number }>({});
  const to = pair.to ?? latest;
  const from = pair.from ?? (to !== undefined && to > 1 ? to - 1 : undefined);
  const diff = useApi(
    from !== undefined && to !== undefined && from !== to ? `diff:${id}:${from}:${to}` : null,
    () => api.get<VersionDiff>(`/v1/journeys/${encodeURIComponent(id)}/diff`, { from, to }),
  );
  const options = list.map((v) => ({ value: v.version, label: `v${v.version}` }));

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <ErrorAlert error={versions.error} />
      <Table
        size="small"
        rowKey="version"
        data-testid="versions"
        loading={versions.loading && !versions.data}
        dataSource={[...list].reverse()}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        columns={[
          { title: t('versions.version'), dataIndex: 'version', render: (v: number) => `v${v}`, width: 90 },
          {
            title: t('versions.publishedAt'),
            dataIndex: 'publishedAt',
            render: (v: string) => <Time value={v} />,
          },
          { title: t('versions.publishedBy'), dataIndex: 'publishedBy' },
          { title: t('versions.note'), dataIndex: 'note', render: (v: string | null) => v ?? '—' },
          {
            title: t('versions.changes'),
            dataIndex: 'changes',
            render: (changes: StepChanges) => <ChangeTags changes={changes} />,
          },
        ]}
      />
      <Card
        size="small"
        title={t('versions.diff')}
        extra={
          list.length > 1 ? (
            <Space>
              <Select<number>
                size="small"
                value={from}
                options={options}
                onChange={(v) => setPair({ from: v, to })}
                style={{ width: 90 }}
                data-testid="diff-from"
              />
              →
              <Select<number>
                size="small"
                value={to}
                options={options}
                onChange={(v) => setPair({ from, to: v })}
                style={{ width: 90 }}
                data-testid="diff-to"
              />
            </Space>
          ) : null
        }
      >
        {list.length < 2 ? (
          <Empty description={t('versions.onlyOne')} />
        ) : from === to ? (
          <Empty description={t('versions.sameVersion')} />
        ) : (
          <Space direction="vertical" style={{ width: '100%' }}>
            <ErrorAlert error={diff.error} />
            {diff.data ? (
              <>
                <ChangeTags changes={diff.data.changes} />
                <UnifiedDiff text={diff.data.unified} />
              </>
            ) : null}
          </Space>
        )}
      </Card>
    </Space>
  );
}
