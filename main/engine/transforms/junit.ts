// JUnit XML for CI, like newman's and bru's reporters: one <testsuite> per test file, one
// <testcase> each; failures carry the readable diff, errors the reason the test could not run.
import type { TestRunReport } from '../../../shared/contracts/transforms.js';

function escape(text: string): string {
  return text
    // XML 1.0 cannot carry most control characters, even escaped.
    .replace(/[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

export function toJUnitXml(report: TestRunReport, name = 'eddy test'): string {
  const seconds = (ms: number): string => (ms / 1000).toFixed(3);
  const failures = report.tests.filter((test) => test.status === 'failed').length;
  const errors = report.tests.filter((test) => test.status === 'error').length;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${escape(name)}" tests="${report.tests.length}" failures="${failures}" errors="${errors}" time="${seconds(report.durationMs)}">`];
  for (const test of report.tests) {
    const failed = test.status === 'failed' ? 1 : 0;
    const errored = test.status === 'error' ? 1 : 0;
    lines.push(`  <testsuite name="${escape(test.path)}" tests="1" failures="${failed}" errors="${errored}" skipped="0" time="${seconds(test.durationMs)}">`);
    lines.push(`    <testcase classname="${escape(test.path.replace(/\.test\.json$/, '').replace(/\//g, '.'))}" name="${escape(test.name)}" time="${seconds(test.durationMs)}">`);
    if (test.status !== 'passed') {
      const tag = test.status === 'failed' ? 'failure' : 'error';
      const message = test.failures[0]?.message ?? test.status;
      const body = test.failures.map((failure) => [failure.message, ...failure.diff.map((line) => `  ${line}`)].join('\n')).join('\n');
      lines.push(`      <${tag} message="${escape(message)}" type="${tag === 'failure' ? 'AssertionError' : 'Error'}">${escape(body)}</${tag}>`);
    }
    lines.push(`      <system-out>${escape(`${test.records} event(s), ${test.outputs} output(s)`)}</system-out>`);
    lines.push('    </testcase>', '  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}
