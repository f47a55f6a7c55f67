import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { useSession } from '../session';

/** Sign in with an API key: the key goes to POST /v1/session once and is not kept in the page. */
export function SignInPage() {
  const { t } = useTranslation();
  const { signIn } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [form] = Form.useForm<{ key: string }>();

  const submit = async ({ key }: { key: string }) => {
    setBusy(true);
    setError(undefined);
    try {
      await signIn(key.trim());
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 400))
        setError(t('signIn.invalid'));
      else setError(err instanceof Error ? err.message : String(err));
      form.setFieldValue('key', '');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="tp-signin">
      <Card style={{ width: 420 }} data-testid="sign-in">
        <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center' }}>
          <Typography.Title level={3} style={{ margin: 0 }}>
            Touchpoint
          </Typography.Title>
          <LanguageSwitch />
        </div>
        <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>
          {t('signIn.intro')}
        </Typography.Paragraph>
        {error ? (
          <Alert
            type="error"
            showIcon
            title={error}
            style={{ marginBottom: 16 }}
            data-testid="sign-in-error"
          />
        ) : null}
        <Form form={form} layout="vertical" onFinish={(values) => void submit(values)} requiredMark={false}>
          <Form.Item
            name="key"
            label={t('signIn.key')}
            rules={[{ required: true, whitespace: true, message: t('signIn.keyRequired') }]}
          >
            <Input.Password autoFocus autoComplete="off" placeholder="tp_…" data-testid="api-key" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={busy} data-testid="sign-in-submit">
            {t('signIn.submit')}
          </Button>
        </Form>
      </Card>
    </div>
  );
}
