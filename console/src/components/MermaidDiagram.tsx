import { Alert, Spin } from 'antd';
import { useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';

/*
 * A Mermaid flowchart (the server's language/graph.ts output). Mermaid is large, so it is
 * imported on first use: the bundler puts it in chunks of its own that only the journey page
 * loads. Labels come from journey files, so Mermaid runs with securityLevel 'strict' (no HTML
 * labels, no click handlers, output sanitised).
 */

type Mermaid = (typeof import('mermaid'))['default'];
let loading: Promise<Mermaid> | undefined;

function loadMermaid(): Promise<Mermaid> {
  loading ??= import('mermaid').then(({ default: mermaid }) => {
    mermaid.initialize({
      startOnLoad: false,
      securityLevel: 'strict',
      theme: 'default',
      // Step labels hold a condition or a template name: wider boxes, fewer lines.
      flowchart: { useMaxWidth: true, wrappingWidth: 320 },
    });
    return mermaid;
  });
  return loading;
}

export function MermaidDiagram({ source }: { source: string }) {
  const { t } = useTranslation();
  const id = `mermaid-${useId().replace(/[^a-zA-Z0-9]/g, '')}`;
  const [svg, setSvg] = useState<string>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    let current = true;
    loadMermaid()
      .then((mermaid) => mermaid.render(id, source))
      .then(
        ({ svg }) => {
          if (!current) return;
          setSvg(svg);
          setError(undefined);
        },
        (err: unknown) => current && setError(err instanceof Error ? err.message : String(err)),
      );
    return () => {
      current = false;
    };
  }, [id, source]);

  if (error) return <Alert type="error" showIcon title={t('journey.diagramFailed')} description={error} />;
  if (!svg) return <Spin />;
  // Mermaid's own output, sanitised by it (securityLevel 'strict').
  return <div className="tp-diagram" data-testid="diagram" dangerouslySetInnerHTML={{ __html: svg }} />;
}
