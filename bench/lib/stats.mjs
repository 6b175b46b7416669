export function median(xs) {
  const a = xs.filter((x) => Number.isFinite(x)).sort((x, y) => x - y)
  if (a.length === 0) return NaN
  const m = a.length >> 1
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2
}

export function mean(xs) {
  return xs.length === 0 ? NaN : xs.reduce((s, x) => s + x, 0) / xs.length
}

/** Nearest-rank percentile, q in (0, 1]. */
export function percentile(xs, q) {
  const a = [...xs].sort((x, y) => x - y)
  if (a.length === 0) return NaN
  return a[Math.max(0, Math.ceil(q * a.length) - 1)]
}

/** Least-squares line through (x, y): slope and intercept. */
export function linearFit(xs, ys) {
  const n = xs.length
  if (n < 2) return { slope: NaN, intercept: NaN }
  const mx = mean(xs)
  const my = mean(ys)
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my)
    sxx += (xs[i] - mx) ** 2
  }
  const slope = sxx === 0 ? NaN : sxy / sxx
  return { slope, intercept: my - slope * mx }
}
