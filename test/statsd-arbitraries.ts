import fc from 'fast-check'

/** fast-check generators of StatsD text, shared by the parser and door tests. */

/** Unsigned decimals as clients write them, and near misses. */
export const decimalText = fc.oneof(
  fc
    .tuple(
      fc.stringMatching(/^\d{0,20}$/),
      fc.option(fc.stringMatching(/^\d{0,20}$/), { nil: undefined }),
      fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 30 })), { nil: undefined }),
    )
    .map(([int, frac, exp]) => `${int}${frac === undefined ? '' : `.${frac}`}${exp === undefined ? '' : `${exp[0]}${exp[1]}${exp[2]}`}`),
  fc.double({ min: 0, max: 1e13, noNaN: true }).map(String),
  fc.constantFrom(
    '',
    '0',
    '-1',
    '+1',
    'abc',
    '1e',
    '.',
    'NaN',
    'Infinity',
    '1e400',
    '9007199254.740991',
    '9007199254.7409915',
    '0.0000005',
    '0.00000049',
    '1_000',
    ' 1',
  ),
)

export const nameText = fc
  .tuple(
    fc.string({ unit: fc.constantFrom('a', 'Z', '0', '_', '.', '-', ' ', '\t', '/', 'é', '!', '|', '@', '#', ',', '\u00a0'), maxLength: 12 }),
    fc.constantFrom('', '', '.completed', '.started', '.failed', '.created', '.retried', '.done'),
  )
  .map(([name, suffix]) => name + suffix)

const tagsText = fc
  .array(
    fc.constantFrom(
      'status:200',
      'status:0',
      'status:999',
      'status:1000',
      'status:',
      'status',
      'status:abc',
      'status:20',
      'status:0200',
      'env:prod',
      'statuses:1',
      'a',
      '',
    ),
    { maxLength: 3 },
  )
  .map((tags) => `#${tags.join(',')}`)

const fieldText = fc.oneof(
  decimalText.map((r) => `@${r}`),
  tagsText,
  fc.constantFrom('T1700000000', 'c:abc', '', 'card:low'),
)

const groupText = fc
  .tuple(
    fc.array(decimalText, { minLength: 1, maxLength: 4 }),
    fc.constantFrom('ms', 'h', 'd', 'c', 'g', 's', 'x', '', 'MS'),
    fc.array(fieldText, { maxLength: 3 }),
  )
  .map(([values, type, fields]) => [`${values.join(':')}|${type}`, ...fields].join('|'))

/** Lines close to valid ones: the grammar with wrong parts mixed in. */
export const nearValidLine = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(nameText, fc.array(groupText, { minLength: 1, maxLength: 3 })).map(([name, groups]) => `${name}:${groups.join(':')}`) },
  { weight: 1, arbitrary: fc.tuple(nameText, decimalText).map(([name, v]) => `${name}:${v}`) },
  { weight: 1, arbitrary: fc.constantFrom('_e{5,4}:title|text', '_sc|db|0', 'x', ':', '|', '::', '||ms', 'a:1|ms|', 'a:1|ms||') },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).filter((s) => !s.includes('\n')) },
)

/** A datagram's worth of lines: near-valid ones, with random lines and line breaks mixed in. */
export const datagramText = fc
  .tuple(fc.array(nearValidLine, { minLength: 1, maxLength: 12 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
  .map(([lines, lineBreak, trailing]) => lines.join(lineBreak) + (trailing ? lineBreak : ''))
