import { setTimeout as sleep } from 'node:timers/promises'

/** Polls `check` until it returns true, at most 1,000 times 10 ms apart; never a timing assertion. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return
    await sleep(10)
  }
  throw new Error(`gave up waiting for ${what}`)
}
