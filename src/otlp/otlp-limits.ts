/**
 * Default body limits of POST /v1/traces (OTLP_MAX_BODY_BYTES, OTLP_MAX_COMPRESSED_BYTES).
 * An SDK's batch of 512 spans is 100–300 KB of protobuf and 2–3 times that in
 * JSON; gzip shrinks either 5–10 times. These leave room for batches of several
 * thousand spans while bounding what one request can hold in memory.
 */
export const DEFAULT_OTLP_MAX_BODY_BYTES = 16 * 1024 * 1024
export const DEFAULT_OTLP_MAX_COMPRESSED_BYTES = 4 * 1024 * 1024
