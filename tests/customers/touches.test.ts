import { RedisKeys } from '../../customers/keys';
import { TouchLog } from '../../customers/touches';
import { testRedis, uniquePrefix } from '../support/redis';

describe('TouchLog.recordOutcome', () => {
  const redis = testRedis();
  afterAll(() => redis.quit());

  test('a bare touch hash (a status only, no recorded touch) is no touch, not an error', async () => {
    const keys = new RedisKeys(uniquePrefix('touch'));
    const touches = new TouchLog(redis, keys);
    // What a delivery marker leaves when the message had no touch record (e.g. a hand-made job).
    await redis.hset(keys.touch('k1'), 'status', 'sent', 'sentAt', new Date().toISOString());
    const outcome = touches.recordOutcome(
      'k1',
      { journeyId: 'j', journeyVersion: 1 },
      'delivered',
      new Date().toISOString(),
    );
    await expect(outcome).resolves.toBe('no-touch');
    expect(await redis.hget(keys.touch('k1'), 'status')).toBe('sent');
  });
});
