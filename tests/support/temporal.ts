import { TestWorkflowEnvironment } from '@temporalio/testing';
import { searchAttributeKeys } from '../../runtime/search-attributes';
import { startTimeSkippingServer } from '../../runtime/time-skipping-server';

/*
 * Temporal servers for tests, always from the binaries global-setup resolved (never an SDK
 * download). Both come with Touchpoint's search attributes registered. Call env.teardown() in
 * afterAll.
 */

function binaryFromEnv(name: 'TEMPORAL_CLI' | 'TEMPORAL_TEST_SERVER'): string {
  const file = process.env[name];
  if (!file)
    throw new Error(
      `${name} is not set: tests/support/global-setup.ts did not run (run the suite with Jest)`,
    );
  return file;
}

/**
 * The Java time-skipping test server: timers fire as soon as the workflow is blocked on them.
 * Search attributes are registered by runtime/time-skipping-server.ts (shared with the simulator).
 */
export function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return startTimeSkippingServer(binaryFromEnv('TEMPORAL_TEST_SERVER'));
}

/** A real (in-memory) dev server with Touchpoint's search attributes registered; real time. */
export function createDevServerEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: binaryFromEnv('TEMPORAL_CLI') },
      ip: '127.0.0.1',
      log: { format: 'pretty', level: 'error' },
      searchAttributes: searchAttributeKeys,
    },
  });
}
