import { bundleWorkflowCode } from '@temporalio/worker';
import path from 'node:path';

let bundle: Promise<{ code: string }> | undefined;

/** Bundles the workflow code once per Jest worker: bundling takes seconds, workers reuse it. */
export function workflowBundle(): Promise<{ code: string }> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '../../workflows'),
    logger: quietLogger,
  });
  return bundle;
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };
