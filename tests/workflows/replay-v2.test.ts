import { temporal } from '@temporalio/proto';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { workflowBundle } from '../support/workflow-bundle';

/*
 * Runs using the step types and run features added after v1 (split, tag/untag, setTrait,
 * webhook, notify, goto, wait `until`, holdback, conversion window, stop and migrate signals)
 * must go on under later workflow code. Their histories were recorded with the code of the
 * time (fixtures/v2-histories/README.md); replaying them fails with a nondeterminism error as
 * soon as the interpreter issues a different command, or the same commands in another order.
 */

const dir = path.join(__dirname, 'fixtures/v2-histories');
const recorded = readdirSync(dir).filter((f) => f.endsWith('.json'));

function load(file: string) {
  const { workflowId, history } = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
    workflowId: string;
    history: string;
  };
  return { workflowId, history: temporal.api.history.v1.History.decode(Buffer.from(history, 'base64')) };
}

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const bundle = (folder: string) =>
  bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'fixtures', folder), logger: quiet });

describe('v2 runs replay on the current workflow code', () => {
  test('the fixtures cover every step type and run feature added since v1', () => {
    expect(recorded.sort()).toEqual([
      'every-step-control.json',
      'every-step-treatment.json',
      'migrated.json',
      'wait-until-stopped.json',
      'window-goal-late.json',
    ]);
  });

  test.each(recorded)('%s replays without a nondeterminism error', async (file) => {
    const { workflowId, history } = load(file);
    expect(history.events!.length).toBeGreaterThan(10);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId);
  });

  test('the check has teeth: code issuing one more command fails to replay every v2 history', async () => {
    const diverging = await bundle('diverging');
    for (const file of recorded) {
      const { workflowId, history } = load(file);
      await expect(
        Worker.runReplayHistory({ workflowBundle: diverging }, history, workflowId),
      ).rejects.toBeInstanceOf(DeterminismViolationError);
    }
  });

  test('the check has teeth: code ignoring the holdback fails on the control run only', async () => {
    const noHoldback = await bundle('diverging-holdback');
    const control = load('every-step-control.json');
    await expect(
      Worker.runReplayHistory({ workflowBundle: noHoldback }, control.history, control.workflowId),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
    // A run without a holdback issues the same commands either way.
    const plain = load('wait-until-stopped.json');
    await Worker.runReplayHistory({ workflowBundle: noHoldback }, plain.history, plain.workflowId);
  });
});
