import createError from '@fastify/error'

/** A body that is not an ExportTraceServiceRequest in its content type's encoding (not retried by exporters). */
export const InvalidOtlpBodyError = createError<[string, string]>('LT_INVALID_OTLP_BODY', 'body is not a valid OTLP %s ExportTraceServiceRequest: %s', 400)

export const UnsupportedOtlpMediaTypeError = createError<[string]>(
  'LT_UNSUPPORTED_MEDIA_TYPE',
  'content-type %s is not supported: send OTLP as application/x-protobuf or application/json',
  415,
)
