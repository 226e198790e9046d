// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops map ids and prog association, with bpf_testmod_multi_st_ops:
 * four maps (a, b, and c and d sharing one prog), syscall progs calling
 * test_1 by map id or through their association, and a test_1 that arms
 * a timer whose callback keeps calling test_1 of its own map.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "../bpf_testmod/bpf_testmod.h"
#include "../bpf_testmod/bpf_testmod_kfunc.h"
#include "struct_ops_ident.h"

char _license[] SEC("license") = "GPL";

#define CLOCK_MONOTONIC 1

/* What each test_1 got from its own association, when asked (ask_self) */
int ask_self;
int self_a, self_b, self_c;

/* Ask once, not from the nested call the asking makes. */
static int self_assoc(int *res)
{
	if (ask_self) {
		ask_self = 0;
		*res = bpf_kfunc_multi_st_ops_test_1_impl(&(struct st_ops_args){}, NULL);
	}
	return 0;
}

SEC("struct_ops")
int BPF_PROG(test_1_a, struct st_ops_args *args)
{
	self_assoc(&self_a);
	return IDENT_MAGIC_A;
}

SEC("struct_ops")
int BPF_PROG(test_1_b, struct st_ops_args *args)
{
	self_assoc(&self_b);
	return IDENT_MAGIC_B;
}

/* In map_c and map_d: associated with neither */
SEC("struct_ops")
int BPF_PROG(test_1_shared, struct st_ops_args *args)
{
	self_assoc(&self_c);
	return IDENT_MAGIC_C;
}

SEC(".struct_ops.link")
struct bpf_testmod_multi_st_ops map_a = {
	.test_1 = (void *)test_1_a,
};

SEC(".struct_ops.link")
struct bpf_testmod_multi_st_ops map_b = {
	.test_1 = (void *)test_1_b,
};

SEC(".struct_ops.link")
struct bpf_testmod_multi_st_ops map_c = {
	.test_1 = (void *)test_1_shared,
};

SEC(".struct_ops.link")
struct bpf_testmod_multi_st_ops map_d = {
	.test_1 = (void *)test_1_shared,
};

/* test_1 of the map with id call_id */
u32 call_id;

SEC("syscall")
int call_by_id(void *ctx)
{
	return bpf_kfunc_multi_st_ops_test_1(&(struct st_ops_args){}, call_id);
}

/* test_1 of the map the prog is associated with: two progs to associate */
SEC("syscall")
int call_assoc(void *ctx)
{
	return bpf_kfunc_multi_st_ops_test_1_impl(&(struct st_ops_args){}, NULL);
}

SEC("syscall")
int call_assoc2(void *ctx)
{
	return bpf_kfunc_multi_st_ops_test_1_impl(&(struct st_ops_args){}, NULL);
}

/*
 * map_t: its test_1 arms the timer when arm is set; the callback calls
 * test_1 of test_1_t's map every timer_ns until it gets IDENT_NONE or has
 * done timer_max calls.
 */
struct timer_elem {
	struct bpf_timer timer;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, struct timer_elem);
} timers SEC(".maps");

int arm;
u64 timer_ns;
int timer_max;
int timer_magic;	/* calls that reached map_t */
int timer_none;		/* calls that found no map */
int timer_other;	/* any other answer, or map_t again after none */
int timer_done;

static int timer_cb(void *map, int *key, struct timer_elem *e)
{
	int ret = bpf_kfunc_multi_st_ops_test_1_impl(&(struct st_ops_args){}, NULL);

	if (ret == IDENT_MAGIC_T && !timer_none)
		timer_magic++;
	else if (ret == IDENT_NONE)
		timer_none++;
	else
		timer_other++;

	if (ret != IDENT_MAGIC_T || timer_magic >= timer_max) {
		timer_done = 1;
		return 0;
	}
	bpf_timer_start(&e->timer, timer_ns, 0);
	return 0;
}

SEC("struct_ops")
int BPF_PROG(test_1_t, struct st_ops_args *args)
{
	struct timer_elem *e;
	int key = 0;

	if (!arm)
		return IDENT_MAGIC_T;
	arm = 0;
	e = bpf_map_lookup_elem(&timers, &key);
	if (!e)
		return 0;
	if (bpf_timer_init(&e->timer, &timers, CLOCK_MONOTONIC) ||
	    bpf_timer_set_callback(&e->timer, timer_cb) ||
	    bpf_timer_start(&e->timer, timer_ns, 0))
		return 0;
	return IDENT_MAGIC_T;
}

SEC(".struct_ops.link")
struct bpf_testmod_multi_st_ops map_t = {
	.test_1 = (void *)test_1_t,
};
