// A node:test reporter that only counts: run-tests.mjs adds it next to `spec` in each run of the
// server matrix and prints one closing line for all of them. Suites are not counted, only tests;
// a skipped or todo test is counted as skipped, never as passed.
export default async function* countReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.data.skip !== undefined || event.data.todo !== undefined) counts.skipped++;
    else if (event.type === 'test:pass') counts.passed++;
    else counts.failed++;
  }
  yield `${JSON.stringify(counts)}\n`;
}
