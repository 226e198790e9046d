// SPDX-License-Identifier: GPL-2.0
/*
 * SCX kfuncs from progs that are not sched_ext_ops progs.  Each program
 * is loaded on its own by prog_tests/struct_ops_ident.c (autoload off).
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

void scx_bpf_kick_cpu(s32 cpu, u64 flags) __ksym;

/* A tcp_congestion_ops prog may not call it. */
SEC("?struct_ops")
__u32 BPF_PROG(tcp_ssthresh, struct sock *sk)
{
	scx_bpf_kick_cpu(0, 0);
	return 2;
}

SEC("?struct_ops")
void BPF_PROG(tcp_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("?struct_ops")
__u32 BPF_PROG(tcp_undo_cwnd, struct sock *sk)
{
	return 2;
}

SEC("?.struct_ops")
struct tcp_congestion_ops ident_tcp = {
	.ssthresh	= (void *)tcp_ssthresh,
	.cong_avoid	= (void *)tcp_cong_avoid,
	.undo_cwnd	= (void *)tcp_undo_cwnd,
	.name		= "ident_tcp",
};

/* A sched_ext_ops prog may. */
SEC("?struct_ops")
s32 BPF_PROG(scx_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	scx_bpf_kick_cpu(prev_cpu, 0);
	return prev_cpu;
}

SEC("?.struct_ops")
struct sched_ext_ops ident_scx = {
	.select_cpu	= (void *)scx_select_cpu,
	.name		= "ident_scx",
};

/* So may a syscall prog, as before. */
SEC("?syscall")
int syscall_kick(void *ctx)
{
	scx_bpf_kick_cpu(0, 0);
	return 0;
}
