import type Redis from 'ioredis';
import { redisShutdownStep } from './shutdown';

/** Just what the step touches of an ioredis client. */
function client(status: string, quit: () => Promise<unknown>) {
  const calls: string[] = [];
  const redis = {
    status,
    quit: async () => {
      calls.push('quit');
      return quit();
    },
    disconnect: () => void calls.push('disconnect'),
  } as unknown as Redis;
  return { redis, calls };
}

describe('redisShutdownStep', () => {
  it('quits a live connection', async () => {
    const { redis, calls } = client('ready', async () => 'OK');
    await redisShutdownStep(redis).run();
    expect(calls).toEqual(['quit']);
  });

  it('counts a connection Redis already closed (Ctrl-C stopped a local Redis first) as closed', async () => {
    const { redis, calls } = client('close', async () => {
      throw new Error('Connection is closed.');
    });
    await expect(redisShutdownStep(redis).run()).resolves.toBeUndefined();
    expect(calls).toEqual(['quit', 'disconnect']);
    const ended = client('end', async () => 'OK');
    await redisShutdownStep(ended.redis).run();
    expect(ended.calls).toEqual([]);
  });

  it('still fails on anything else', async () => {
    const { redis } = client('ready', async () => {
      throw new Error('NOAUTH Authentication required.');
    });
    await expect(redisShutdownStep(redis).run()).rejects.toThrow('NOAUTH');
  });
});
