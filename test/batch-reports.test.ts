// Batch reports gathered for the supervisor: pure bookkeeping, no I/O.
import t from 'tap';
import { BatchReports, REPORT_INTERVAL_MS } from '../src/worker/batch-reports.js';

const batch = (records: number, extra: Partial<Parameters<BatchReports['add']>[0]> = {}) => ({
  records,
  customersCreated: 0,
  posted: records,
  parked: 0,
  postedToDefaultPartition: 0,
  rejectedByReason: {},
  writeSeconds: records / 1000,
  transactionsNextOffset: undefined,
  ...extra,
});

t.test('the first batch is reported at once, later ones together after the interval', async (t) => {
  const reports = new BatchReports(3);
  const first = reports.add(batch(10), 1_000_000);
  t.match(
    first,
    { type: 'batches', partition: 3, sizes: [10], records: 10, posted: 10 },
    'the first report goes out with its batch',
  );
  t.equal(reports.add(batch(20, { transactionsNextOffset: 120 }), 1_000_100), undefined, 'within the interval: held');
  t.equal(
    reports.add(
      batch(30, { rejectedByReason: { invalid_json: 2 }, customersCreated: 1 }),
      1_000_000 + REPORT_INTERVAL_MS - 1,
    ),
    undefined,
    'still held',
  );
  const due = reports.add(
    batch(5, { rejectedByReason: { invalid_json: 1, bad_amount: 1 }, parked: 2, postedToDefaultPartition: 4 }),
    1_000_000 + REPORT_INTERVAL_MS,
  );
  t.same(
    due,
    {
      type: 'batches',
      partition: 3,
      sizes: [20, 30, 5],
      writeSeconds: [0.02, 0.03, 0.005],
      records: 55,
      customersCreated: 1,
      posted: 55,
      postedToDefaultPartition: 4,
      parked: 2,
      rejectedByReason: { invalid_json: 3, bad_amount: 1 },
      transactionsNextOffset: 120,
    },
    'one report with every batch held: sizes and write times per batch, totals summed, the latest committed offset',
  );
  t.equal(reports.take(), undefined, 'nothing is left pending');
});

t.test('take() hands over what is pending, once', async (t) => {
  const reports = new BatchReports(0);
  t.equal(reports.take(), undefined, 'nothing committed, nothing to report');
  reports.add(batch(1), 5_000);
  t.equal(reports.add(batch(2, { transactionsNextOffset: 7 }), 5_001), undefined);
  t.match(reports.take(5_002), { sizes: [2], transactionsNextOffset: 7 });
  t.equal(reports.take(5_003), undefined);
  t.equal(
    reports.add(batch(4), 5_004),
    undefined,
    'the interval counts from the last report sent, taken ones included',
  );
  t.match(reports.add(batch(8), 5_002 + REPORT_INTERVAL_MS), { sizes: [4, 8], records: 12 });
});
