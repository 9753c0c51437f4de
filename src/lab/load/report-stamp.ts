// The time in a report's file name (loadtest-catch-up-20261205t063915.json): sortable, and free of
// the characters a file name or a shell would trip on.
export function reportStamp(at: Date = new Date()): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').toLowerCase();
}
