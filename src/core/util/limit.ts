/**
 * Runs at most `concurrency` tasks at once. A task still waiting when its signal aborts leaves
 * the queue at once with the abort reason.
 */
export function createLimiter(concurrency: number) {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  let active = 0;
  const queue: { start: () => void; cancel: (e: unknown) => void; signal?: AbortSignal; onAbort?: () => void }[] = [];

  const next = () => {
    while (active < concurrency && queue.length) {
      const item = queue.shift()!;
      if (item.signal && item.onAbort) item.signal.removeEventListener('abort', item.onAbort);
      item.start();
    }
  };

  return function run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const start = () => {
        active++;
        let p: Promise<T>;
        try {
          p = task();
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(resolve, reject).finally(() => {
          active--;
          next();
        });
      };
      const item: (typeof queue)[number] = { start, cancel: reject, signal };
      if (signal) {
        item.onAbort = () => {
          const i = queue.indexOf(item);
          if (i >= 0) {
            queue.splice(i, 1);
            reject(signal.reason);
          }
        };
        signal.addEventListener('abort', item.onAbort, { once: true });
      }
      queue.push(item);
      next();
    });
  };
}
