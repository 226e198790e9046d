// SPDX-License-Identifier: GPL-2.0
/*
 * A non-NULL "struct module *owner" in the value of a struct_ops map.
 * The kernel sets that member itself; user space must leave it NULL.
 * In tcp_congestion_ops "name" precedes "owner", and init_member()
 * returns 1 for "name" (it handled the member).  The update then jumped
 * to its error path with err still 1: BPF_MAP_UPDATE_ELEM rolled the
 * value back and returned 1, which a caller testing for a negative value
 * reads as success.  It must return -EINVAL, and the map must take a
 * corrected value.
 */
#include <test_progs.h>
#include <bpf/btf.h>
#include "struct_ops_common.h"

#define NR_REQUIRED	3

static const char * const required[NR_REQUIRED] = {
	"ssthresh", "cong_avoid", "undo_cwnd",
};

/* Byte offset and index of a member of struct type_id */
static int member_of(const struct btf *btf, __u32 type_id, const char *name,
		     __u32 *off)
{
	const struct btf_type *t = btf__type_by_id(btf, type_id);
	const struct btf_member *m = btf_members(t);
	int i;

	for (i = 0; i < btf_vlen(t); i++, m++) {
		if (strcmp(btf__name_by_offset(btf, m->name_off), name))
			continue;
		*off = btf_member_bit_offset(t, i) / 8;
		return i;
	}
	return -ENOENT;
}

static int tcp_prog(__u32 type_id, int idx)
{
	const struct bpf_insn insns[] = {
		BPF_MOV64_IMM(BPF_REG_0, 0),
		BPF_EXIT_INSN(),
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts);

	opts.expected_attach_type = idx;
	opts.attach_btf_id = type_id;
	return bpf_prog_load(BPF_PROG_TYPE_STRUCT_OPS, NULL, "GPL", insns,
			     ARRAY_SIZE(insns), &opts);
}

static void test_owner(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	int prog[NR_REQUIRED] = { -1, -1, -1 }, btf_fd = -1, fd = -1;
	__u32 off, name_off, owner_off, data_off, vsize, key = 0;
	const struct btf_type *vt;
	struct btf *vmlinux;
	int idx, tid, vid;
	__u32 i;
	char *v = NULL, *got = NULL;
	__u64 x;

	vmlinux = btf__load_vmlinux_btf();
	if (!ASSERT_OK_PTR(vmlinux, "vmlinux BTF"))
		return;
	tid = btf__find_by_name_kind(vmlinux, "tcp_congestion_ops",
				     BTF_KIND_STRUCT);
	vid = btf__find_by_name_kind(vmlinux, "bpf_struct_ops_tcp_congestion_ops",
				     BTF_KIND_STRUCT);
	if (!ASSERT_GT(tid, 0, "tcp_congestion_ops") ||
	    !ASSERT_GT(vid, 0, "bpf_struct_ops_tcp_congestion_ops"))
		goto out;
	vt = btf__type_by_id(vmlinux, vid);
	vsize = vt->size;
	data_off = btf_member_bit_offset(vt, 1) / 8;
	if (!ASSERT_GE(member_of(vmlinux, tid, "name", &name_off), 0, "name") ||
	    !ASSERT_GE(member_of(vmlinux, tid, "owner", &owner_off), 0, "owner"))
		goto out;

	v = calloc(1, vsize);
	got = calloc(1, vsize);
	btf_fd = st_user_btf_fd(NULL);
	if (!ASSERT_OK_PTR(v, "v") || !ASSERT_OK_PTR(got, "got") ||
	    !ASSERT_OK_FD(btf_fd, "user BTF"))
		goto out;
	for (i = 0; i < NR_REQUIRED; i++) {
		idx = member_of(vmlinux, tid, required[i], &off);
		if (!ASSERT_GE(idx, 0, required[i]))
			goto out;
		prog[i] = tcp_prog(tid, idx);
		if (!ASSERT_OK_FD(prog[i], required[i]))
			goto out;
		x = prog[i];
		memcpy(v + data_off + off, &x, sizeof(x));
	}
	memcpy(v + data_off + name_off, "sfix_owner", sizeof("sfix_owner"));

	opts.btf_fd = btf_fd;
	opts.btf_vmlinux_value_type_id = vid;
	fd = bpf_map_create(BPF_MAP_TYPE_STRUCT_OPS, NULL, sizeof(__u32), vsize,
			    1, &opts);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;

	/* "name" precedes "owner": the base returns init_member()'s 1 */
	x = 0x1000;
	memcpy(v + data_off + owner_off, &x, sizeof(x));
	ASSERT_EQ(bpf_map_update_elem(fd, &key, v, 0), -EINVAL, "non-NULL owner");

	/* rolled back, and the same map takes a corrected value */
	memset(got, 0xa5, vsize);
	ASSERT_OK(bpf_map_lookup_elem(fd, &key, got), "lookup");
	for (i = 0; i < vsize && !got[i]; i++)
		;
	ASSERT_EQ(i, vsize, "all zero after the failure");
	x = 0;
	memcpy(v + data_off + owner_off, &x, sizeof(x));
	ASSERT_OK(bpf_map_update_elem(fd, &key, v, 0), "corrected update");
	ASSERT_OK(bpf_map_lookup_elem(fd, &key, got), "lookup");
	ASSERT_EQ(((__u32 *)got)[1], 1, "state INUSE");
	ASSERT_OK(bpf_map_delete_elem(fd, &key), "unregister");
out:
	if (fd >= 0)
		close(fd);
	for (idx = 0; idx < NR_REQUIRED; idx++)
		if (prog[idx] >= 0)
			close(prog[idx]);
	if (btf_fd >= 0)
		close(btf_fd);
	free(got);
	free(v);
	btf__free(vmlinux);
}

void serial_test_struct_ops_owner(void)
{
	if (test__start_subtest("non_null"))
		test_owner();
}
