// Deterministic test data: ids, latency values and request bodies.

/** mulberry32: a small seeded PRNG, so every run sends the same values. */
export function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Integer latencies, log-uniform from 10 µs to 1 s (in ns), so every histogram decade is used. */
export function latencies(count, seed = 1) {
  const r = rng(seed)
  const out = new Array(count)
  for (let i = 0; i < count; i++) out[i] = Math.round(10 ** (4 + 5 * r()))
  return out
}

export function makeIds(prefix, count) {
  const width = String(count - 1).length
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(width, '0')}`)
}

/** `count` distinct JSON bodies of `size` values each: {"latency_ns":[...]}. */
export function batchBodies(count, size, seed = 7) {
  return Array.from({ length: count }, (_, i) => JSON.stringify({ latency_ns: latencies(size, seed + i) }))
}
