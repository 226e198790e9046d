// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_LINK_UPDATE of a struct_ops link to the map it already holds.
 * The kernel used to pass one tcp_congestion_ops to
 * tcp_update_congestion_control() as both old and new, which added it to
 * tcp_cong_list a second time: the list then loops on that entry, so
 * reading tcp_available_congestion_control never returns, and the
 * unregister at link detach oopses.  The update must be a no-op that
 * returns 0, and the link must keep working.
 */
#include <test_progs.h>
#include "tcp_ca_update.skel.h"
#include "struct_ops_common.h"

#define AVAIL_CA	"/proc/sys/net/ipv4/tcp_available_congestion_control"

static int count_avail_ca(const char *name)
{
	char buf[1024], *tok, *save = NULL;
	int err, n = 0;

	err = st_read_str(AVAIL_CA, buf, sizeof(buf));
	if (err)
		return err;
	for (tok = strtok_r(buf, "\n ", &save); tok;
	     tok = strtok_r(NULL, "\n ", &save))
		n += !strcmp(tok, name);
	return n;
}

static __u32 link_map_id(struct bpf_link *link)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_link_get_info_by_fd(bpf_link__fd(link), &info, &len))
		return 0;
	return info.struct_ops.map_id;
}

static void test_tcp_ca(void)
{
	char before[1024], after[1024];
	struct tcp_ca_update *skel;
	struct bpf_link *link, *link2 = NULL;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	skel = tcp_ca_update__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	link = bpf_map__attach_struct_ops(skel->maps.ca_update_1);
	if (!ASSERT_OK_PTR(link, "attach ca_update_1"))
		goto out;
	if (!ASSERT_OK(bpf_map_get_info_by_fd(bpf_map__fd(skel->maps.ca_update_1),
					      &info, &len), "map info"))
		goto out;
	if (!ASSERT_OK(st_read_str(AVAIL_CA, before, sizeof(before)), "read before"))
		goto out;

	ASSERT_OK(bpf_link__update_map(link, skel->maps.ca_update_1),
		  "update to the same map");
	ASSERT_EQ(link_map_id(link), info.id, "link keeps its map");
	if (ASSERT_OK(st_read_str(AVAIL_CA, after, sizeof(after)), "read after"))
		ASSERT_STREQ(after, before, "available list unchanged");
	ASSERT_EQ(count_avail_ca("tcp_ca_update"), 1, "listed once");

	/* the link still detaches cleanly and the name is free again */
	ASSERT_OK(bpf_link__destroy(link), "destroy link");
	link = NULL;
	ASSERT_EQ(count_avail_ca("tcp_ca_update"), 0, "gone after detach");
	link2 = bpf_map__attach_struct_ops(skel->maps.ca_update_2);
	if (ASSERT_OK_PTR(link2, "attach ca_update_2, same name"))
		ASSERT_EQ(count_avail_ca("tcp_ca_update"), 1, "listed again");
out:
	bpf_link__destroy(link2);
	bpf_link__destroy(link);
	tcp_ca_update__destroy(skel);
}

void serial_test_struct_ops_link_same_map(void)
{
	if (test__start_subtest("tcp_ca"))
		test_tcp_ca();
}
