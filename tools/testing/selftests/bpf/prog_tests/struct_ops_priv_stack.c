// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops progs on a private stack: bpf_testmod_ops3 asks for one for
 * its test_1 progs.
 *
 * deep	    a call chain of three 256-byte frames (768 bytes) loads as a
 *	    test_1 prog and computes its value when the module calls it; the
 *	    same chain as a test_2 prog (kernel stack) does not load
 * recursion  test_1 calling test_2 runs it; test_1 calling itself on the
 *	    same CPU is refused: the prog runs once, its recursion_misses
 *	    and the type's recursion_detected() count are each one
 *
 * bpf_testmod_ops3 takes one map at a time and its counter is global:
 * serial.
 */
#include <test_progs.h>
#include "struct_ops_common.h"
#include "struct_ops_priv_stack.skel.h"

#define RECURSIONS	"/sys/module/bpf_testmod/parameters/ops3_recursions"
#define SEED		7

static int read_recursions(void)
{
	char buf[32];

	if (st_read_str(RECURSIONS, buf, sizeof(buf)))
		return -1;
	return atoi(buf);
}

/* The object with only @map_name's struct_ops map (and its progs) on */
static struct struct_ops_priv_stack *open_with(const char *map_name)
{
	struct struct_ops_priv_stack *skel;

	skel = struct_ops_priv_stack__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		return NULL;
	if (!ASSERT_OK(st_only_map(skel->obj, map_name), map_name)) {
		struct_ops_priv_stack__destroy(skel);
		return NULL;
	}
	skel->bss->seed = SEED;
	return skel;
}

static void test_deep(void)
{
	struct struct_ops_priv_stack *skel;
	struct bpf_program *prog;
	static char log[1 << 16];
	struct bpf_link *link;

	skel = open_with("ps_deep");
	if (!skel)
		return;
	if (!ASSERT_OK(struct_ops_priv_stack__load(skel), "load 768-byte chain"))
		goto out;
	link = bpf_map__attach_struct_ops(skel->maps.ps_deep);
	if (!ASSERT_OK_PTR(link, "attach"))
		goto out;
	ASSERT_OK(trigger_module_test_read(256), "trigger");
	bpf_link__destroy(link);
	ASSERT_EQ(skel->bss->deep_calls, 1, "test_1 calls");
	ASSERT_EQ(skel->bss->deep_result, 6 * SEED, "chain result");
	struct_ops_priv_stack__destroy(skel);

	skel = open_with("ps_deep_kernel_stack");
	if (!skel)
		return;
	prog = skel->progs.deep_on_kernel_stack;
	log[0] = '\0';
	if (!ASSERT_OK(bpf_program__set_log_buf(prog, log, sizeof(log)), "log buf") ||
	    !ASSERT_OK(bpf_program__set_log_level(prog, 1), "log level"))
		goto out;
	ASSERT_EQ(struct_ops_priv_stack__load(skel), -EACCES, "load on the kernel stack");
	ASSERT_HAS_SUBSTR(log, "combined stack size of ", "verifier log");
out:
	struct_ops_priv_stack__destroy(skel);
}

static void test_recursion(void)
{
	struct struct_ops_priv_stack *skel;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	struct bpf_link *link;
	int before;

	skel = open_with("ps_recur");
	if (!skel)
		return;
	if (!ASSERT_OK(struct_ops_priv_stack__load(skel), "load"))
		goto out;
	before = read_recursions();
	if (!ASSERT_GE(before, 0, RECURSIONS))
		goto out;
	link = bpf_map__attach_struct_ops(skel->maps.ps_recur);
	if (!ASSERT_OK_PTR(link, "attach"))
		goto out;
	ASSERT_OK(trigger_module_test_read(256), "trigger");
	bpf_link__destroy(link);

	ASSERT_EQ(skel->bss->recur_calls, 1, "test_1 ran once");
	ASSERT_EQ(skel->bss->recur_inner_calls, 1, "test_2 ran from test_1");
	ASSERT_EQ(read_recursions() - before, 1, "recursion_detected() calls");
	if (ASSERT_OK(bpf_prog_get_info_by_fd(bpf_program__fd(skel->progs.recur_outer),
					      &info, &len), "prog info"))
		ASSERT_EQ(info.recursion_misses, 1, "test_1 recursion_misses");
out:
	struct_ops_priv_stack__destroy(skel);
}

void serial_test_struct_ops_priv_stack(void)
{
	if (test__start_subtest("deep"))
		test_deep();
	if (test__start_subtest("recursion"))
		test_recursion();
}
