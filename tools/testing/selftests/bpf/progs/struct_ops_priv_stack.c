// SPDX-License-Identifier: GPL-2.0
/*
 * bpf_testmod_ops3 progs for prog_tests/struct_ops_priv_stack.c.  test_1
 * progs run on a private stack (the type asks for it in check_member);
 * test_2 progs on the kernel stack.  Each map is off by default.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "../bpf_testmod/bpf_testmod.h"

char _license[] SEC("license") = "GPL";

void bpf_testmod_ops3_call_test_1(void) __weak __ksym;
void bpf_testmod_ops3_call_test_2(void) __weak __ksym;

#define WORDS	64	/* 256 bytes of frame per function */

int seed;
int deep_result, deep_calls;
int recur_calls, recur_inner_calls;

/* Reads through a pointer keep the callers' arrays in their frames. */
static __noinline int pick(int *words, int i)
{
	return words[i & (WORDS - 1)];
}

/*
 * Three frames of at least 256 bytes each, all live at once: 768 bytes,
 * more than the 512 the kernel stack allows for a call chain.  With seed
 * s the chain returns 6 * s.
 */
static __noinline int deep_leaf(int *a, int *b)
{
	int c[WORDS] = {};

	c[seed & (WORDS - 1)] = a[1] + b[2];
	return pick(c, seed) + a[1];
}

static __noinline int deep_mid(int *a)
{
	int b[WORDS] = {};

	b[2] = a[1] * 2;
	return deep_leaf(a, b) + b[2];
}

static __always_inline int deep_chain(void)
{
	int a[WORDS] = {};

	a[1] = seed;
	return deep_mid(a);
}

SEC("?struct_ops")
int BPF_PROG(deep_on_priv_stack)
{
	deep_calls++;
	deep_result = deep_chain();
	return 0;
}

/* The same chain from test_2, on the kernel stack: does not load. */
SEC("?struct_ops")
int BPF_PROG(deep_on_kernel_stack)
{
	deep_result = deep_chain();
	return 0;
}

SEC("?.struct_ops.link")
struct bpf_testmod_ops3 ps_deep = {
	.test_1 = (void *)deep_on_priv_stack,
};

SEC("?.struct_ops.link")
struct bpf_testmod_ops3 ps_deep_kernel_stack = {
	.test_2 = (void *)deep_on_kernel_stack,
};

/*
 * test_1 calls test_2 (another prog: runs) and test_1 (itself, nested on
 * this CPU: refused, the type's recursion_detected() counts it).
 */
SEC("?struct_ops")
int BPF_PROG(recur_outer)
{
	int frame[WORDS] = {};

	frame[seed & (WORDS - 1)] = ++recur_calls;
	bpf_testmod_ops3_call_test_2();
	bpf_testmod_ops3_call_test_1();
	return pick(frame, seed);
}

SEC("?struct_ops")
int BPF_PROG(recur_inner)
{
	recur_inner_calls++;
	return 0;
}

SEC("?.struct_ops.link")
struct bpf_testmod_ops3 ps_recur = {
	.test_1 = (void *)recur_outer,
	.test_2 = (void *)recur_inner,
};
