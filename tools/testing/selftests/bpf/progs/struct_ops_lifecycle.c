// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_congestion_ops progs for struct_ops_lifecycle and
 * struct_ops_jit_charge.  The tests build their own maps around them with
 * raw bpf() calls; lc_tmpl is only here so that libbpf knows what the
 * progs attach to.  Reno does the work.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

int nr_init;
int nr_cong_avoid;

SEC("struct_ops")
__u32 BPF_PROG(lc_ssthresh, struct sock *sk)
{
	return tcp_reno_ssthresh(sk);
}

SEC("struct_ops")
void BPF_PROG(lc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	__sync_fetch_and_add(&nr_cong_avoid, 1);
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops")
__u32 BPF_PROG(lc_undo_cwnd, struct sock *sk)
{
	return tcp_reno_undo_cwnd(sk);
}

SEC("struct_ops")
void BPF_PROG(lc_init, struct sock *sk)
{
	__sync_fetch_and_add(&nr_init, 1);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops lc_tmpl = {
	.ssthresh	= (void *)lc_ssthresh,
	.cong_avoid	= (void *)lc_cong_avoid,
	.undo_cwnd	= (void *)lc_undo_cwnd,
	.init		= (void *)lc_init,
	.name		= "lc_tmpl",
};
