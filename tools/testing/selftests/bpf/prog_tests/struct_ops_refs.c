// SPDX-License-Identifier: GPL-2.0
/*
 * Referenced kptrs in and out of struct_ops progs: "__ref" stub arguments
 * and ops returning a struct pointer.
 *
 * accept	  one map with a prog for each of test_refcounted,
 *		  test_refcounted_multi and test_return_ref_kptr attaches;
 *		  bpf_testmod_ops' ->reg() runs them with references to this
 *		  thread and refuses the attach (-ECHRNG) unless each one was
 *		  released by the prog or handed back and released by the module
 * bpf_loop	  a prog keeps its __ref argument across bpf_loop() and
 *		  releases it after
 * reject	  each prog the verifier must refuse, with its errno and message
 * bad_ret_type	  a type with an op returning a pointer to a non-struct does
 *		  not register (-EOPNOTSUPP)
 *
 * The attaching thread's reference count is what ->reg() checks, and a
 * BPF prog elsewhere could take one meanwhile: serial.
 */
#include <test_progs.h>
#include "struct_ops_common.h"
#include "struct_ops_refs.skel.h"

#define BAD_RET_ERR	"/sys/module/bpf_testmod/parameters/bad_ret_ops_err"

/* The object with only @map_name's struct_ops map (and its progs) on */
static struct struct_ops_refs *open_with(const char *map_name)
{
	struct struct_ops_refs *skel;

	skel = struct_ops_refs__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		return NULL;
	if (!ASSERT_OK(st_only_map(skel->obj, map_name), map_name)) {
		struct_ops_refs__destroy(skel);
		return NULL;
	}
	return skel;
}

static void test_accept(void)
{
	struct struct_ops_refs *skel;
	struct bpf_link *link;
	int tid = syscall(SYS_gettid);

	skel = open_with("refs_ok");
	if (!skel)
		return;
	if (!ASSERT_OK(struct_ops_refs__load(skel), "load"))
		goto out;

	link = bpf_map__attach_struct_ops(skel->maps.refs_ok);
	if (!ASSERT_OK_PTR(link, "attach: every reference came back"))
		goto out;
	bpf_link__destroy(link);

	ASSERT_EQ(skel->bss->ref_calls, 1, "test_refcounted calls");
	ASSERT_EQ(skel->bss->ref_pid, tid, "test_refcounted got this thread");
	ASSERT_EQ(skel->bss->multi_null, 1, "test_refcounted_multi NULL __nullable");
	ASSERT_EQ(skel->bss->multi_pid, tid, "test_refcounted_multi __ref arg");
	ASSERT_EQ(skel->bss->ret_calls, 2, "test_return_ref_kptr calls");
	ASSERT_EQ(skel->bss->ret_handed_back, 1, "kptrs returned");
out:
	struct_ops_refs__destroy(skel);
}

static void test_loop(void)
{
	struct struct_ops_refs *skel;
	struct bpf_link *link;

	skel = open_with("refs_loop");
	if (!skel)
		return;
	if (!ASSERT_OK(struct_ops_refs__load(skel), "load"))
		goto out;

	link = bpf_map__attach_struct_ops(skel->maps.refs_loop);
	if (!ASSERT_OK_PTR(link, "attach: the reference came back"))
		goto out;
	bpf_link__destroy(link);

	ASSERT_EQ(skel->bss->loop_iters, 3, "bpf_loop iterations");
	ASSERT_EQ(skel->bss->loop_pid, syscall(SYS_gettid), "task read after bpf_loop");
out:
	struct_ops_refs__destroy(skel);
}

static const struct {
	const char *map;
	const char *prog;
	int err;
	const char *msg;
} refused[] = {
	{ "refs_leak", "ref_leak", -EINVAL,
	  "Unreleased reference id=1 alloc_insn=0" },
	{ "refs_reread", "ref_reread", -EACCES,
	  "invalid bpf_context access off=8. Reference may already be released" },
	{ "refs_tail_call", "ref_tail_call", -EINVAL,
	  "program with __ref argument cannot tail call" },
	{ "refs_global_subprog", "ref_global_subprog", -EACCES,
	  "invalid bpf_context access off=16. Reference may already be released" },
	{ "refs_release_nullable", "ref_release_nullable", -EINVAL,
	  "release kernel function bpf_task_release expects refcounted PTR_TO_BTF_ID" },
	{ "ret_wrong_type", "ret_cgroup", -EINVAL,
	  "At program exit the register R0 is not a known value (ptr_or_null_)" },
	{ "ret_scalar", "ret_one", -EINVAL,
	  "At program exit the register R0 has smin=1 smax=1 should have been in [0, 0]" },
	{ "ret_offset", "ret_field", -EACCES,
	  "dereference of modified trusted_ptr_ ptr R0 off=" },
	{ "ret_local_kptr", "ret_local", -EINVAL,
	  "At program exit the register R0 is not a known value (ptr_or_null_)" },
	{ "ret_unreferenced", "ret_current", -EINVAL,
	  "At program exit the register R0 is not a known value (trusted_ptr_)" },
};

static void test_reject(void)
{
	static char log[1 << 16];
	struct struct_ops_refs *skel;
	struct bpf_program *prog;
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		skel = open_with(refused[i].map);
		if (!skel)
			return;
		prog = bpf_object__find_program_by_name(skel->obj, refused[i].prog);
		if (!ASSERT_OK_PTR(prog, refused[i].prog))
			goto next;
		log[0] = '\0';
		if (!ASSERT_OK(bpf_program__set_log_buf(prog, log, sizeof(log)), "log buf") ||
		    !ASSERT_OK(bpf_program__set_log_level(prog, 1), "log level"))
			goto next;

		err = struct_ops_refs__load(skel);
		if (!ASSERT_EQ(err, refused[i].err, refused[i].prog) ||
		    !ASSERT_HAS_SUBSTR(log, refused[i].msg, refused[i].prog))
			printf("%s: verifier log:\n%s\n", refused[i].prog, log);
next:
		struct_ops_refs__destroy(skel);
	}
}

static void test_bad_ret_type(void)
{
	char buf[32];

	if (!ASSERT_OK(st_read_str(BAD_RET_ERR, buf, sizeof(buf)), BAD_RET_ERR))
		return;
	ASSERT_EQ(atoi(buf), -EOPNOTSUPP, "registering bpf_testmod_bad_ret_ops");
}

void serial_test_struct_ops_refs(void)
{
	if (test__start_subtest("accept"))
		test_accept();
	if (test__start_subtest("bpf_loop"))
		test_loop();
	if (test__start_subtest("reject"))
		test_reject();
	if (test__start_subtest("bad_ret_type"))
		test_bad_ret_type();
}
