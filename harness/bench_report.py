#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Side-by-side report of ./vmtest.sh bench: base kernel vs ours.

Usage: bench_report.py --json OUT NAME=DIR NAME=DIR

Each DIR holds what one kernel's run left: bench.jsonl (the guest's JSON
lines) and insns.txt (the TCG plugin: guest instructions of each marked
window, in order).  The i-th {"window": ...} line of bench.jsonl names the
i-th count of insns.txt.

Instructions are the primary metric: the plugin counts them exactly, so
they do not depend on how busy the host was.  Wall-clock numbers are
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
    return statistics.median(rec['values']) if rec and rec['values'] else None


def spread(rec):
    v = rec['values']
    m = statistics.median(v)
    if len(v) == 1:
        return '%.6g' % m
    return '%.6g [%.6g..%.6g]' % (m, min(v), max(v))


def ratio(a, b):
    if a is None or b is None or b == 0:
        return '-'
    return '%.3f' % (a / b)


ORDER = ['dispatch_insns', 'dispatch_wall', 'map_update_insns',
         'map_update_wall', 'link_create_insns', 'link_create_wall',
         'link_update_insns', 'link_update_wall', 'release_wall',
         'release_all_wall', 'memory_memlock', 'memory_jit_charge',
         'memory_meminfo', 'e2e_insns', 'e2e_wall']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--json', required=True)
    ap.add_argument('runs', nargs=2, metavar='NAME=DIR')
    args = ap.parse_args()
    names, data = [], {}
    for run in args.runs:
        name, directory = run.split('=', 1)
        insns, wall = load(directory)
        names.append(name)
        data[name] = {**insns, **wall}
    a, b = names
    keys = sorted(set(data[a]) | set(data[b]),
                  key=lambda k: (ORDER.index(k[0]) if k[0] in ORDER else 99, k[1]))

    rows = [('metric', 'case', 'unit', a, b, '%s/%s' % (b, a))]
    for k in keys:
        ra, rb = data[a].get(k), data[b].get(k)
        unit = (ra or rb)['unit']
        rows.append((k[0], k[1], unit, spread(ra) if ra else '-',
                     spread(rb) if rb else '-', ratio(med(rb), med(ra))))

    # BPF vs native, within each kernel
    rows.append(('', '', '', '', '', ''))
    rows.append(('bpf/native', 'case', 'unit', a, b, ''))
    for metric in ('dispatch_insns', 'dispatch_wall'):
        for op in ('empty', 'trivial'):
            for suffix in ('', '/stats'):
                case = 'bpf/%s%s' % (op, suffix)
                native = (metric, 'native/' + op)
                cols = [ratio(med(data[n].get((metric, case))),
                              med(data[n].get(native))) for n in names]
                rows.append((metric, case + ' vs native/' + op, 'ratio',
                             cols[0], cols[1], ''))
    for metric in ('e2e_insns', 'e2e_wall'):
        cols = [ratio(med(data[n].get((metric, 'bpf_cubic'))),
                      med(data[n].get((metric, 'cubic')))) for n in names]
        rows.append((metric, 'bpf_cubic vs cubic', 'ratio', cols[0], cols[1], ''))

    widths = [max(len(str(r[i])) for r in rows) for i in range(6)]
    for r in rows:
        print('  '.join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    print('\ninsns: guest instructions counted by the TCG plugin (exact);'
          ' *_wall: emulated time under TCG, median [min..max];'
          ' last column: %s divided by %s' % (b, a))

    with open(args.json, 'w') as f:
        json.dump({n: {'%s %s' % k: v for k, v in data[n].items()}
                   for n in names}, f, indent=1, sort_keys=True)
    print('JSON: %s' % args.json)


if __name__ == '__main__':
    main()
