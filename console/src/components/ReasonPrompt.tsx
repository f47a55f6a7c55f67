import { Input, Modal, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * Asks the operator why before an action that changes a run (the reason goes into the audit log).
 * OK stays disabled until a reason is written; `onConfirm` failing keeps the dialog open.
 */
export function ReasonPrompt({
  open,
  title,
  description,
  okText,
  danger = false,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  description?: string;
  okText: string;
  danger?: boolean;
  onConfirm: (reason: string) => Promise<void>;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);

  const confirm = async () => {
    setBusy(true);
    try {
      await onConfirm(reason.trim());
      setReason('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={title}
      okText={okText}
      cancelText={t('common.cancel')}
      okButtonProps={{ danger, disabled: reason.trim() === '', 'data-testid': 'reason-ok' }}
      confirmLoading={busy}
      onOk={() => void confirm().catch(() => undefined)}
      onCancel={onCancel}
      destroyOnHidden
    >
      {description ? <Typography.Paragraph>{description}</Typography.Paragraph> : null}
      <Input.TextArea
        autoFocus
        rows={3}
        value={reason}
        maxLength={500}
        placeholder={t('operator.reasonPlaceholder')}
        onChange={(e) => setReason(e.target.value)}
        data-testid="reason"
      />
    </Modal>
  );
}
