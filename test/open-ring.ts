import { NO_STATUS } from '../src/store/sample-layout.js'
import { SampleRing } from '../src/store/sample-ring.js'

/**
 * A SampleRing whose mutators are public, for the ring's own tests: in the
 * service only a Metric (its subclass) writes to a ring.
 */
export class OpenRing extends SampleRing {
  override push(value: number, time: number, status: number = NO_STATUS): void {
    super.push(value, time, status)
  }

  override pushMany(values: ArrayLike<number>, time: number, status: number | ArrayLike<number> = NO_STATUS): void {
    super.pushMany(values, time, status)
  }

  override release(): void {
    super.release()
  }

  /** The values of the samples with time > since, oldest first, into dest; returns how many. */
  copyWindow(since: number, dest: Float64Array): number {
    return this.copyValues(this.firstAfter(since), this.size, dest)
  }
}
