/**
 * `work`'s result, or a rejection with the signal's reason as soon as it aborts (the work
 * finishes on its own and its result is dropped).
 */
export function abandonable<T>(signal: AbortSignal | undefined, work: Promise<T>): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const abandon = () => {
      work.catch(() => {}); // settled later, seen by nobody
      reject(signal.reason);
    };
    if (signal.aborted) return abandon();
    signal.addEventListener('abort', abandon, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abandon));
  });
}
