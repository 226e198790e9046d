// SPDX-License-Identifier: GPL-2.0
/*
 * bpf_testmod_sleep_ops for struct_ops_sleepable_free and
 * struct_ops_module_pin: slow_ops.run() is sleepable and blocks on a
 * user page that the test keeps missing (userfaultfd); fast_ops.run() is
 * not sleepable.  call_run, a syscall prog, is the caller.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "../bpf_testmod/bpf_testmod.h"

char _license[] SEC("license") = "GPL";

extern int bpf_kfunc_sleep_ops_run(int arg) __ksym;
extern int bpf_copy_from_user_str(void *dst, __u32 dst__sz,
				  const void *unsafe_ptr__ign, __u64 flags) __ksym;

__u64 uaddr;		/* user address slow_run() reads */
int run_arg;		/* what call_run passes to run() */
int slow_calls;
int fast_calls;

SEC("struct_ops.s/run")
int BPF_PROG(slow_run, int arg)
{
	char buf[4] = {};
	int n;

	slow_calls++;
	n = bpf_copy_from_user_str(buf, sizeof(buf), (const void *)uaddr, 0);
	if (n < 0)
		return n;
	return arg + n * 100 + buf[0];
}

SEC("struct_ops/run")
int BPF_PROG(fast_run, int arg)
{
	fast_calls++;
	return arg + 1;
}

SEC(".struct_ops.link")
struct bpf_testmod_sleep_ops slow_ops = {
	.run = (void *)slow_run,
};

SEC(".struct_ops.link")
struct bpf_testmod_sleep_ops fast_ops = {
	.run = (void *)fast_run,
};

SEC("syscall")
int call_run(void *ctx)
{
	return bpf_kfunc_sleep_ops_run(run_arg);
}
