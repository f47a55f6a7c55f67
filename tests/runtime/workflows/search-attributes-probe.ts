import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { customerIdKey, journeyIdKey, journeyVersionKey, stepKey } from '../../../runtime/search-attributes';

/**
 * Throwaway workflow for tests/runtime/test-server.test.ts: upserts TouchpointStep and reports
 * what the workflow sees of Touchpoint's attributes afterwards. It also proves that
 * runtime/search-attributes.ts bundles into workflow code.
 */
export async function upsertTouchpointStep(step: string): Promise<Record<string, unknown>> {
  upsertSearchAttributes([{ key: stepKey, value: step }]);
  const attributes = workflowInfo().typedSearchAttributes;
  return {
    journeyId: attributes.get(journeyIdKey),
    journeyVersion: attributes.get(journeyVersionKey),
    customerId: attributes.get(customerIdKey),
    step: attributes.get(stepKey),
  };
}
