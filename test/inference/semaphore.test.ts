import { Semaphore } from '../../src/inference/semaphore.js';

describe('Semaphore', () => {
  test('grants up to size, then FIFO as slots are released', async () => {
    const sem = new Semaphore(2);
    const order: string[] = [];
    const r1 = await sem.acquire();
    const r2 = await sem.acquire();
    const p3 = sem.acquire().then((r) => (order.push('3'), r));
    const p4 = sem.acquire().then((r) => (order.push('4'), r));
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(sem.waiting).toBe(2);
    r1();
    r1(); // idempotent: must not free a second slot
    const r3 = await p3;
    expect(order).toEqual(['3']);
    expect(sem.waiting).toBe(1);
    r2();
    const r4 = await p4;
    expect(order).toEqual(['3', '4']);
    r3();
    r4();
    const a = await sem.acquire();
    const b = await sem.acquire();
    expect(sem.waiting).toBe(0);
    a();
    b();
  });

  test('an aborted waiter leaves the queue and does not take a slot', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const controller = new AbortController();
    const waiting = sem.acquire(controller.signal);
    const next = sem.acquire();
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(sem.waiting).toBe(1);
    release();
    const r = await next;
    r();
    await expect(sem.acquire(AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });

  test('rejects a non-positive size', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
