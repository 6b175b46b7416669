/**
 * A monotonic clock in milliseconds that reads `read()` (performance.now() by
 * default, about 40 ns here) at most once per event-loop task: the first call in
 * a task reads it and queues a microtask that forgets the reading, so every later
 * call in the same task, and in its microtasks, gets the same time.
 *
 * Samples are stamped with the time they arrive, and nothing arrives in the
 * middle of a task: the samples a task records all reached the process before it
 * started. So per-task readings keep every window exact to within the length of
 * one task (reads yield every few ms) while recording a sample no longer pays
 * for a clock read of its own. Readings never decrease, as `read()`'s do not.
 */
export function taskClock(read: () => number = () => performance.now()): () => number {
  let reading = 0
  let fresh = false
  const forget = () => {
    fresh = false
  }
  return () => {
    if (!fresh) {
      reading = read()
      fresh = true
      queueMicrotask(forget)
    }
    return reading
  }
}
