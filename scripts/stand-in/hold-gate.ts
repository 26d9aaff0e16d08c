/**
 * A gate that keeps chat replies from sending their first content token while a test holds
 * it, so the test can observe what reached the client before the model "spoke" without
 * relying on timing.
 */

/** A hold on the first content token of every chat reply; see `OpenAIStandIn.holdTokens`. */
export interface TokenHold {
  /** Lets waiting replies continue. Releasing twice is harmless. */
  release(): void;
}

export interface HoldGate {
  /** True while at least one hold is unreleased. */
  readonly held: boolean;
  hold(): TokenHold;
  /** Calls `callback` once every hold is released. */
  whenReleased(callback: () => void): void;
  /** Drops a callback registered with `whenReleased` (its reply went away). */
  forget(callback: () => void): void;
}

/**
 * Creates a gate; several holds may overlap and the gate opens when the last is released.
 *
 * @example
 * const gate = createHoldGate();
 * const hold = gate.hold();
 * gate.whenReleased(() => console.log('go'));
 * hold.release(); // logs "go"
 */
export function createHoldGate(): HoldGate {
  let holds = 0;
  const waiting = new Set<() => void>();
  return {
    get held() {
      return holds > 0;
    },
    hold() {
      holds += 1;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          holds -= 1;
          if (holds > 0) return;
          const callbacks = [...waiting];
          waiting.clear();
          for (const callback of callbacks) callback();
        },
      };
    },
    whenReleased(callback) {
      if (holds === 0) callback();
      else waiting.add(callback);
    },
    forget(callback) {
      waiting.delete(callback);
    },
  };
}
