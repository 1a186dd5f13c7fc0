/**
 * A process's start time from /proc/<pid>/stat (field 22, clock ticks since boot). Pure: the
 * caller reads the file. With the pid it names one process for the lifetime of the boot: a pid
 * number the kernel hands to a new process comes with a later start time.
 *
 * The second field, the command name in parentheses, may itself hold spaces and `)`, so the
 * fields are counted from the last `)`.
 */
export function parseProcStartTime(text: string): string | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ") ": field 3 (state) is index 0, so field 22 is index 19.
  const fields = text.slice(close + 2).split(' ');
  const start = fields[19];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}
