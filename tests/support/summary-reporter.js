/**
 * Ends the run with one plain line, `jest: N passed, N failed[, N skipped]`, that tools reading
 * a CI log understand without knowing Jest's own summary format.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `jest: ${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
    // At exit, so it is the very last line, after Jest's own summary.
    process.once('exit', () => process.stderr.write(line));
  }
}
module.exports = SummaryReporter;
