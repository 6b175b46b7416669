/** A PersistenceLog that keeps every line it is given, for tests to read. */
export function recordingLog() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = []
  const at = (level: string) => (obj: object, msg: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg })
  return { lines, info: at('info'), warn: at('warn'), error: at('error') }
}
