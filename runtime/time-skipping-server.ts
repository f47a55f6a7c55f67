import { TestWorkflowEnvironment } from '@temporalio/testing';
import { searchAttributeIndexTypes } from './temporal-dev-server';

/**
 * Starts the Java time-skipping test server from `executable` (found by temporal-binaries.ts;
 * never an SDK download) with Touchpoint's search attributes registered. The server rejects
 * unregistered custom search attributes ("search attribute X is not defined") and has no CLI flag
 * for them, but it implements OperatorService.AddSearchAttributes (not List), so we register them
 * that way. Used by the simulator and the test suites; call env.teardown() when done.
 */
export async function startTimeSkippingServer(executable: string): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: executable } },
  });
  try {
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: searchAttributeIndexTypes(),
    });
  } catch (err) {
    await env.teardown();
    throw err;
  }
  return env;
}
