#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise a vmtest.sh test run.

Reads the guest's test_progs and sched_ext runner output plus the harness's
self-check results, prints one table per suite, the failures, and last the
line 'N passed, N failed, N skipped' (test_progs subtests counted one by
one).  Exits 1 when anything failed, was missing or did not finish.

What failed comes from test_progs' JSON summary (-J): each failed test and
subtest with its log.  The JSON of 6.12's test_progs names only failures,
so the names of the tests that passed or were skipped come from its output
stream, and so does, when test_progs died before writing the JSON, which
test was running.
"""
import argparse
import json
import re
import sys

# "#N name:OK", "#N/M name/sub:SKIP"; a test with skipped subtests ends in
# "OK (SKIP: 1/3)"
TP_LINE = re.compile(r'^#(\d+)(?:/(\d+))?\s+(\S.*?):(OK|SKIP|FAIL)'
                     r'(?: \(SKIP: \d+/\d+\))?\s*$')
SCX_LINE = re.compile(r'^(ok|not ok) (\d+) (\S+) #\s*(SKIP)?')


class Suite:
    def __init__(self, name):
        self.name = name
        self.passed, self.failed, self.skipped = [], [], []
        self.xfail = []     # passed: failed as expected (--expected)
        self.logs = {}      # failed case: its log (JSON summary)

    def add(self, case, result):
        {'OK': self.passed, 'FAIL': self.failed,
         'SKIP': self.skipped}[result].append(case)


def read(path):
    try:
        with open(path, errors='replace') as f:
            return f.read().splitlines()
    except OSError:
        return None


TEST_NAME = re.compile(r'^[A-Za-z0-9_]+$')


def read_selected(path):
    """The tests test_progs -l printed for the run's filters, in the order
    test_progs runs them (None without the file)."""
    lines = read(path) if path else None
    if lines is None:
        return None
    return [line for line in lines if TEST_NAME.match(line)]


def unfinished(suite, selected, finished, serial, workers):
    """Account for the tests a dead test_progs left without a result.
    test_progs -j hands the parallel tests to its workers in order and runs
    the serial ones after them, in order: the first @workers unfinished
    parallel tests were on the workers, or else the first unfinished serial
    test was running.  Those fail; the others are skipped, not started."""
    left = [t for t in selected if t not in finished]
    par = [t for t in left if t not in serial]
    running = par[:workers] if par else left[:1]
    for name in left:
        if name not in running:
            suite.add(name + ': not started (test_progs stopped before it)',
                      'SKIP')
        elif par and workers > 1:
            suite.add(name + ': on a worker when test_progs stopped '
                      '(guest crash, hang or kill)', 'FAIL')
        else:
            suite.add(name + ': running when test_progs stopped '
                      '(guest crash, hang or kill)', 'FAIL')
    return left


def read_json(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def json_failures(data):
    """{case: log} of what the JSON summary says failed: each failed
    subtest as "test/subtest", a failed test without one by its name."""
    fails = {}
    for res in data.get('results', []):
        if not res.get('failed'):
            continue
        name = res.get('name', '?')
        subs = [s for s in res.get('subtests', []) if s.get('failed')]
        for sub in subs:
            fails['%s/%s' % (name, sub.get('name', '?'))] = \
                sub.get('message', '')
        if not subs:
            fails[name] = res.get('message', '')
    return fails


def apply_json(suite, data):
    """Make the JSON summary's failures the suite's: a case the stream
    showed passing or skipped but the JSON reports failed fails, with the
    JSON's log."""
    for case, log in json_failures(data).items():
        outside = case + ' (outside its subtests)'
        if outside in suite.failed:
            suite.logs[outside] = log
            continue
        for other in (suite.passed, suite.skipped):
            if case in other:
                other.remove(case)
        if case not in suite.failed:
            suite.failed.append(case)
        suite.logs[case] = log


def parse_test_progs(path, wanted, selected=None, serial=(), workers=1,
                     json_path=None):
    suite = Suite('test_progs')
    lines = read(path)
    if lines is None:
        suite.add('test_progs: no output (did the VM finish?)', 'FAIL')
        return suite
    # With -j, test_progs prints the log of each failed test twice: as it
    # ends and again under "All error logs"; count each result once.
    tests, subtests = {}, {}
    for line in lines:
        m = TP_LINE.match(line)
        if not m:
            continue
        num, sub, name, res = m.groups()
        if sub is None:
            tests[num] = (name, res)
        else:
            subtests.setdefault(num, {})[name] = res
    for num, (name, res) in tests.items():
        subs = subtests.get(num, {}).items()
        for sname, sres in subs:
            suite.add(sname, sres)
        if not subs:
            suite.add(name, res)
        elif res == 'FAIL' and all(r != 'FAIL' for _, r in subs):
            suite.add(name + ' (outside its subtests)', 'FAIL')
    seen = {name for name, _ in tests.values()}
    left = []
    done = any(line.startswith('Summary:') for line in lines)
    if not done and selected is not None:
        left = unfinished(suite, selected, seen, set(serial), workers)
    for name in wanted:
        if name in seen or name in left:
            continue
        if selected is not None and name not in selected:
            suite.add(name + ': did not run (no such test)', 'FAIL')
        else:
            suite.add(name + ': did not run (no such test?)', 'FAIL')
    if not done and not left:
        suite.add('test_progs: no Summary line (crashed or killed)', 'FAIL')
    if json_path:
        data = read_json(json_path)
        if data is not None:
            apply_json(suite, data)
        elif done:
            suite.add('test_progs: finished without a JSON summary (-J)',
                      'FAIL')
    return suite


def read_expected(path):
    """The expected failures of the base kernel: {subtest: (kind, reason)}."""
    expected = {}
    for line in read(path) or []:
        line = line.split('#', 1)[0].strip()
        if line:
            name, kind, reason = (line.split(None, 2) + ['', ''])[:3]
            expected[name] = (kind, reason)
    return expected


LOG_LINES = 8       # of a failure's log, shown under it

CRASH = re.compile(r'Oops|Kernel panic|BUG:|general protection fault')


def isolated_result(path, name):
    """What @name did in a VM of its own, from that VM's console: OK, SKIP
    or FAIL as test_progs reported it, FAIL if the kernel died under it,
    None if it never started or stopped without a crash."""
    lines = read(path) or []
    marker = '== isolated: ' + name
    if not any(marker in line for line in lines):
        return None
    for line in lines:
        m = TP_LINE.match(line)
        if m and m.group(3) == name:
            return m.group(4)
    return 'FAIL' if any(CRASH.search(line) for line in lines) else None


def apply_expected(suite, expected, isolated):
    """Hold the results against the expected failures: one that failed
    counts as passed, one that passed or did not run as failed."""
    for name, (kind, reason) in sorted(expected.items()):
        if kind == 'crash':
            res = isolated_result(isolated[name], name) if name in isolated else None
        elif name in suite.failed:
            suite.failed.remove(name)
            res = 'FAIL'
        elif name in suite.passed:
            suite.passed.remove(name)
            res = 'OK'
        elif name in suite.skipped:
            suite.skipped.remove(name)
            res = 'SKIP'
        else:
            res = None
        if res == 'FAIL':
            suite.add('%s: failed as expected (%s)' % (name, reason), 'OK')
            suite.xfail.append(suite.passed[-1])
        elif res is None:
            suite.add('%s: expected to fail, did not run' % name, 'FAIL')
        else:
            suite.add('%s: %s, expected to fail (%s)' %
                      (name, 'passed' if res == 'OK' else 'skipped', reason),
                      'FAIL')
        # a subtest failing as expected fails its test too
        test = name.split('/', 1)[0]
        outside = test + ' (outside its subtests)'
        if outside in suite.failed:
            suite.failed.remove(outside)


def parse_sched_ext(path):
    suite = Suite('sched_ext')
    lines = read(path)
    if lines is None:
        suite.add('sched_ext runner: no output', 'FAIL')
        return suite
    started = None     # the test whose "TEST:" line has no result yet
    for line in lines:
        if line.startswith('TEST: '):
            started = line[len('TEST: '):].strip()
            continue
        m = SCX_LINE.match(line)
        if not m:
            continue
        ok, _, name, skip = m.groups()
        suite.add(name, 'SKIP' if skip else ('OK' if ok == 'ok' else 'FAIL'))
        started = None
    if not any(line.startswith('RESULTS:') for line in lines):
        if started:
            suite.add(started + ': running when the runner stopped '
                      '(guest crash, hang or kill)', 'FAIL')
        else:
            suite.add('sched_ext runner: no RESULTS (crashed or killed)',
                      'FAIL')
    return suite


# kselftest_harness.h: "#  RUN           fixture.test ...", then
# "ok N fixture.test", "ok N fixture.test # SKIP why" or "not ok N ...",
# and "# Totals: pass:N fail:N ..." once the binary is done.
KS_RUN = re.compile(r'^#\s+RUN\s+(\S+)\s+\.\.\.')
KS_LINE = re.compile(r'^(ok|not ok) \d+ (\S+)(?:\s+#\s*(SKIP|XFAIL)?.*)?$')


def parse_kselftest(suite, path):
    """Add one kselftest_harness binary's TAP results to @suite."""
    binary = path.rsplit('/', 1)[-1].rsplit('.', 1)[0]
    lines = read(path)
    if lines is None:
        suite.add('%s: no output' % binary, 'FAIL')
        return
    started = None
    for line in lines:
        m = KS_RUN.match(line)
        if m:
            started = m.group(1)
            continue
        m = KS_LINE.match(line)
        if not m:
            continue
        ok, name, directive = m.groups()
        if directive == 'SKIP':
            suite.add(name, 'SKIP')
        else:
            # an expected failure (XFAIL) passes, as kselftest counts it
            suite.add(name, 'OK' if ok == 'ok' else 'FAIL')
        started = None
    if not any(line.startswith('# Totals:') for line in lines):
        if started:
            suite.add('%s: running when %s stopped (guest crash, hang or '
                      'kill)' % (started, binary), 'FAIL')
        else:
            suite.add('%s: no Totals line (crashed or killed)' % binary,
                      'FAIL')


def parse_selfcheck(path):
    suite = Suite('harness')
    lines = read(path)
    if lines is None:
        suite.add('self-checks did not run', 'FAIL')
        return suite
    for line in lines:
        parts = line.split(None, 1)
        if len(parts) == 2:
            suite.add(line if 'FAIL' in parts[1] else parts[0],
                      'OK' if parts[1].startswith('PASS') else 'FAIL')
    return suite


def parse_kmemleak(path):
    """Each unreferenced object whose backtrace names bpf or struct_ops
    fails; other leaks are listed as skipped, for information."""
    suite = Suite('kmemleak')
    lines = read(path)
    if lines is None:
        suite.add('no kmemleak report (is CONFIG_DEBUG_KMEMLEAK on?)', 'FAIL')
        return suite
    blocks, cur = [], None
    for line in lines:
        if line.startswith('unreferenced object'):
            cur = [line]
            blocks.append(cur)
        elif cur is not None:
            cur.append(line)
    for block in blocks:
        trace = [l.strip() for l in block if l.strip().startswith('[<')]
        ours = [l for l in trace if re.search(r'bpf|struct_ops', l)]
        first = (ours or trace or ['?'])[0]
        where = first.split('] ', 1)[-1]
        suite.add('%s at %s' % (block[0].split(' (')[0], where),
                  'FAIL' if ours else 'SKIP')
    if not blocks:
        suite.add('no unreferenced objects', 'OK')
    return suite


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--test-progs')
    ap.add_argument('--wanted', default='',
                    help='comma-separated test_progs tests that must run')
    ap.add_argument('--json',
                    help='test_progs -J summary (default: next to --test-progs)')
    ap.add_argument('--selected',
                    help='what test_progs -l printed for the run\'s filters')
    ap.add_argument('--serial', default='',
                    help='comma-separated serial_test_* tests')
    ap.add_argument('--workers', type=int, default=1,
                    help='test_progs -j workers (the guest\'s CPUs)')
    ap.add_argument('--sched-ext')
    ap.add_argument('--kselftest', action='append', default=[],
                    help='SUITE=PATH: a kselftest_harness binary\'s output')
    ap.add_argument('--kselftest-expected',
                    help='kselftest tests that must fail: "NAME fail REASON" '
                    'lines (failures of the base tree itself)')
    ap.add_argument('--selfcheck')
    ap.add_argument('--kmemleak')
    ap.add_argument('--extra-failure', action='append', default=[],
                    help='a failure found outside the suites (splat, ...)')
    ap.add_argument('--expected',
                    help='subtests that must fail: "NAME fail|crash REASON" lines')
    ap.add_argument('--isolated', action='append', default=[],
                    help='NAME=PATH: test_progs output of NAME run in a VM of its own')
    args = ap.parse_args()

    suites = []
    if args.test_progs and args.json is None:
        args.json = re.sub(r'\.txt$', '', args.test_progs) + '.json'
    if args.test_progs:
        wanted = [w for w in args.wanted.split(',') if w]
        selected = read_selected(args.selected)
        serial = [t for t in args.serial.split(',') if t]
        suites.append(parse_test_progs(args.test_progs, wanted, selected,
                                       serial, args.workers, args.json))
        if args.expected:
            isolated = dict(a.split('=', 1) for a in args.isolated)
            expected = read_expected(args.expected)
            if selected is not None:
                # With chosen tests (-t/-a), only theirs are expected.
                expected = {n: e for n, e in expected.items()
                            if n.split('/', 1)[0] in selected}
            apply_expected(suites[-1], expected, isolated)
    if args.sched_ext:
        suites.append(parse_sched_ext(args.sched_ext))
    kself = {}
    for arg in args.kselftest:
        name, path = arg.split('=', 1)
        if name not in kself:
            kself[name] = Suite(name)
            suites.append(kself[name])
        parse_kselftest(kself[name], path)
    if kself and args.kselftest_expected:
        expected = read_expected(args.kselftest_expected)
        for suite in kself.values():
            mine = {n: e for n, e in expected.items()
                    if n in suite.passed + suite.failed + suite.skipped}
            apply_expected(suite, mine, {})
    if args.selfcheck:
        suites.append(parse_selfcheck(args.selfcheck))
    if args.kmemleak:
        suites.append(parse_kmemleak(args.kmemleak))
    if args.extra_failure:
        run = Suite('run')
        for what in args.extra_failure:
            run.add(what, 'FAIL')
        suites.append(run)

    print('%-12s %8s %8s %8s' % ('suite', 'passed', 'failed', 'skipped'))
    for s in suites:
        print('%-12s %8d %8d %8d' % (s.name, len(s.passed), len(s.failed),
                                     len(s.skipped)))
    for s in suites:
        for case in s.xfail:
            print('XFAIL   %s: %s' % (s.name, case))
        for case in s.failed:
            print('FAILED  %s: %s' % (s.name, case))
            log = [l for l in s.logs.get(case, '').splitlines() if l.strip()]
            for line in log[-LOG_LINES:]:
                print('        | ' + line)
        for case in s.skipped:
            print('SKIPPED %s: %s' % (s.name, case))
    passed = sum(len(s.passed) for s in suites)
    failed = sum(len(s.failed) for s in suites)
    skipped = sum(len(s.skipped) for s in suites)
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
