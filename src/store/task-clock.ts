/**
 * A clock in milliseconds that calls `read()` at most once per synchronous run
 * of code: the first call reads it and queues a microtask that forgets the
 * reading, so every later call before that microtask runs (the rest of the
 * task's synchronous code) gets the same time. Code that runs after it (later
 * microtasks, the next task) reads again.
 *
 * Samples are stamped with the time they arrive, and nothing arrives in the
 * middle of a synchronous run: the samples one run records all reached the
 * process before it started. So shared readings keep every window exact to
 * within the length of one run (reads yield every few ms) while recording a
 * sample no longer pays for a clock read of its own (about 40 ns here).
 * Readings never decrease when `read()`'s do not.
 */
export function taskClock(read: () => number): () => number {
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
