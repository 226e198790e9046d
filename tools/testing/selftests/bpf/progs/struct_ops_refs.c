// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops progs that receive a referenced kptr through a "__ref"
 * argument or return one, for prog_tests/struct_ops_refs.c.  Every prog
 * and map is off by default; the test turns on one map at a time.
 *
 * bpf_testmod_ops' ->reg() calls test_refcounted, test_refcounted_multi
 * (with NULL for the __nullable argument) and test_return_ref_kptr (with
 * dummy 0, then 1), each with a reference to the attaching thread, and
 * fails the attach unless every reference came back.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bpf_experimental.h"
#include "../bpf_testmod/bpf_testmod.h"

char _license[] SEC("license") = "GPL";

void bpf_task_release(struct task_struct *p) __ksym;
struct cgroup *bpf_cgroup_acquire(struct cgroup *p) __ksym;

/* What the accepted progs saw */
int ref_pid, ref_calls;
int loop_pid, loop_iters;
int multi_pid, multi_null;
int ret_calls, ret_handed_back;

/* ---- accepted ---- */

SEC("?struct_ops/test_refcounted")
int BPF_PROG(ref_release, int dummy, struct task_struct *task)
{
	ref_pid = task->pid;
	ref_calls++;
	bpf_task_release(task);
	return 0;
}

static int count_iter(u32 i, void *ctx)
{
	loop_iters++;
	return 0;
}

/* The reference is still held, and the task readable, after bpf_loop(). */
SEC("?struct_ops/test_refcounted")
int BPF_PROG(ref_across_loop, int dummy, struct task_struct *task)
{
	bpf_loop(3, count_iter, NULL, 0);
	loop_pid = task->pid;
	bpf_task_release(task);
	return 0;
}

/* __nullable second argument, __ref third one */
SEC("?struct_ops/test_refcounted_multi")
int BPF_PROG(ref_multi, int dummy, struct task_struct *maybe, struct task_struct *task)
{
	if (!maybe)
		multi_null++;
	multi_pid = task->pid;
	bpf_task_release(task);
	return 0;
}

/* Odd dummy: release and return NULL; even: hand the reference back. */
SEC("?struct_ops/test_return_ref_kptr")
struct task_struct *BPF_PROG(ret_task, int dummy, struct task_struct *task,
			     struct cgroup *cgrp)
{
	ret_calls++;
	if (dummy & 1) {
		bpf_task_release(task);
		return NULL;
	}
	ret_handed_back++;
	return task;
}

SEC("?.struct_ops.link")
struct bpf_testmod_ops refs_ok = {
	.test_refcounted = (void *)ref_release,
	.test_refcounted_multi = (void *)ref_multi,
	.test_return_ref_kptr = (void *)ret_task,
};

SEC("?.struct_ops.link")
struct bpf_testmod_ops refs_loop = {
	.test_refcounted = (void *)ref_across_loop,
};

/* ---- refused: __ref arguments ---- */

SEC("?struct_ops/test_refcounted")
int BPF_PROG(ref_leak, int dummy, struct task_struct *task)
{
	return task->pid;
}

SEC("?.struct_ops.link")
struct bpf_testmod_ops refs_leak = {
	.test_refcounted = (void *)ref_leak,
};

SEC("?struct_ops/test_refcounted")
int ref_reread(unsigned long long *ctx)
{
	struct task_struct *task = (void *)ctx[1];

	bpf_task_release(task);
	/* The second load must reach the verifier. */
	barrier();
	task = (void *)ctx[1];
	return task->pid;
}

SEC("?.struct_ops.link")
struct bpf_testmod_ops refs_reread = {
	.test_refcounted = (void *)ref_reread,
};

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} jmp_table SEC(".maps");

/* The tail call is in a static subprog, not in the prog's own body. */
static __noinline int jump(unsigned long long *ctx)
{
	bpf_tail_call_static(ctx, &jmp_table, 0);
	return 0;
}

SEC("?struct_ops/test_refcounted_multi")
int ref_tail_call(unsigned long long *ctx)
{
	bpf_task_release((void *)ctx[2]);
	return jump(ctx);
}

SEC("?.struct_ops.link")
struct bpf_testmod_ops refs_tail_call = {
	.test_refcounted_multi = (void *)ref_tail_call,
};

/* A global subprog is verified on its own and holds no reference. */
__noinline int read_third(unsigned long long *ctx __arg_ctx)
{
	struct task_struct *task = (void *)ctx[2];

	return task ? task->pid : 0;
}

SEC("?struct_ops/test_refcounted_multi")
int ref_global_subprog(unsigned long long *ctx)
{
	bpf_task_release((void *)ctx[2]);
	return read_third(ctx);
}

SEC("?.struct_ops.link")
struct bpf_testmod_ops refs_global_subprog = {
	.test_refcounted_multi = (void *)ref_global_subprog,
};

/* The __nullable argument is not a reference the prog owns. */
SEC("?struct_ops/test_refcounted_multi")
int BPF_PROG(ref_release_nullable, int dummy, struct task_struct *maybe,
	     struct task_struct *task)
{
	if (maybe)
		bpf_task_release(maybe);
	bpf_task_release(task);
	return 0;
}

SEC("?.struct_ops.link")
struct bpf_testmod_ops refs_release_nullable = {
	.test_refcounted_multi = (void *)ref_release_nullable,
};

/* ---- refused: returned kptrs ---- */

SEC("?struct_ops/test_return_ref_kptr")
struct task_struct *BPF_PROG(ret_cgroup, int dummy, struct task_struct *task,
			     struct cgroup *cgrp)
{
	bpf_task_release(task);
	return (void *)bpf_cgroup_acquire(cgrp);
}

SEC("?.struct_ops.link")
struct bpf_testmod_ops ret_wrong_type = {
	.test_return_ref_kptr = (void *)ret_cgroup,
};

SEC("?struct_ops/test_return_ref_kptr")
struct task_struct *BPF_PROG(ret_one, int dummy, struct task_struct *task,
			     struct cgroup *cgrp)
{
	bpf_task_release(task);
	return (void *)1;
}

SEC("?.struct_ops.link")
struct bpf_testmod_ops ret_scalar = {
	.test_return_ref_kptr = (void *)ret_one,
};

SEC("?struct_ops/test_return_ref_kptr")
struct task_struct *BPF_PROG(ret_field, int dummy, struct task_struct *task,
			     struct cgroup *cgrp)
{
	return (void *)&task->jobctl;
}

SEC("?.struct_ops.link")
struct bpf_testmod_ops ret_offset = {
	.test_return_ref_kptr = (void *)ret_field,
};

SEC("?struct_ops/test_return_ref_kptr")
struct task_struct *BPF_PROG(ret_local, int dummy, struct task_struct *task,
			     struct cgroup *cgrp)
{
	bpf_task_release(task);
	return bpf_obj_new(struct task_struct);
}

SEC("?.struct_ops.link")
struct bpf_testmod_ops ret_local_kptr = {
	.test_return_ref_kptr = (void *)ret_local,
};

/* Trusted, of the right type, but not a reference the prog holds */
SEC("?struct_ops/test_return_ref_kptr")
struct task_struct *BPF_PROG(ret_current, int dummy, struct task_struct *task,
			     struct cgroup *cgrp)
{
	bpf_task_release(task);
	return bpf_get_current_task_btf();
}

SEC("?.struct_ops.link")
struct bpf_testmod_ops ret_unreferenced = {
	.test_return_ref_kptr = (void *)ret_current,
};
