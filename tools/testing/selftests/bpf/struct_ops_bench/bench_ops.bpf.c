// SPDX-License-Identifier: GPL-2.0
/*
 * BPF implementations of the benchmark's struct_ops types: the same empty
 * and trivial bodies as the module's native ones.  The runner loads this
 * object for its programs and builds the maps it measures itself.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bench_ops.h"

char _license[] SEC("license") = "GPL";

SEC("struct_ops")
void BPF_PROG(bench_empty)
{
}

SEC("struct_ops")
u64 BPF_PROG(bench_trivial, u64 x)
{
	return x + 1;
}

/* The dispatch targets of the map opsx besides empty and trivial */
SEC("struct_ops.s")
u64 BPF_PROG(bench_sleepable, u64 x)
{
	return x + 1;
}

SEC("struct_ops")
u64 BPF_PROG(bench_helper, u64 x)
{
	return x + bpf_get_prandom_u32();
}

/*
 * One program per member of every type (a program is loaded for one slot),
 * all with the trivial body.
 */
#define BENCH_PROG(name)	SEC("struct_ops") u64 BPF_PROG(name, u64 x)

BENCH_PROG(bench1_op0) { return x + 1; }
BENCH_PROG(bench_op2) { return x + 1; }
BENCH_PROG(bench_op3) { return x + 1; }
BENCH_PROG(bench_op4) { return x + 1; }
BENCH_PROG(bench_op5) { return x + 1; }
BENCH_PROG(bench_op6) { return x + 1; }
BENCH_PROG(bench_op7) { return x + 1; }
BENCH_PROG(bench_op8) { return x + 1; }
BENCH_PROG(bench_op9) { return x + 1; }
BENCH_PROG(bench40_op0) { return x + 1; }
BENCH_PROG(bench40_op1) { return x + 1; }
BENCH_PROG(bench40_op2) { return x + 1; }
BENCH_PROG(bench40_op3) { return x + 1; }
BENCH_PROG(bench40_op4) { return x + 1; }
BENCH_PROG(bench40_op5) { return x + 1; }
BENCH_PROG(bench40_op6) { return x + 1; }
BENCH_PROG(bench40_op7) { return x + 1; }
BENCH_PROG(bench40_op8) { return x + 1; }
BENCH_PROG(bench40_op9) { return x + 1; }
BENCH_PROG(bench40_op10) { return x + 1; }
BENCH_PROG(bench40_op11) { return x + 1; }
BENCH_PROG(bench40_op12) { return x + 1; }
BENCH_PROG(bench40_op13) { return x + 1; }
BENCH_PROG(bench40_op14) { return x + 1; }
BENCH_PROG(bench40_op15) { return x + 1; }
BENCH_PROG(bench40_op16) { return x + 1; }
BENCH_PROG(bench40_op17) { return x + 1; }
BENCH_PROG(bench40_op18) { return x + 1; }
BENCH_PROG(bench40_op19) { return x + 1; }
BENCH_PROG(bench40_op20) { return x + 1; }
BENCH_PROG(bench40_op21) { return x + 1; }
BENCH_PROG(bench40_op22) { return x + 1; }
BENCH_PROG(bench40_op23) { return x + 1; }
BENCH_PROG(bench40_op24) { return x + 1; }
BENCH_PROG(bench40_op25) { return x + 1; }
BENCH_PROG(bench40_op26) { return x + 1; }
BENCH_PROG(bench40_op27) { return x + 1; }
BENCH_PROG(bench40_op28) { return x + 1; }
BENCH_PROG(bench40_op29) { return x + 1; }
BENCH_PROG(bench40_op30) { return x + 1; }
BENCH_PROG(bench40_op31) { return x + 1; }
BENCH_PROG(bench40_op32) { return x + 1; }
BENCH_PROG(bench40_op33) { return x + 1; }
BENCH_PROG(bench40_op34) { return x + 1; }
BENCH_PROG(bench40_op35) { return x + 1; }
BENCH_PROG(bench40_op36) { return x + 1; }
BENCH_PROG(bench40_op37) { return x + 1; }
BENCH_PROG(bench40_op38) { return x + 1; }
BENCH_PROG(bench40_op39) { return x + 1; }

SEC(".struct_ops.link")
struct bench_ops1 ops1 = {
	.op0 = (void *)bench1_op0,
};

SEC(".struct_ops.link")
struct bench_ops ops10 = {
	.empty = (void *)bench_empty,
	.trivial = (void *)bench_trivial,
	.op2 = (void *)bench_op2,
	.op3 = (void *)bench_op3,
	.op4 = (void *)bench_op4,
	.op5 = (void *)bench_op5,
	.op6 = (void *)bench_op6,
	.op7 = (void *)bench_op7,
	.op8 = (void *)bench_op8,
	.op9 = (void *)bench_op9,
};

/* The map a BPF_LINK_UPDATE switches to: only the dispatch targets */
SEC(".struct_ops.link")
struct bench_ops ops10_b = {
	.empty = (void *)bench_empty,
	.trivial = (void *)bench_trivial,
};

/*
 * The map of the dispatch runs: one trampoline of each kind, in the order
 * the layout read-out measures them (each one's length is the distance to
 * the next): no argument, one, sleepable, calling a helper.
 */
SEC(".struct_ops.link")
struct bench_ops opsx = {
	.empty = (void *)bench_empty,
	.trivial = (void *)bench_trivial,
	.op2 = (void *)bench_sleepable,
	.op3 = (void *)bench_helper,
	.op4 = (void *)bench_op4,
};

SEC(".struct_ops.link")
struct bench_ops40 ops40 = {
	.op0 = (void *)bench40_op0,
	.op1 = (void *)bench40_op1,
	.op2 = (void *)bench40_op2,
	.op3 = (void *)bench40_op3,
	.op4 = (void *)bench40_op4,
	.op5 = (void *)bench40_op5,
	.op6 = (void *)bench40_op6,
	.op7 = (void *)bench40_op7,
	.op8 = (void *)bench40_op8,
	.op9 = (void *)bench40_op9,
	.op10 = (void *)bench40_op10,
	.op11 = (void *)bench40_op11,
	.op12 = (void *)bench40_op12,
	.op13 = (void *)bench40_op13,
	.op14 = (void *)bench40_op14,
	.op15 = (void *)bench40_op15,
	.op16 = (void *)bench40_op16,
	.op17 = (void *)bench40_op17,
	.op18 = (void *)bench40_op18,
	.op19 = (void *)bench40_op19,
	.op20 = (void *)bench40_op20,
	.op21 = (void *)bench40_op21,
	.op22 = (void *)bench40_op22,
	.op23 = (void *)bench40_op23,
	.op24 = (void *)bench40_op24,
	.op25 = (void *)bench40_op25,
	.op26 = (void *)bench40_op26,
	.op27 = (void *)bench40_op27,
	.op28 = (void *)bench40_op28,
	.op29 = (void *)bench40_op29,
	.op30 = (void *)bench40_op30,
	.op31 = (void *)bench40_op31,
	.op32 = (void *)bench40_op32,
	.op33 = (void *)bench40_op33,
	.op34 = (void *)bench40_op34,
	.op35 = (void *)bench40_op35,
	.op36 = (void *)bench40_op36,
	.op37 = (void *)bench40_op37,
	.op38 = (void *)bench40_op38,
	.op39 = (void *)bench40_op39,
};
