// SPDX-License-Identifier: GPL-2.0
/*
 * The progs of prog_tests/struct_ops_tramp.c: probe, what a struct_ops prog
 * sees of the task it runs on, from whichever context bpf_testmod calls
 * it; wide, a member with more arguments than registers.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "../bpf_testmod/bpf_testmod.h"
#include "struct_ops_tramp.h"

char _license[] SEC("license") = "GPL";

extern int bpf_kfunc_st_ops_stack(__u64 *stack, __u32 stack__sz) __ksym;

/* Set by the test */
int want_stack;
__u32 loops;

/* For the test */
__u64 stack[TRAMP_STACK_DEPTH];
int stack_len;

static int same_cpu(__u32 i, void *ctx)
{
	int *cpu = ctx;

	if (bpf_get_smp_processor_id() == *cpu)
		return 0;
	*cpu = -1;
	return 1;
}

SEC("struct_ops")
int BPF_PROG(probe, int where, int migration_disabled, int rcu_nesting)
{
	struct task_struct *t = bpf_get_current_task_btf();
	int seen = 0, cpu;

	if (t->migration_disabled == migration_disabled + 1)
		seen |= SEEN_MIGRATION;
	if (t->rcu_read_lock_nesting == rcu_nesting + 1)
		seen |= SEEN_RCU;
	if (t->bpf_ctx)
		seen |= SEEN_RUN_CTX;
	if (want_stack)
		stack_len = bpf_kfunc_st_ops_stack(stack, sizeof(stack));
	if (loops) {
		cpu = bpf_get_smp_processor_id();
		bpf_loop(loops, same_cpu, &cpu, 0);
		if (cpu < 0)
			seen |= SEEN_MOVED;
	}
	return seen;
}

SEC(".struct_ops.link")
struct bpf_testmod_ctx_ops ctx_ops = {
	.probe = (void *)probe,
};

/*
 * Twelve arguments, more than the registers: the generic trampoline's.
 * bpf_testmod_big_ops's ->reg() passes big_1 the arguments 101..112 and
 * expects 1 + the sum of each a_i << 4i back.
 */
SEC("struct_ops")
__u64 BPF_PROG(wide, __u64 a1, __u64 a2, __u64 a3, __u64 a4, __u64 a5,
	       __u64 a6, __u64 a7, __u64 a8, __u64 a9, __u64 a10, __u64 a11,
	       __u64 a12)
{
	__u64 args[] = { a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12 };
	__u64 sum = 1;
	int i;

	for (i = 0; i < 12; i++)
		sum += args[i] << (4 * (i + 1));
	return sum;
}

SEC(".struct_ops.link")
struct bpf_testmod_big_ops wide_ops = {
	.big_1 = (void *)wide,
};
