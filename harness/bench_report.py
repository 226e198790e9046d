#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Side-by-side report of ./vmtest.sh bench: the base kernel and ours.

Usage: bench_report.py --json OUT NAME=DIR NAME=DIR...

The first run is the reference: every other column gets its ratio to it.

Each DIR holds what one kernel's run left: bench.jsonl (the guest's JSON
lines) and insns.txt (the TCG plugin: guest instructions of each marked
window, in order).  The i-th {"window": ...} line of bench.jsonl names the
i-th count of insns.txt.

Instructions are the primary metric: the plugin counts them exactly, so
they do not depend on how busy the host was.  Interrupts that land in a
window with interrupts on are counted too; they only ever add, so the
instructions per call of a dispatch case are the fewest of its runs.  Wall-clock numbers are
emulated time under TCG; they are given as median [min..max] of the runs
and are only meaningful as ratios within one run.
"""
import argparse
import json
import statistics
import sys


def load(directory):
    windows, wall = [], {}
    with open(directory + '/bench.jsonl') as f:
        for line in f:
            line = line.strip()
            if not line.startswith('{'):
                continue
            rec = json.loads(line)
            if 'window' in rec:
                windows.append(rec)
            else:
                wall[(rec['metric'], rec['case'])] = rec
    with open(directory + '/insns.txt') as f:
        counts = [int(x) for x in f if x.strip() and not x.startswith('#')]
    if len(counts) != len(windows):
        sys.exit('%s: %d windows announced, %d counted by the plugin'
                 % (directory, len(windows), len(counts)))
    insns = {}
    for rec, count in zip(windows, counts):
        insns.setdefault((rec['window'], rec['case'], rec['n']), []).append(count)
    return derive(insns), wall


def derive(insns):
    """Instructions per unit for every (metric, case)."""
    out = {}
    for (metric, case, n), counts in insns.items():
        if metric == 'dispatch':
            if n == 0:
                continue
            base = statistics.median(insns.get((metric, case, 0), [0]))
            per = [(c - base) / n for c in counts]
            out[('dispatch_insns', case)] = {
                'unit': 'insns/call', 'values': per,
                'fixed_cost': base}
        elif metric == 'e2e':
            out[('e2e_insns', case)] = {
                'unit': 'insns/MiB', 'values': [c / n for c in counts]}
        else:
            out[(metric + '_insns', case)] = {
                'unit': 'insns', 'values': counts}
    return out


def med(rec):
    """The value a column shows: the fewest for dispatch insns, else the median."""
    if not rec or not rec['values']:
        return None
    if rec['unit'] == 'insns/call':
        return min(rec['values'])
    return statistics.median(rec['values'])


def spread(rec):
    v = rec['values']
    m = med(rec)
    if len(v) == 1:
        return '%.6g' % m
    return '%.6g [%.6g..%.6g]' % (m, min(v), max(v))


def ratio(a, b):
    if a is None or b is None or b == 0:
        return '-'
    return '%.3f' % (a / b)


ORDER = ['dispatch_insns', 'dispatch_wall', 'tramp_bytes', 'image_pages', 'map_update_insns',
         'map_update_wall', 'link_create_insns', 'link_create_wall',
         'link_update_insns', 'link_update_wall', 'release_wall',
         'release_all_wall', 'memory_memlock', 'memory_jit_charge',
         'memory_meminfo', 'e2e_insns', 'e2e_wall']


# The targets of the trampoline work: (label, case, goal on ours/base)
TARGETS = [
    ('(a) irqs off, empty', 'bpf/empty', 0.40),
    ('(a) irqs off, x + 1', 'bpf/trivial', 0.40),
    ('(b) preemption off', 'bpf/trivial@preempt', 0.40),
    ('(c) preemptible task', 'bpf/trivial@task', 0.70),
    ('(d) sleepable prog', 'bpf/sleepable@task', 0.80),
    ('(f) bpf_stats_enabled', 'bpf/trivial/stats', 1.00),
]


def insns(data, name, case):
    return med(data[name].get(('dispatch_insns', case)))


def targets(names, data):
    """Rows of the (a)-(f) targets: insns per call in each run, ours/base."""
    base, ours = names[0], names[-1]
    rows = [('target', 'case') + tuple(names) + ('%s/%s' % (ours, base), 'goal')]
    for label, case, goal in TARGETS:
        vals = [insns(data, n, case) for n in names]
        rows.append((label, case) + tuple('-' if v is None else '%.1f' % v
                                          for v in vals) +
                    (ratio(vals[-1], vals[0]), '<= %.2f' % goal))
    # (e): what a helper call adds to a prog's run, beyond the helper itself
    extra = []
    for n in names:
        h, t = insns(data, n, 'bpf/helper'), insns(data, n, 'bpf/trivial')
        extra.append(None if h is None or t is None else h - t)
    delta = (None if extra[0] is None or extra[-1] is None
             else extra[-1] - extra[0])
    rows.append(('(e) helper - (a)', 'bpf/helper - bpf/trivial') +
                tuple('-' if v is None else '%.1f' % v for v in extra) +
                ('-' if delta is None else '%+.1f insns' % delta, '<= +8'))
    return rows


def table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print('  '.join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--json', required=True)
    ap.add_argument('runs', nargs='+', metavar='NAME=DIR')
    args = ap.parse_args()
    if len(args.runs) < 2:
        ap.error('at least two runs')
    names, data = [], {}
    for run in args.runs:
        name, directory = run.split('=', 1)
        insns_, wall = load(directory)
        names.append(name)
        data[name] = {**insns_, **wall}
    ref = names[0]
    keys = sorted(set().union(*(data[n] for n in names)),
                  key=lambda k: (ORDER.index(k[0]) if k[0] in ORDER else 99, k[1]))

    rows = [('metric', 'case', 'unit') + tuple(names) +
            tuple('%s/%s' % (n, ref) for n in names[1:])]
    for k in keys:
        recs = [data[n].get(k) for n in names]
        unit = next(r for r in recs if r)['unit']
        rows.append((k[0], k[1], unit) +
                    tuple(spread(r) if r else '-' for r in recs) +
                    tuple(ratio(med(r), med(recs[0])) for r in recs[1:]))

    # BPF vs native, within each kernel
    blank = ('',) * len(rows[0])
    rows.append(blank)
    rows.append(('bpf/native', 'case', 'unit') + tuple(names) + ('',) * (len(names) - 1))
    for metric in ('dispatch_insns', 'dispatch_wall'):
        for op in ('empty', 'trivial'):
            for suffix in ('', '/stats'):
                case = 'bpf/%s%s' % (op, suffix)
                native = (metric, 'native/' + op)
                cols = [ratio(med(data[n].get((metric, case))),
                              med(data[n].get(native))) for n in names]
                rows.append((metric, case + ' vs native/' + op, 'ratio') +
                            tuple(cols) + ('',) * (len(names) - 1))
    for metric in ('e2e_insns', 'e2e_wall'):
        cols = [ratio(med(data[n].get((metric, 'bpf_cubic'))),
                      med(data[n].get((metric, 'cubic')))) for n in names]
        rows.append((metric, 'bpf_cubic vs cubic', 'ratio') + tuple(cols) +
                    ('',) * (len(names) - 1))
    table(rows)
    print('\ninsns: guest instructions counted by the TCG plugin (exact;'
          ' dispatch: the fewest of the runs); *_wall: emulated time under'
          ' TCG, median [min..max]; last columns: each run divided by %s' % ref)
    print()
    table(targets(names, data))

    with open(args.json, 'w') as f:
        json.dump({n: {'%s %s' % k: v for k, v in data[n].items()}
                   for n in names}, f, indent=1, sort_keys=True)
    print('JSON: %s' % args.json)


if __name__ == '__main__':
    main()
