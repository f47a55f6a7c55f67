import { App as AntApp, Button, ConfigProvider, Layout, Menu, Result, Spin, Tag } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import type { ReactElement } from 'react';
import { useTranslation } from 'react-i18next';
import { LanguageSwitch } from './components/LanguageSwitch';
import { AuditLogPage } from './pages/AuditLogPage';
import { CustomerSearch, CustomerTimelinePage } from './pages/CustomerTimelinePage';
import { JourneyListPage } from './pages/JourneyListPage';
import { JourneyPage } from './pages/JourneyPage';
import { RunPage } from './pages/RunPage';
import { SignInPage } from './pages/SignInPage';
import { match, navigate, Redirect, useLocation } from './router';
import { useSession } from './session';
import type { Permission } from './types';

function Forbidden() {
  const { t } = useTranslation();
  return <Result status="403" title="403" subTitle={t('errors.forbidden')} />;
}

/** The page for a path, or 403 when the signed-in role may not see it. */
function Page({ path, can }: { path: string; can: (p: Permission) => boolean }) {
  const { t } = useTranslation();
  const guard = (permission: Permission, page: ReactElement) => (can(permission) ? page : <Forbidden />);
  let params: Record<string, string> | null;
  if (path === '/') return <Redirect to="/journeys" />;
  if (path === '/journeys') return guard('journeys:read', <JourneyListPage />);
  if ((params = match('/journeys/:id', path)))
    return guard('journeys:read', <JourneyPage id={params.id!} tab="overview" />);
  if ((params = match('/journeys/:id/versions', path)))
    return guard('journeys:read', <JourneyPage id={params.id!} tab="versions" />);
  if ((params = match('/journeys/:id/runs', path)))
    return guard('runs:read', <JourneyPage id={params.id!} tab="runs" />);
  if ((params = match('/journeys/:id/runs/:customerId', path)))
    return guard('runs:read', <RunPage journeyId={params.id!} customerId={params.customerId!} />);
  if (path === '/customers') return guard('runs:read', <CustomerSearch />);
  if ((params = match('/customers/:id', path)))
    return guard('runs:read', <CustomerTimelinePage customerId={params.id!} />);
  if (path === '/audit') return guard('audit:read', <AuditLogPage />);
  return (
    <Result
      status="404"
      title="404"
      subTitle={t('errors.noPage')}
      extra={<Button onClick={() => navigate('/journeys')}>{t('nav.journeys')}</Button>}
    />
  );
}

function Shell() {
  const { t } = useTranslation();
  const { session, can, signOut } = useSession();
  const { path } = useLocation();
  const section = path.split('/')[1] ?? '';
  const items = [
    can('journeys:read') && { key: 'journeys', label: t('nav.journeys') },
    can('runs:read') && { key: 'customers', label: t('nav.customers') },
    can('audit:read') && { key: 'audit', label: t('nav.audit') },
  ].filter((item): item is { key: string; label: string } => Boolean(item));

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Header className="tp-header">
        <span className="tp-brand">Touchpoint</span>
        <Menu
          theme="dark"
          mode="horizontal"
          selectedKeys={[section]}
          items={items.map((item) => ({ ...item, 'data-testid': `nav-${item.key}` }))}
          onClick={({ key }) => navigate(`/${key}`)}
        />
        <div className="tp-header-right">
          <LanguageSwitch />
          <span data-testid="principal">
            {session?.name}{' '}
            <Tag color="blue">{t(`roles.${session?.role}`, { defaultValue: session?.role })}</Tag>
          </span>
          <Button size="small" onClick={() => void signOut()} data-testid="sign-out">
            {t('session.signOut')}
          </Button>
        </div>
      </Layout.Header>
      <Layout.Content className="tp-content">
        <Page path={path} can={can} />
      </Layout.Content>
    </Layout>
  );
}

export function App() {
  const { i18n } = useTranslation();
  const { session } = useSession();
  return (
    <ConfigProvider locale={i18n.language === 'zh-CN' ? zhCN : enUS}>
      <AntApp>
        {session === undefined ? <Spin fullscreen /> : session === null ? <SignInPage /> : <Shell />}
      </AntApp>
    </ConfigProvider>
  );
}
