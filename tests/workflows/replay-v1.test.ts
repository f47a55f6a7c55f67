import { temporal } from '@temporalio/proto';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { workflowBundle } from '../support/workflow-bundle';

/*
 * Runs started by the v1 engine must go on under today's workflow code. Their histories were
 * recorded with the v1 code (fixtures/v1-histories/README.md); replaying them here fails with a
 * nondeterminism error as soon as the new interpreter issues a different command, or the same
 * commands in another order, for a journey without the newer fields.
 */

const dir = path.join(__dirname, 'fixtures/v1-histories');
const recorded = readdirSync(dir).filter((f) => f.endsWith('.json'));

function load(file: string) {
  const { workflowId, history } = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
    workflowId: string;
    history: string;
  };
  return { workflowId, history: temporal.api.history.v1.History.decode(Buffer.from(history, 'base64')) };
}

describe('v1 runs replay on the current workflow code', () => {
  test('the fixtures cover both shipped journeys and every v1 step type', () => {
    expect(recorded).toEqual(
      expect.arrayContaining([
        'browse-intent-completed.json',
        'browse-intent-converted.json',
        'browse-intent-waiting.json',
        'dormant-reactivation-completed.json',
        'dormant-reactivation-converted.json',
        'every-step-event.json',
        'every-step-timeout.json',
      ]),
    );
  });

  test.each(recorded)('%s replays without a nondeterminism error', async (file) => {
    const { workflowId, history } = load(file);
    expect(history.events!.length).toBeGreaterThan(10);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId);
  });

  test('the check has teeth: code issuing one more command fails to replay', async () => {
    const diverging = await bundleWorkflowCode({
      workflowsPath: path.join(__dirname, 'fixtures/diverging'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
    const { workflowId, history } = load('browse-intent-completed.json');
    await expect(
      Worker.runReplayHistory({ workflowBundle: diverging }, history, workflowId),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
