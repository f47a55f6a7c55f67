import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadApprovalsConfig } from '../../access/config';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-approvals-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const configFile = (text: string) => {
  const file = path.join(dir, 'touchpoint.yaml');
  fs.writeFileSync(file, text);
  return file;
};

test('default: publishing needs no approval', () => {
  expect(loadApprovalsConfig(undefined)).toEqual({ publish: 'none' });
  expect(loadApprovalsConfig(configFile('rules:\n  quietHours: false\n'))).toEqual({ publish: 'none' });
});

test('approvals.publish: required in the config file; TOUCHPOINT_PUBLISH_APPROVAL wins over it', () => {
  const file = configFile('approvals:\n  publish: required\n');
  expect(loadApprovalsConfig(file)).toEqual({ publish: 'required' });
  expect(loadApprovalsConfig(file, 'none')).toEqual({ publish: 'none' });
  expect(loadApprovalsConfig(undefined, ' required ')).toEqual({ publish: 'required' });
});

test('a bad value stops start-up with file:line:column; a bad env value too', () => {
  const file = configFile('approvals:\n  publish: maybe\n  pubilsh: required\n');
  let message = '';
  try {
    loadApprovalsConfig(file);
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toContain(`${file}:2:3: approvals.publish: must be \`required\` or \`none\``);
  expect(message).toContain(`${file}:3:3: approvals.pubilsh: unknown key (expected publish)`);
  expect(() => loadApprovalsConfig(undefined, 'yes')).toThrow(
    /TOUCHPOINT_PUBLISH_APPROVAL: must be `required` or `none`/,
  );
});

test('the shipped touchpoint.example.yaml has a valid approvals section', () => {
  const example = path.join(__dirname, '../../touchpoint.example.yaml');
  expect(loadApprovalsConfig(example)).toEqual({ publish: 'none' });
});
