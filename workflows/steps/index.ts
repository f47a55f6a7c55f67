import type { Step } from '../../language/types';
import type { Run } from '../run';
import type { StepCall } from './call';
import { branch, goto, split } from './flow';
import { alert, coupon, send, webhook } from './messages';
import { setTrait, tag } from './profile';
import { wait, waitFor } from './waits';

export type { StepCall } from './call';

/** Runs one step and returns the id of the next one (undefined: the journey's steps end here). */
export async function runStep(run: Run, step: Step, call: StepCall): Promise<string | undefined> {
  switch (step.type) {
    case 'send':
      return send(run, step, call);
    case 'issueCoupon':
      return coupon(run, step, call);
    case 'notify':
      return alert(run, step, call);
    case 'webhook':
      return webhook(run, step, call);
    case 'wait':
      return wait(run, step, call);
    case 'waitFor':
      return waitFor(run, step, call);
    case 'branch':
      return branch(run, step, call);
    case 'split':
      return split(run, step, call);
    case 'goto':
      return goto(run, step, call);
    case 'tag':
    case 'untag':
      return tag(run, step, call);
    case 'setTrait':
      return setTrait(run, step, call);
    case 'exit':
      call.entry.outcome = 'exit';
      return undefined;
  }
}
