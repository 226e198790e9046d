// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops_kdata - ->init_member(), ->validate(), ->reg() and ->update()
 * of a struct_ops type are all handed the same kernel struct: the map's
 * own kvalue, not a copy of it.  bpf_testmod_kdata_ops records what
 * ->init_member() gets and fails ->validate() with EINVAL, ->reg() and
 * ->update() with EFAULT when they get another pointer.  Serial: the
 * recorded pointer is one per module.
 */
#include <test_progs.h>
#include "struct_ops_kdata.skel.h"

static struct bpf_link *attach(struct bpf_map *map)
{
	struct bpf_link *link;

	link = bpf_map__attach_struct_ops(map);
	ASSERT_OK_PTR(link, bpf_map__name(map));
	return link;
}

void serial_test_struct_ops_kdata(void)
{
	struct struct_ops_kdata *skel;
	struct bpf_link *link;

	skel = struct_ops_kdata__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	/* update, which registers */
	link = attach(skel->maps.kd_plain);
	bpf_link__destroy(link);
	/* update, then link create, which registers */
	link = attach(skel->maps.kd_link);
	/* update of a second map, then ->update() of the link to it */
	if (link)
		ASSERT_OK(bpf_link__update_map(link, skel->maps.kd_link2),
			  "link update");
	bpf_link__destroy(link);
	struct_ops_kdata__destroy(skel);
}
