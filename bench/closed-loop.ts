/**
 * `count` tasks with at most `concurrency` in flight, as a closed loop: each slot starts its next task as its last one
 * finishes. `task` gets the task's index (0-based, in start order).
 */
export async function closedLoop(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const slot = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, slot));
}
