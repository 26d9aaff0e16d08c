import { ShutdownError } from '../answer/answer-stream.ts';

/**
 * Tracks open answers (streamed, buffered, or still uploading their request) so a shutdown can
 * drain them: new asks are refused, open ones get `graceMs` to finish, and the rest are ended
 * (a stream with an `error` event `shutting_down`, a buffered answer with a 503).
 *
 * @example
 * const lifecycle = createLifecycle();
 * process.on('SIGTERM', async () => { await lifecycle.drain(10_000); await store.close(); });
 */
export interface Lifecycle {
  readonly draining: boolean;
  readonly openStreams: number;
  /** Registers an answer's controller; call the returned function when the answer ends. */
  register(controller: AbortController): () => void;
  /** Resolves when every stream has ended (on its own, or aborted after `graceMs`). */
  drain(graceMs: number): Promise<{ finished: number; ended: number }>;
}

export function createLifecycle(): Lifecycle {
  const open = new Set<AbortController>();
  let draining = false;
  let changed: (() => void) | undefined;
  const waitForChange = (milliseconds: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, milliseconds);
      changed = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  return {
    get draining() {
      return draining;
    },
    get openStreams() {
      return open.size;
    },
    register(controller) {
      open.add(controller);
      return () => {
        open.delete(controller);
        changed?.();
      };
    },
    async drain(graceMs) {
      draining = true;
      const initially = open.size;
      const deadline = Date.now() + graceMs;
      while (open.size > 0 && Date.now() < deadline) await waitForChange(deadline - Date.now());
      const ended = open.size;
      for (const controller of open) controller.abort(new ShutdownError('shutting down'));
      // Aborted streams send their error event and close; give them a moment to do so.
      const hardDeadline = Date.now() + 2_000;
      while (open.size > 0 && Date.now() < hardDeadline) {
        await waitForChange(hardDeadline - Date.now());
      }
      return { finished: initially - ended, ended };
    },
  };
}
