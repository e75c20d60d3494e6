/**
 * Freezes a value and everything in it, in place. Read-model values are frozen once, where they are made, so the
 * memory cache can keep them as they are (no second copy) and no reader can change them for the next.
 */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
