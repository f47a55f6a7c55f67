import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/*
 * Touchpoint's custom search attributes. Workflow code imports this file too, so it may import
 * only from @temporalio/common (no Node APIs).
 */

/** Which journey a workflow runs (the journey's id in its YAML). */
export const journeyIdKey = defineSearchAttributeKey('TouchpointJourneyId', SearchAttributeType.KEYWORD);

/** The journey version the workflow pinned when it started. */
export const journeyVersionKey = defineSearchAttributeKey(
  'TouchpointJourneyVersion',
  SearchAttributeType.INT,
);

/** The customer (userId) the workflow runs for. */
export const customerIdKey = defineSearchAttributeKey('TouchpointCustomerId', SearchAttributeType.KEYWORD);

/** The step the workflow is at now, upserted as the journey moves on. */
export const stepKey = defineSearchAttributeKey('TouchpointStep', SearchAttributeType.KEYWORD);

/** Every key above, e.g. for TestWorkflowEnvironment.createLocal({ server: { searchAttributes } }). */
export const searchAttributeKeys = [journeyIdKey, journeyVersionKey, customerIdKey, stepKey];

/** How `temporal server start-dev --search-attribute NAME=TYPE` spells the types we use. */
const cliSpelling = { KEYWORD: 'Keyword', INT: 'Int' } as const;

/** The same attributes in the CLI's spelling, e.g. `{ name: 'TouchpointJourneyVersion', type: 'Int' }`. */
export const cliSearchAttributes = searchAttributeKeys.map((key) => ({
  name: key.name,
  type: cliSpelling[key.type],
}));
