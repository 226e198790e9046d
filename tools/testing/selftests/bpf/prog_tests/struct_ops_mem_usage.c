// SPDX-License-Identifier: GPL-2.0
/*
 * map_mem_usage() of a struct_ops map, as /proc/PID/fdinfo shows it
 * ("memlock").  An update allocates one link and one ksym per prog and
 * up to 8 image pages for the trampolines; mem_usage used to count one
 * PAGE_SIZE from map create on, however many pages the update took.
 * A map of bpf_testmod_ops with all 40 tramp_* members set
 * (progs/struct_ops_multi_pages.c) needs two image pages.  The test
 * reads the image pages from bpf_jit_current (every page is charged to
 * it) and asserts the relation exactly.
 */
#include <test_progs.h>
#include "struct_ops_multi_pages.skel.h"
#include "struct_ops_common.h"

#define NR_TRAMPS	40

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
 * then match exactly.  Counting one page from map create on, whatever
 * the update allocates, memlock does not grow at all.
 */
static void test_image_pages(void)
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

void serial_test_struct_ops_mem_usage(void)
{
	if (test__start_subtest("image_pages"))
		test_image_pages();
}
