import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startEngine, type EngineOptions } from './engine';
import { createTimeSkippingEnv } from './temporal';

export type Engine = Awaited<ReturnType<typeof startEngine>>;

/**
 * The setup of the journey suites: before the block's tests a time-skipping Temporal server and
 * the engine on it, after them both stopped. `env` and `engine` are set once the tests run.
 */
export function useTimeSkippingEngine(options: Omit<EngineOptions, 'client' | 'nativeConnection'> = {}): {
  env: TestWorkflowEnvironment;
  engine: Engine;
} {
  const setup = {} as { env: TestWorkflowEnvironment; engine: Engine };
  beforeAll(async () => {
    setup.env = await createTimeSkippingEnv();
    setup.engine = await startEngine({
      client: setup.env.client,
      nativeConnection: setup.env.nativeConnection,
      ...options,
    });
  });
  afterAll(async () => {
    await setup.engine?.stop();
    await setup.env?.teardown();
  });
  return setup;
}

/** The time-skipping server alone, for suites that start an engine per test. */
export function useTimeSkippingEnv(): { env: TestWorkflowEnvironment } {
  const setup = {} as { env: TestWorkflowEnvironment };
  beforeAll(async () => {
    setup.env = await createTimeSkippingEnv();
  });
  afterAll(async () => {
    await setup.env?.teardown();
  });
  return setup;
}
