import { Select } from 'antd';
import { useTranslation } from 'react-i18next';
import { chooseLanguage, isLanguage, type Language } from '../i18n';

/** zh-CN / en, in the header and on the sign-in card; the choice is remembered. */
export function LanguageSwitch() {
  const { i18n } = useTranslation();
  const value: Language = isLanguage(i18n.language) ? i18n.language : 'en';
  return (
    <Select<Language>
      size="small"
      value={value}
      onChange={chooseLanguage}
      style={{ width: 110 }}
      data-testid="language"
      aria-label="language"
      options={[
        { value: 'zh-CN', label: '简体中文' },
        { value: 'en', label: 'English' },
      ]}
    />
  );
}
