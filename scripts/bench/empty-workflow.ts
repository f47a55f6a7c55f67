import { defineSignal, setHandler } from '@temporalio/workflow';

/*
 * The raw Temporal baseline of the journey-entry phase: a workflow that does nothing, started the
 * way the router starts journeys (signalWithStart with an `event` signal), on its own task queue.
 */

export const benchSignal = defineSignal<[unknown]>('event');

export async function benchEmptyWorkflow(): Promise<void> {
  setHandler(benchSignal, () => {});
}
