// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops_module_pin - a struct_ops map of a module type
 * (bpf_testmod_sleep_ops) pins the module: delete_module() fails with
 * EAGAIN while a map exists, attached or not, and the module unloads
 * once the maps are freed; then it is loaded again for later tests.
 */
#include <test_progs.h>
#include "testing_helpers.h"
#include "struct_ops_sleepable.skel.h"
#include "struct_ops_testmod_refcnt.h"

static int try_unload(void)
{
	return delete_module("bpf_testmod", 0) ? -errno : 0;
}

void serial_test_struct_ops_module_pin(void)
{
	struct struct_ops_sleepable *skel = NULL;
	struct bpf_link *link = NULL;
	int before, err, tries = 0;
	bool unloaded = false;
	__u64 end;

	before = settled_testmod_refcnt(10);
	/* nothing else may hold it, or it could never unload */
	if (!ASSERT_EQ(before, 0, "bpf_testmod refcnt at start"))
		return;

	skel = struct_ops_sleepable__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	/* one reference per map of a module type, one for call_run's kfunc */
	ASSERT_EQ(testmod_refcnt(), 3, "refcnt with two maps and a kfunc user");
	ASSERT_EQ(try_unload(), -EAGAIN, "delete_module, maps exist");

	link = bpf_map__attach_struct_ops(skel->maps.fast_ops);
	if (!ASSERT_OK_PTR(link, "attach fast_ops"))
		goto out;
	ASSERT_EQ(try_unload(), -EAGAIN, "delete_module, a map attached");
	ASSERT_EQ(testmod_refcnt(), 3, "refcnt with a map attached");

	bpf_link__destroy(link);
	link = NULL;
	ASSERT_EQ(try_unload(), -EAGAIN, "delete_module, detached");
	struct_ops_sleepable__destroy(skel);
	skel = NULL;

	/* map free is deferred: EAGAIN until it is done, then it unloads */
	end = st_now_ms() + ST_WAIT_MS;
	while ((err = try_unload()) == -EAGAIN && st_now_ms() < end) {
		tries++;
		usleep(20000);
	}
	unloaded = !err;
	ASSERT_OK(err, "delete_module once the maps are freed");
	ASSERT_EQ(testmod_refcnt(), -ENOENT, "module gone");
	ASSERT_EQ(try_unload(), -ENOENT, "delete_module again");
	ASSERT_LT(tries, ST_WAIT_MS / 20, "tries");
out:
	bpf_link__destroy(link);
	struct_ops_sleepable__destroy(skel);
	if (unloaded || testmod_refcnt() == -ENOENT) {
		/* the tests after this one need it */
		if (ASSERT_OK(load_bpf_testmod(false), "load bpf_testmod again"))
			ASSERT_EQ(testmod_refcnt(), 0, "refcnt after the reload");
	}
}
