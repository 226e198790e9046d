/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The struct_ops types of the struct_ops benchmark, shared by the kernel
 * module (bpf_bench_ops.c) and the BPF programs (bench_ops.bpf.c).
 *
 * bench_ops1	one member, the smallest map there is
 * bench_ops	ten members; empty and trivial are the dispatch targets
 * bench_ops40	forty members, so that the trampolines need several pages
 *
 * Every member but empty is u64 (*)(u64): the trivial body returns x + 1.
 */
#ifndef _BENCH_OPS_H
#define _BENCH_OPS_H

struct bench_ops1 {
	u64 (*op0)(u64 x);
};

struct bench_ops {
	void (*empty)(void);
	u64 (*trivial)(u64 x);
	u64 (*op2)(u64 x);
	u64 (*op3)(u64 x);
	u64 (*op4)(u64 x);
	u64 (*op5)(u64 x);
	u64 (*op6)(u64 x);
	u64 (*op7)(u64 x);
	u64 (*op8)(u64 x);
	u64 (*op9)(u64 x);
};

struct bench_ops40 {
	u64 (*op0)(u64 x);
	u64 (*op1)(u64 x);
	u64 (*op2)(u64 x);
	u64 (*op3)(u64 x);
	u64 (*op4)(u64 x);
	u64 (*op5)(u64 x);
	u64 (*op6)(u64 x);
	u64 (*op7)(u64 x);
	u64 (*op8)(u64 x);
	u64 (*op9)(u64 x);
	u64 (*op10)(u64 x);
	u64 (*op11)(u64 x);
	u64 (*op12)(u64 x);
	u64 (*op13)(u64 x);
	u64 (*op14)(u64 x);
	u64 (*op15)(u64 x);
	u64 (*op16)(u64 x);
	u64 (*op17)(u64 x);
	u64 (*op18)(u64 x);
	u64 (*op19)(u64 x);
	u64 (*op20)(u64 x);
	u64 (*op21)(u64 x);
	u64 (*op22)(u64 x);
	u64 (*op23)(u64 x);
	u64 (*op24)(u64 x);
	u64 (*op25)(u64 x);
	u64 (*op26)(u64 x);
	u64 (*op27)(u64 x);
	u64 (*op28)(u64 x);
	u64 (*op29)(u64 x);
	u64 (*op30)(u64 x);
	u64 (*op31)(u64 x);
	u64 (*op32)(u64 x);
	u64 (*op33)(u64 x);
	u64 (*op34)(u64 x);
	u64 (*op35)(u64 x);
	u64 (*op36)(u64 x);
	u64 (*op37)(u64 x);
	u64 (*op38)(u64 x);
	u64 (*op39)(u64 x);
};

/*
 * The markers the TCG instruction-count plugin watches for: a
 * "nopl disp32(%rax,%rax,1)" whose displacement names it.  It does nothing
 * on a CPU; the plugin opens a window at BENCH_MARK_START and closes it at
 * BENCH_MARK_STOP.
 */
#define BENCH_MARK_START	0x5ee1b000
#define BENCH_MARK_STOP		0x5ee1b001

#ifndef __bpf__
static inline void bench_mark_start(void)
{
	asm volatile(".byte 0x0f, 0x1f, 0x84, 0x00\n\t.long %c0"
		     : : "i" (BENCH_MARK_START) : "memory");
}

static inline void bench_mark_stop(void)
{
	asm volatile(".byte 0x0f, 0x1f, 0x84, 0x00\n\t.long %c0"
		     : : "i" (BENCH_MARK_STOP) : "memory");
}

#endif /* !__bpf__ */

#endif /* _BENCH_OPS_H */
