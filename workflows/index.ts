// Everything the Temporal worker bundles as workflow code.
export { journeyWorkflow } from './journey';
