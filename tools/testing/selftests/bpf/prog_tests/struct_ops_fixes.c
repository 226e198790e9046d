// SPDX-License-Identifier: GPL-2.0
/*
 * Behaviours of BPF_MAP_TYPE_STRUCT_OPS that our bpf_struct_ops.c fixes.
 * Each subtest fails on the 6.12.117 base kernel:
 *
 * owner:   a non-NULL "struct module *owner" in the value of a
 *          tcp_congestion_ops map makes the base jump to its error path
 *          without setting err, so BPF_MAP_UPDATE_ELEM rolls the update
 *          back but returns the 1 that init_member() left for "name".
 *          The fix returns -EINVAL.
 *
 * memlock: the base's map_mem_usage() charges one PAGE_SIZE for the
 *          trampoline image from map create on, whatever the update
 *          allocates.  A map of bpf_testmod_ops with all 40 tramp_*
 *          members filled in (progs/struct_ops_multi_pages.c) needs two
 *          image pages; the fix counts each trampoline and each page,
 *          and the test asserts that relation exactly (image pages from
 *          bpf_jit_current).
 *
 * same_map: BPF_LINK_UPDATE of a link to the map it already holds.  The
 *          base passes one tcp_congestion_ops to
 *          tcp_update_congestion_control() as both old and new, which
 *          adds it to tcp_cong_list a second time: the list then loops
 *          on that entry, so reading tcp_available_congestion_control
 *          never returns and the VM times out.  The fix makes the update
 *          a no-op that returns 0.
 */
#include <test_progs.h>
#include <bpf/btf.h>
#include "struct_ops_multi_pages.skel.h"
#include "tcp_ca_update.skel.h"
#include "struct_ops_common.h"

#define AVAIL_CA	"/proc/sys/net/ipv4/tcp_available_congestion_control"

#define NR_REQUIRED	3
#define NR_TRAMPS	40

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

static int user_btf_fd(void)
{
	struct btf *btf = btf__new_empty();
	int fd = -1;

	if (!btf)
		return -errno;
	if (btf__add_int(btf, "int", 4, BTF_INT_SIGNED) > 0 &&
	    !btf__load_into_kernel(btf))
		fd = dup(btf__fd(btf));
	btf__free(btf);
	return fd;
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
	btf_fd = user_btf_fd();
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

static long long fdinfo_memlock(int fd)
{
	char path[64], buf[2048], *p;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	p = strstr(buf, "\nmemlock:");
	return p ? strtoll(p + strlen("\nmemlock:"), NULL, 10) : -ENOENT;
}

/* memlock and bpf_jit_current before and after attaching a multi_pages map */
struct charge {
	long long memlock;	/* growth of the map's memlock */
	long long jit;		/* growth of bpf_jit_current: image pages */
};

/* Attach multi_pages with its first @ntramps tramp_N members set */
static bool attach_charge(int ntramps, struct charge *c)
{
	struct struct_ops_multi_pages *skel;
	struct bpf_link *link = NULL;
	struct bpf_program **tramp;
	long long mem, jit;
	bool ok = false;
	int fd, i;

	skel = struct_ops_multi_pages__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		return false;
	/* tramp_1 .. tramp_40 are consecutive members */
	tramp = &skel->struct_ops.multi_pages->tramp_1;
	for (i = ntramps; i < NR_TRAMPS; i++)
		tramp[i] = NULL;
	if (!ASSERT_OK(struct_ops_multi_pages__load(skel), "load"))
		goto out;
	fd = bpf_map__fd(skel->maps.multi_pages);
	mem = fdinfo_memlock(fd);
	jit = settled_jit_current();
	if (!ASSERT_GT(mem, 0, "memlock") || !ASSERT_GT(jit, 0, "bpf_jit_current"))
		goto out;
	/* the update builds the trampolines; the link registers them */
	link = bpf_map__attach_struct_ops(skel->maps.multi_pages);
	if (!ASSERT_OK_PTR(link, "attach"))
		goto out;
	c->jit = jit_current() - jit;
	c->memlock = fdinfo_memlock(fd) - mem;
	ok = true;
out:
	bpf_link__destroy(link);
	struct_ops_multi_pages__destroy(skel);
	return ok;
}

/*
 * A map's memlock must grow by what its update allocates: a fixed size
 * per trampoline plus the image pages, which bpf_jit_current counts.
 * A one-trampoline map gives the fixed size, the 40-trampoline map must
 * then match exactly.  The base charges one page from map create on,
 * whatever the update allocates: its memlock does not grow at all.
 */
static void test_memlock(void)
{
	long long page = getpagesize(), per_tramp;
	struct charge one, all;

	if (!kcore_open())
		goto out;
	if (!attach_charge(1, &one) || !attach_charge(NR_TRAMPS, &all))
		goto out;
	printf("%s: 1 trampoline: memlock +%lld, jit +%lld; %d: +%lld, +%lld\n",
	       __func__, one.memlock, one.jit, NR_TRAMPS, all.memlock, all.jit);
	ASSERT_EQ(one.jit, page, "one image page for one trampoline");
	if (all.jit < 2 * page) {
		printf("%s:SKIP:%d trampolines take %lld image page(s), not 2+\n",
		       __func__, NR_TRAMPS, all.jit / page);
		test__skip();
		goto out;
	}
	per_tramp = one.memlock - one.jit;
	ASSERT_GT(per_tramp, 0, "memlock per trampoline");
	ASSERT_EQ(all.memlock, NR_TRAMPS * per_tramp + all.jit,
		  "memlock covers every trampoline and image page");
out:
	kcore_close();
}

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

static void test_same_map(void)
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

void serial_test_struct_ops_fixes(void)
{
	if (test__start_subtest("owner"))
		test_owner();
	if (test__start_subtest("memlock"))
		test_memlock();
	if (test__start_subtest("same_map"))
		test_same_map();
}
