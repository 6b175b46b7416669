/**
 * Raises glibc's thresholds for returning freed heap memory to the system, once,
 * at start.
 *
 * Node copies every request body into a buffer of its own, allocated with malloc
 * and freed when the GC collects it. With glibc's defaults, whenever more than
 * 128 KiB lies free at the top of the heap it is given back (brk), and the next
 * bodies fault fresh pages in again: from bodies of about 10 KB (a 1,000-sample
 * batch with a status per value is 12 KB), 0.4-0.6 minor page faults per request,
 * about 8 us of the ~90 us such a request costs (bench S2-status, CPU form, side
 * by side). glibc raises its thresholds by itself the first time it frees a large
 * block it had mapped (mmap threshold to that block's size, trim threshold to
 * twice that, at most 32 MiB): one 16 MiB buffer, dropped at once, does that
 * when the GC frees it. Afterwards up to 32 MiB stays mapped at the heap's top
 * rather than going back and forth. Elsewhere than glibc (musl, jemalloc) this is
 * one short-lived allocation and nothing else.
 */
export function raiseMallocTrimThreshold(): void {
  Buffer.allocUnsafeSlow(LARGE_BLOCK_BYTES)
}

/** Above glibc's default mmap threshold (128 KiB), at most half its largest (32 MiB on 64-bit). */
const LARGE_BLOCK_BYTES = 16 * 1024 * 1024
