// SPDX-License-Identifier: GPL-2.0
/*
 * Progs for struct_ops_pages and struct_ops_fail_nth.  The tests build
 * their own maps around them with raw bpf() calls, putting the prog
 * named <prefix><member> into each member; the maps below tell libbpf
 * what the progs attach to, and pg_ops is also attached as it is.
 *
 *   fi_*  - tcp_congestion_ops
 *   fi2_* - bpf_testmod_ops2, one member
 *   pg_*  - bpf_testmod_ops: test_2 and the 40 tramp_N members, which
 *	     take two trampoline pages
 *   big_* - bpf_testmod_big_ops: 64 members of 12 arguments, attached
 *	     as they are
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "../bpf_testmod/bpf_testmod.h"

char _license[] SEC("license") = "GPL";

/* tcp_congestion_ops: the bare minimum a congestion control must have */
SEC("struct_ops")
__u32 BPF_PROG(fi_ssthresh, struct sock *sk)
{
	return 2;
}

SEC("struct_ops")
void BPF_PROG(fi_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops")
__u32 BPF_PROG(fi_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops fi_tcp = {
	.ssthresh	= (void *)fi_ssthresh,
	.cong_avoid	= (void *)fi_cong_avoid,
	.undo_cwnd	= (void *)fi_undo_cwnd,
	.name		= "fi_tmpl",
};

/* bpf_testmod_ops2: ->reg() calls test_1 once */
unsigned int fi2_calls;

SEC("struct_ops")
int BPF_PROG(fi2_test_1)
{
	__sync_fetch_and_add(&fi2_calls, 1);
	return 0;
}

SEC(".struct_ops")
struct bpf_testmod_ops2 fi2_ops = {
	.test_1 = (void *)fi2_test_1,
};

/*
 * bpf_testmod_ops: ->reg() calls test_2(N, tramp_N(N)) for each tramp_N,
 * then test_2(4, data).  pg_a[] and pg_b[] log the calls in order.
 */
#define PG_MAX_CALLS	64

int pg_a[PG_MAX_CALLS];
int pg_b[PG_MAX_CALLS];
unsigned int pg_nr_calls;

SEC("struct_ops")
void BPF_PROG(pg_test_2, int a, int b)
{
	unsigned int n = pg_nr_calls;

	if (n < PG_MAX_CALLS) {
		pg_a[n] = a;
		pg_b[n] = b;
	}
	pg_nr_calls = n + 1;
}

/* tramp_N answers N in the second byte and its argument in the first */
#define PG_TRAMP(N)					\
	SEC("struct_ops")				\
	int BPF_PROG(pg_tramp_##N, int value)		\
	{						\
		return (N) << 8 | (value & 0xff);	\
	}

PG_TRAMP(1)
PG_TRAMP(2)
PG_TRAMP(3)
PG_TRAMP(4)
PG_TRAMP(5)
PG_TRAMP(6)
PG_TRAMP(7)
PG_TRAMP(8)
PG_TRAMP(9)
PG_TRAMP(10)
PG_TRAMP(11)
PG_TRAMP(12)
PG_TRAMP(13)
PG_TRAMP(14)
PG_TRAMP(15)
PG_TRAMP(16)
PG_TRAMP(17)
PG_TRAMP(18)
PG_TRAMP(19)
PG_TRAMP(20)
PG_TRAMP(21)
PG_TRAMP(22)
PG_TRAMP(23)
PG_TRAMP(24)
PG_TRAMP(25)
PG_TRAMP(26)
PG_TRAMP(27)
PG_TRAMP(28)
PG_TRAMP(29)
PG_TRAMP(30)
PG_TRAMP(31)
PG_TRAMP(32)
PG_TRAMP(33)
PG_TRAMP(34)
PG_TRAMP(35)
PG_TRAMP(36)
PG_TRAMP(37)
PG_TRAMP(38)
PG_TRAMP(39)
PG_TRAMP(40)

SEC(".struct_ops.link")
struct bpf_testmod_ops pg_ops = {
	.test_2		= (void *)pg_test_2,
	.data		= 13,
	.tramp_1	= (void *)pg_tramp_1,
	.tramp_2	= (void *)pg_tramp_2,
	.tramp_3	= (void *)pg_tramp_3,
	.tramp_4	= (void *)pg_tramp_4,
	.tramp_5	= (void *)pg_tramp_5,
	.tramp_6	= (void *)pg_tramp_6,
	.tramp_7	= (void *)pg_tramp_7,
	.tramp_8	= (void *)pg_tramp_8,
	.tramp_9	= (void *)pg_tramp_9,
	.tramp_10	= (void *)pg_tramp_10,
	.tramp_11	= (void *)pg_tramp_11,
	.tramp_12	= (void *)pg_tramp_12,
	.tramp_13	= (void *)pg_tramp_13,
	.tramp_14	= (void *)pg_tramp_14,
	.tramp_15	= (void *)pg_tramp_15,
	.tramp_16	= (void *)pg_tramp_16,
	.tramp_17	= (void *)pg_tramp_17,
	.tramp_18	= (void *)pg_tramp_18,
	.tramp_19	= (void *)pg_tramp_19,
	.tramp_20	= (void *)pg_tramp_20,
	.tramp_21	= (void *)pg_tramp_21,
	.tramp_22	= (void *)pg_tramp_22,
	.tramp_23	= (void *)pg_tramp_23,
	.tramp_24	= (void *)pg_tramp_24,
	.tramp_25	= (void *)pg_tramp_25,
	.tramp_26	= (void *)pg_tramp_26,
	.tramp_27	= (void *)pg_tramp_27,
	.tramp_28	= (void *)pg_tramp_28,
	.tramp_29	= (void *)pg_tramp_29,
	.tramp_30	= (void *)pg_tramp_30,
	.tramp_31	= (void *)pg_tramp_31,
	.tramp_32	= (void *)pg_tramp_32,
	.tramp_33	= (void *)pg_tramp_33,
	.tramp_34	= (void *)pg_tramp_34,
	.tramp_35	= (void *)pg_tramp_35,
	.tramp_36	= (void *)pg_tramp_36,
	.tramp_37	= (void *)pg_tramp_37,
	.tramp_38	= (void *)pg_tramp_38,
	.tramp_39	= (void *)pg_tramp_39,
	.tramp_40	= (void *)pg_tramp_40,
};

/*
 * bpf_testmod_big_ops: 64 members of 12 arguments.  big_N answers the
 * sum of each a_i << 4i, plus N; ->reg() checks it for every member.
 */
#define BIG(N)								\
	SEC("struct_ops")						\
	__u64 BPF_PROG(big_##N, __u64 a1, __u64 a2, __u64 a3, __u64 a4,	\
		       __u64 a5, __u64 a6, __u64 a7, __u64 a8, __u64 a9,	\
		       __u64 a10, __u64 a11, __u64 a12)			\
	{								\
		return (N) + (a1 << 4) + (a2 << 8) + (a3 << 12) +	\
		       (a4 << 16) + (a5 << 20) + (a6 << 24) +		\
		       (a7 << 28) + (a8 << 32) + (a9 << 36) +		\
		       (a10 << 40) + (a11 << 44) + (a12 << 48);		\
	}

BIG(1)
BIG(2)
BIG(3)
BIG(4)
BIG(5)
BIG(6)
BIG(7)
BIG(8)
BIG(9)
BIG(10)
BIG(11)
BIG(12)
BIG(13)
BIG(14)
BIG(15)
BIG(16)
BIG(17)
BIG(18)
BIG(19)
BIG(20)
BIG(21)
BIG(22)
BIG(23)
BIG(24)
BIG(25)
BIG(26)
BIG(27)
BIG(28)
BIG(29)
BIG(30)
BIG(31)
BIG(32)
BIG(33)
BIG(34)
BIG(35)
BIG(36)
BIG(37)
BIG(38)
BIG(39)
BIG(40)
BIG(41)
BIG(42)
BIG(43)
BIG(44)
BIG(45)
BIG(46)
BIG(47)
BIG(48)
BIG(49)
BIG(50)
BIG(51)
BIG(52)
BIG(53)
BIG(54)
BIG(55)
BIG(56)
BIG(57)
BIG(58)
BIG(59)
BIG(60)
BIG(61)
BIG(62)
BIG(63)
BIG(64)

SEC(".struct_ops.link")
struct bpf_testmod_big_ops big_ops = {
	.big_1	= (void *)big_1,
	.big_2	= (void *)big_2,
	.big_3	= (void *)big_3,
	.big_4	= (void *)big_4,
	.big_5	= (void *)big_5,
	.big_6	= (void *)big_6,
	.big_7	= (void *)big_7,
	.big_8	= (void *)big_8,
	.big_9	= (void *)big_9,
	.big_10	= (void *)big_10,
	.big_11	= (void *)big_11,
	.big_12	= (void *)big_12,
	.big_13	= (void *)big_13,
	.big_14	= (void *)big_14,
	.big_15	= (void *)big_15,
	.big_16	= (void *)big_16,
	.big_17	= (void *)big_17,
	.big_18	= (void *)big_18,
	.big_19	= (void *)big_19,
	.big_20	= (void *)big_20,
	.big_21	= (void *)big_21,
	.big_22	= (void *)big_22,
	.big_23	= (void *)big_23,
	.big_24	= (void *)big_24,
	.big_25	= (void *)big_25,
	.big_26	= (void *)big_26,
	.big_27	= (void *)big_27,
	.big_28	= (void *)big_28,
	.big_29	= (void *)big_29,
	.big_30	= (void *)big_30,
	.big_31	= (void *)big_31,
	.big_32	= (void *)big_32,
	.big_33	= (void *)big_33,
	.big_34	= (void *)big_34,
	.big_35	= (void *)big_35,
	.big_36	= (void *)big_36,
	.big_37	= (void *)big_37,
	.big_38	= (void *)big_38,
	.big_39	= (void *)big_39,
	.big_40	= (void *)big_40,
	.big_41	= (void *)big_41,
	.big_42	= (void *)big_42,
	.big_43	= (void *)big_43,
	.big_44	= (void *)big_44,
	.big_45	= (void *)big_45,
	.big_46	= (void *)big_46,
	.big_47	= (void *)big_47,
	.big_48	= (void *)big_48,
	.big_49	= (void *)big_49,
	.big_50	= (void *)big_50,
	.big_51	= (void *)big_51,
	.big_52	= (void *)big_52,
	.big_53	= (void *)big_53,
	.big_54	= (void *)big_54,
	.big_55	= (void *)big_55,
	.big_56	= (void *)big_56,
	.big_57	= (void *)big_57,
	.big_58	= (void *)big_58,
	.big_59	= (void *)big_59,
	.big_60	= (void *)big_60,
	.big_61	= (void *)big_61,
	.big_62	= (void *)big_62,
	.big_63	= (void *)big_63,
	.big_64	= (void *)big_64,
};
