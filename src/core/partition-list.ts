/**
 * Parses a branch partition list such as "0-7", "0,3,5" or "2-4,7" into sorted unique numbers.
 * Returns the problems instead of throwing so configuration can report them with the others.
 */
export function parsePartitionList(text: string): { partitions: number[]; problems: string[] } {
  const problems: string[] = [];
  const found = new Set<number>();
  for (const rawPart of text.split(',')) {
    const part = rawPart.trim();
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!range) {
      problems.push(`partitions: "${part}" is not a partition number or a range like 2-4`);
      continue;
    }
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    if (to < from) {
      problems.push(`partitions: range "${part}" runs backwards`);
      continue;
    }
    if (to > 9_999) {
      problems.push(`partitions: ${to} is larger than the 9999 this ingester supports`);
      continue;
    }
    for (let p = from; p <= to; p++) found.add(p);
  }
  if (found.size === 0 && problems.length === 0) problems.push('partitions: the list is empty');
  return { partitions: [...found].sort((a, b) => a - b), problems };
}

/** The inverse of parsePartitionList for sorted numbers: [0, 1, 2, 5, 8, 9] -> "0-2, 5, 8-9". */
export function formatPartitionList(partitions: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < partitions.length; i++) {
    const from = partitions[i]!;
    while (i + 1 < partitions.length && partitions[i + 1] === partitions[i]! + 1) i++;
    parts.push(from === partitions[i] ? String(from) : `${from}-${partitions[i]}`);
  }
  return parts.join(', ');
}
