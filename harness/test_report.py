#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Unit tests of report.py, fed canned guest output.

Each case writes what a guest would leave in its results folder (test_progs'
stream, its -J summary, what test_progs -l listed, the sched_ext runner's
output, a kselftest binary's TAP), runs report.py on it as vmtest.sh does,
and checks the summary line, the exit status and the lines that name what
went wrong.  vmtest.sh runs them
among the harness's self-checks; run them alone with
python3 harness/test_report.py.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

REPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'report.py')

PASSING = """\
#1       alpha:OK
#2/1     beta/one:OK
#2/2     beta/two:SKIP
#2       beta:OK (SKIP: 1/2)
Summary: 2/1 PASSED, 1 SKIPPED, 0 FAILED
"""

FAILING = """\
#1       alpha:OK
#3/1     gamma/x:OK
#3/2     gamma/y:FAIL
#3       gamma:FAIL

All error logs:
#3/2     gamma/y:FAIL
#3       gamma:FAIL
Summary: 1/1 PASSED, 0 SKIPPED, 1 FAILED
"""


def gamma_y_failed(log=''):
    """The JSON result of FAILING's failed subtest gamma/y."""
    return {'name': 'gamma', 'number': 3, 'message': '', 'failed': True,
            'subtests': [{'name': 'y', 'number': 2, 'failed': True,
                          'message': log}]}


def summary_json(results=(), failed=0):
    return {'success': 2, 'success_subtest': 1, 'skipped': 1,
            'failed': failed, 'results': list(results)}


class Run:
    """One report.py run over files written to a temporary folder."""

    def __init__(self, stream=None, summary=None, listed=None, scx=None,
                 wanted='', serial='', workers=1, expected=None, hid=None,
                 hid_expected=None):
        self.tmp = tempfile.TemporaryDirectory()
        d = self.tmp.name
        args = [sys.executable, REPORT]
        if stream is not None:
            args += ['--test-progs', self.write('test_progs.txt', stream),
                     '--wanted', wanted, '--serial', serial,
                     '--workers', str(workers)]
        if summary is not None:
            self.write('test_progs.json', json.dumps(summary))
        if listed is not None:
            args += ['--selected',
                     self.write('test_progs.list', '\n'.join(listed) + '\n')]
        if scx is not None:
            args += ['--sched-ext', self.write('sched_ext.txt', scx)]
        if expected is not None:
            args += ['--expected', self.write('expected.list', expected)]
        if hid is not None:
            args += ['--kselftest', 'hid=' + self.write('hid_bpf.txt', hid)]
        if hid_expected is not None:
            args += ['--kselftest-expected',
                     self.write('hid-expected.list', hid_expected)]
        proc = subprocess.run(args, capture_output=True, text=True, cwd=d)
        self.rc = proc.returncode
        self.out = proc.stdout.splitlines()
        self.err = proc.stderr
        self.tmp.cleanup()

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    @property
    def last(self):
        return self.out[-1] if self.out else ''

    def has(self, text):
        return any(text in line for line in self.out)


class TestProgs(unittest.TestCase):
    def test_all_pass(self):
        r = Run(PASSING, summary_json(), ['alpha', 'beta'], wanted='alpha,beta')
        self.assertEqual(r.err, '')
        self.assertEqual(r.last, '2 passed, 0 failed, 1 skipped')
        self.assertEqual(r.rc, 0)
        self.assertTrue(r.has('SKIPPED test_progs: beta/two'))

    def test_fail_line_with_its_log(self):
        res = gamma_y_failed('gamma/y: unexpected err: -22\n')
        r = Run(FAILING, summary_json([res], 1), ['alpha', 'gamma'],
                wanted='alpha,gamma')
        self.assertEqual(r.last, '2 passed, 1 failed, 0 skipped')
        self.assertEqual(r.rc, 1)
        self.assertTrue(r.has('FAILED  test_progs: gamma/y'))
        self.assertTrue(r.has('| gamma/y: unexpected err: -22'))
        # the "All error logs" repeat is not counted again
        self.assertEqual(sum('gamma/y' in l and 'FAILED' in l
                             for l in r.out), 1)

    def test_failure_only_in_json(self):
        res = {'name': 'alpha', 'number': 1, 'message': 'alpha: bad\n',
               'failed': True, 'subtests': []}
        r = Run(PASSING, summary_json([res], 1), ['alpha', 'beta'])
        self.assertEqual(r.last, '1 passed, 1 failed, 1 skipped')
        self.assertTrue(r.has('FAILED  test_progs: alpha'))

    def test_skip(self):
        r = Run('#1       alpha:SKIP\nSummary: 0/0 PASSED, 1 SKIPPED, 0 FAILED\n',
                summary_json(), ['alpha'], wanted='alpha')
        self.assertEqual(r.last, '0 passed, 0 failed, 1 skipped')
        self.assertEqual(r.rc, 0)

    def test_crash_during_parallel_tests(self):
        # alpha done; beta and gamma were on the two workers; the serial
        # test never started.  No Summary, no JSON: test_progs died.
        r = Run('#1       alpha:OK\n', None,
                ['alpha', 'beta', 'gamma', 'delta', 'serial_one'],
                wanted='alpha,beta,gamma,delta,serial_one',
                serial='serial_one', workers=2)
        self.assertEqual(r.rc, 1)
        self.assertTrue(r.has('beta: on a worker when test_progs stopped'))
        self.assertTrue(r.has('gamma: on a worker when test_progs stopped'))
        self.assertTrue(r.has('delta: not started'))
        self.assertTrue(r.has('serial_one: not started'))
        self.assertFalse(r.has('did not run'))
        self.assertEqual(r.last, '1 passed, 2 failed, 2 skipped')

    def test_crash_during_serial_test(self):
        r = Run('#1       alpha:OK\n#2       beta:OK\n', None,
                ['alpha', 'beta', 'serial_one', 'serial_two'],
                serial='serial_one,serial_two', workers=2)
        self.assertTrue(r.has('FAILED  test_progs: serial_one: running when '
                              'test_progs stopped'))
        self.assertTrue(r.has('serial_two: not started'))
        self.assertEqual(r.last, '2 passed, 1 failed, 1 skipped')

    def test_no_such_test(self):
        r = Run(PASSING, summary_json(), ['alpha', 'beta'],
                wanted='alpha,beta,nosuch')
        self.assertTrue(r.has('nosuch: did not run (no such test)'))
        self.assertEqual(r.rc, 1)

    def test_finished_without_json(self):
        r = Run(PASSING, None, ['alpha', 'beta'])
        self.assertTrue(r.has('finished without a JSON summary'))
        self.assertEqual(r.rc, 1)

    def test_no_output(self):
        r = Run(None)
        self.assertEqual(r.last, '0 passed, 0 failed, 0 skipped')
        r = Run('', None, [])
        self.assertTrue(r.has('no Summary line'))
        self.assertEqual(r.rc, 1)


class Expected(unittest.TestCase):
    def test_expected_failure_fails(self):
        r = Run(FAILING, summary_json([gamma_y_failed()], 1), ['alpha', 'gamma'],
                expected='gamma/y fail the base lacks it\n')
        self.assertEqual(r.rc, 0)
        self.assertTrue(r.has('XFAIL   test_progs: gamma/y: failed as expected'))
        self.assertEqual(r.last, '3 passed, 0 failed, 0 skipped')

    def test_expected_failure_passes(self):
        r = Run(PASSING, summary_json(), ['alpha', 'beta'],
                expected='beta/one fail the base lacks it\n')
        self.assertEqual(r.rc, 1)
        self.assertTrue(r.has('beta/one: passed, expected to fail'))

    def test_expected_of_unchosen_test_ignored(self):
        r = Run(PASSING, summary_json(), ['alpha', 'beta'],
                expected='gamma/y fail not chosen\n')
        self.assertEqual(r.rc, 0)


class SchedExt(unittest.TestCase):
    def test_results(self):
        r = Run(scx='===== START =====\nTEST: create_dsq\n'
                'ok 1 create_dsq #\n=====  END  =====\n'
                'ok 2 exit # SKIP no\n\nRESULTS:\n\nPASSED:  1\n')
        self.assertEqual(r.last, '1 passed, 0 failed, 1 skipped')
        self.assertEqual(r.rc, 0)

    def test_crash_mid_test(self):
        r = Run(scx='===== START =====\nTEST: create_dsq\n'
                'ok 1 create_dsq #\n=====  END  =====\n'
                '===== START =====\nTEST: hotplug\nOUTPUT:\n')
        self.assertTrue(r.has('FAILED  sched_ext: hotplug: running when the '
                              'runner stopped'))
        self.assertEqual(r.last, '1 passed, 1 failed, 0 skipped')


HID_OK = """\
TAP version 13
1..3
# Starting 3 tests from 1 test cases.
#  RUN           hid_bpf.test_create_uhid ...
#            OK  hid_bpf.test_create_uhid
ok 1 hid_bpf.test_create_uhid
#  RUN           hid_bpf.raw_event ...
#            OK  hid_bpf.raw_event
ok 2 hid_bpf.raw_event
#  RUN           hid_bpf.hid_user_io ...
#      SKIP      no kfunc
ok 3 hid_bpf.hid_user_io # SKIP no kfunc
# PASSED: 3 / 3 tests passed.
# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:1 error:0
"""


class Kselftest(unittest.TestCase):
    def test_results(self):
        r = Run(hid=HID_OK)
        self.assertEqual(r.last, '2 passed, 0 failed, 1 skipped')
        self.assertEqual(r.rc, 0)
        self.assertTrue(r.has('SKIPPED hid: hid_bpf.hid_user_io'))

    def test_failure(self):
        r = Run(hid=HID_OK.replace('ok 2 hid_bpf.raw_event',
                                   'not ok 2 hid_bpf.raw_event'))
        self.assertEqual(r.last, '1 passed, 1 failed, 1 skipped')
        self.assertTrue(r.has('FAILED  hid: hid_bpf.raw_event'))
        self.assertEqual(r.rc, 1)

    def test_expected_failure(self):
        text = HID_OK.replace('ok 2 hid_bpf.raw_event',
                              'not ok 2 hid_bpf.raw_event')
        r = Run(hid=text, hid_expected='hid_bpf.raw_event fail base bug\n')
        self.assertEqual(r.rc, 0)
        self.assertTrue(r.has('XFAIL   hid: hid_bpf.raw_event: failed as '
                              'expected (base bug)'))
        r = Run(hid=HID_OK, hid_expected='hid_bpf.raw_event fail base bug\n')
        self.assertEqual(r.rc, 1)
        self.assertTrue(r.has('hid_bpf.raw_event: passed, expected to fail'))

    def test_crash_mid_test(self):
        r = Run(hid=HID_OK.split('ok 2 hid_bpf.raw_event')[0])
        self.assertTrue(r.has('FAILED  hid: hid_bpf.raw_event: running when '
                              'hid_bpf stopped (guest crash, hang or kill)'))
        self.assertEqual(r.last, '1 passed, 1 failed, 0 skipped')
        self.assertEqual(r.rc, 1)


if __name__ == '__main__':
    unittest.main(verbosity=2)
