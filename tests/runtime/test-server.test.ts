import { TypedSearchAttributes } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { customerIdKey, journeyIdKey, journeyVersionKey } from '../../runtime/search-attributes';
import { createDevServerEnv, createTimeSkippingEnv } from '../support/temporal';
import type { upsertTouchpointStep } from './workflows/search-attributes-probe';

/*
 * Do Touchpoint's custom search attributes work on both test servers? The time-skipping server
 * rejects them until they are registered through OperatorService.AddSearchAttributes, which
 * createTimeSkippingEnv() does; the dev server gets them as --search-attribute flags.
 */

const startAttributes = new TypedSearchAttributes([
  { key: journeyIdKey, value: 'welcome' },
  { key: journeyVersionKey, value: 3 },
  { key: customerIdKey, value: 'user-1' },
]);

/** Starts the probe workflow with three attributes; it upserts the fourth (TouchpointStep). */
async function runProbe(env: TestWorkflowEnvironment) {
  const taskQueue = `probe-${process.hrtime.bigint()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('./workflows/search-attributes-probe'),
  });
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start<typeof upsertTouchpointStep>('upsertTouchpointStep', {
      taskQueue,
      workflowId: taskQueue,
      args: ['welcome-email'],
      typedSearchAttributes: startAttributes,
    });
    const seenByWorkflow = await handle.result();
    const { typedSearchAttributes } = await handle.describe();
    const describe = Object.fromEntries(
      typedSearchAttributes
        .getAll()
        .filter((pair) => pair.key.name.startsWith('Touchpoint'))
        .map((pair) => [pair.key.name, pair.value]),
    );
    return { seenByWorkflow, describe };
  });
}

const expected = {
  seenByWorkflow: { journeyId: 'welcome', journeyVersion: 3, customerId: 'user-1', step: 'welcome-email' },
  describe: {
    TouchpointJourneyId: 'welcome',
    TouchpointJourneyVersion: 3,
    TouchpointCustomerId: 'user-1',
    TouchpointStep: 'welcome-email',
  },
};

test('the bare time-skipping server rejects unregistered custom search attributes', async () => {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: process.env.TEMPORAL_TEST_SERVER! } },
  });
  try {
    const start = env.client.workflow.start('neverRuns', {
      taskQueue: 'nobody',
      workflowId: 'unregistered-attributes',
      typedSearchAttributes: startAttributes,
    });
    await expect(start).rejects.toMatchObject({
      cause: expect.objectContaining({
        message: expect.stringMatching(/search attribute \w+ is not defined/),
      }),
    });
  } finally {
    await env.teardown();
  }
});

test('createTimeSkippingEnv: start with, upsert and describe Touchpoint attributes', async () => {
  const env = await createTimeSkippingEnv();
  try {
    expect(await runProbe(env)).toEqual(expected);
  } finally {
    await env.teardown();
  }
});

test('createDevServerEnv: start with, upsert and describe Touchpoint attributes', async () => {
  const env = await createDevServerEnv();
  try {
    expect(await runProbe(env)).toEqual(expected);
  } finally {
    await env.teardown();
  }
});
