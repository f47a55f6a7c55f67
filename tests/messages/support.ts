import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildRenderContext, type RenderContextInput } from '../../messages/context';
import { TemplateLoadError } from '../../messages/errors';
import { loadTemplates } from '../../messages/templates';

/** A templates directory of its own for each test, written file by file. */
export function templateDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchpoint-templates-'));
  return {
    dir,
    write(relative: string, text: string): string {
      const file = path.join(dir, relative);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
      return file;
    },
    /** The TemplateLoadError loading this directory throws. */
    loadErrors(): TemplateLoadError {
      try {
        loadTemplates(dir);
      } catch (err) {
        expect(err).toBeInstanceOf(TemplateLoadError);
        return err as TemplateLoadError;
      }
      throw new Error('expected loadTemplates to fail');
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type TemplateDir = ReturnType<typeof templateDir>;

/** A render context for a journey customer, with traits and event properties as given. */
export function contextFor(
  traits: Record<string, unknown> = {},
  properties: Record<string, unknown> = {},
  extra: Partial<RenderContextInput> = {},
) {
  return buildRenderContext({
    customerId: 'c-1',
    traits,
    event: { event: 'segment_entered', properties },
    journey: { id: 'dormant-reactivation', name: 'Dormant reactivation', version: 1 },
    ...extra,
  });
}
