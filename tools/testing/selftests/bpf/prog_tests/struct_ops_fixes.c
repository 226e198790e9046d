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
 *          trampoline image, whatever the number of image pages.  A map
 *          of bpf_testmod_ops with all 40 tramp_* members filled in
 *          (progs/struct_ops_multi_pages.c) needs more than one page of
 *          trampolines, which the fix counts.
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

/*
 * The size of one trampoline of bpf_testmod_ops: the distance between the
 * symbols of tramp_1 and tramp_2, which the update lays out back to back
 * in the first image page.  0 when kallsyms hides the addresses.
 */
static long long tramp_size(void)
{
	unsigned long long addr, a1 = 0, a2 = 0;
	char line[256], sym[128];
	int n1 = 0, n2 = 0;
	FILE *f;

	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, " bpf__bpf_testmod_ops_tramp_"))
			continue;
		if (sscanf(line, "%llx %*s %127s", &addr, sym) != 2)
			continue;
		if (!strcmp(sym, "bpf__bpf_testmod_ops_tramp_1")) {
			a1 = addr;
			n1++;
		} else if (!strcmp(sym, "bpf__bpf_testmod_ops_tramp_2")) {
			a2 = addr;
			n2++;
		}
	}
	fclose(f);
	if (n1 != 1 || n2 != 1)
		return -EEXIST;
	return a2 - a1;
}

/*
 * What the base gives for this map on x86_64 (4 KiB pages), measured:
 * value_size is 448 and memlock is 6464 both before and after the update,
 *   sizeof(struct bpf_struct_ops_map) + value_size - 64   832 + 384
 *   + uvalue                                              448
 *   + links[] and ksyms[] for 44 func ptrs                704
 *   + one PAGE_SIZE for the image                         4096
 * although each of the 40 trampolines takes 156 bytes, 6240 in all, so
 * the update allocates two image pages.  With both pages counted memlock
 * is 10560; the bound asserted, 2 * value_size + 2 * PAGE_SIZE = 9088,
 * sits between the two.
 */
static void test_memlock(void)
{
	struct struct_ops_multi_pages *skel;
	long long before, after, tsize, page = getpagesize();
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct bpf_link *link = NULL;
	int fd;

	skel = struct_ops_multi_pages__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	fd = bpf_map__fd(skel->maps.multi_pages);
	if (!ASSERT_OK(bpf_map_get_info_by_fd(fd, &info, &len), "map info"))
		goto out;
	before = fdinfo_memlock(fd);

	/* the update builds the trampolines; the link registers them */
	link = bpf_map__attach_struct_ops(skel->maps.multi_pages);
	if (!ASSERT_OK_PTR(link, "attach"))
		goto out;
	after = fdinfo_memlock(fd);
	tsize = tramp_size();
	printf("%s: value_size %u memlock %lld -> %lld tramp %lld bytes\n",
	       __func__, info.value_size, before, after, tsize);

	ASSERT_GT(before, 0, "memlock before");
	/* the premise; addresses may be hidden (then tsize is 0) */
	if (ASSERT_GE(tsize, 0, "one tramp_1 and one tramp_2 symbol") && tsize)
		ASSERT_GT(tsize * NR_TRAMPS, page, "trampolines need two pages");
	ASSERT_GE(after, 2LL * info.value_size + 2 * page,
		  "memlock covers the trampoline pages");
out:
	bpf_link__destroy(link);
	struct_ops_multi_pages__destroy(skel);
}

static int read_avail_ca(char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(AVAIL_CA, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* How many times @name is in tcp_available_congestion_control */
static int count_avail_ca(const char *name)
{
	char buf[1024], *tok, *save = NULL;
	int err, n = 0;

	err = read_avail_ca(buf, sizeof(buf));
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
	if (!ASSERT_OK(read_avail_ca(before, sizeof(before)), "read before"))
		goto out;

	ASSERT_OK(bpf_link__update_map(link, skel->maps.ca_update_1),
		  "update to the same map");
	ASSERT_EQ(link_map_id(link), info.id, "link keeps its map");
	if (ASSERT_OK(read_avail_ca(after, sizeof(after)), "read after"))
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
