// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops maps whose trampolines take more than one image page, and
 * struct_ops syscalls whose allocations fail.
 *
 * struct_ops_pages - the 40 tramp_N members of bpf_testmod_ops, on two
 *	image pages with the generic trampolines and the x86 ones of their
 *	own, on one with the shorter x86 ones of a debug config (which
 *	call the C enter and exit functions).
 *	call_all: registering the map calls every tramp_N (bpf_testmod's
 *	->reg() does), and each returns its own prog's value; the map is
 *	charged the pages its trampolines are on (kallsyms) and no more.
 *	limit_page2: with net.core.bpf_jit_limit leaving room for all pages
 *	but the last, the update of a task without CAP_BPF and
 *	CAP_SYS_ADMIN fails with EPERM when it needs the last page and gives
 *	the others back; with room for all it succeeds.  Skipped when the
 *	map takes one page.
 *	protect_fail: arch_protect_bpf_trampoline() made to fail (with
 *	fail_function) on each page in turn: each time the update fails with
 *	that error and unwinds, and there is one such point per page.
 *	largest: a map of the largest type there can be (64 members of 12
 *	arguments) fits in the 8 image pages a map may take, and each of
 *	its trampolines passes all 12 arguments and the result.
 *
 * struct_ops_fail_nth - for each struct_ops syscall, fail its 1st, 2nd,
 *	3rd, ... allocation (/proc/thread-self/fail-nth: slab and page
 *	allocator) until a call runs through without reaching the armed
 *	point.  A call whose allocation failed must fail with ENOMEM and
 *	leave everything as it was (the map INIT and empty, nothing
 *	registered, no trampoline page charged), and the same call must then
 *	succeed.  A call may also succeed in spite of the failure (kvmalloc
 *	falls back to vmalloc); then its result must be complete.  Each
 *	subtest prints how many points it walked.
 */
#include <test_progs.h>
#include <bpf/btf.h>
#include "cap_helpers.h"
#include "struct_ops_faults.skel.h"
#include "struct_ops_common.h"

/* enum bpf_struct_ops_state */
enum { ST_INIT, ST_INUSE, ST_TOBEFREE, ST_READY };

#define NR_TRAMPS	40
#define MAX_IMAGE_PAGES	8	/* a map may take */
#define MAX_TRAMPS	64	/* a type may have */
#define PG_DATA		13	/* pg_ops.data */
#define MAX_POINTS	5000	/* a walk that gets this far fails */
#define DEBUGFS		"/sys/kernel/debug"

/* A struct_ops type, learnt from the map libbpf created for it */
struct fi_type {
	const char *prefix;	/* its progs are named <prefix><member> */
	struct btf *btf;	/* kernel BTF that has the type */
	int obj_fd;		/* that BTF object when it is a module's, or -1 */
	__u32 value_id;		/* struct bpf_struct_ops_<name> */
	__u32 value_size;
	__u32 data_off;		/* offset of the ops struct in the value */
	__u32 type_id;		/* struct <name> */
	void *value;		/* a value with our progs in their members */
	unsigned int *calls;	/* prog calls its ->reg() made, in the bss */
	unsigned int calls_per_reg;
};

static struct {
	struct struct_ops_faults *skel;
	struct btf *vmlinux;
	struct fi_type tcp;	/* tcp_congestion_ops */
	struct fi_type one;	/* bpf_testmod_ops2 */
	struct fi_type pg;	/* bpf_testmod_ops */
	long long page;
} fi = {
	.tcp.obj_fd = -1, .one.obj_fd = -1, .pg.obj_fd = -1,
};

/* Offset of @name in the value of @t, or -ENOENT */
static int fi_member_off(const struct fi_type *t, const char *name)
{
	const struct btf_type *st = btf__type_by_id(t->btf, t->type_id);
	const struct btf_member *m = btf_members(st);
	int i;

	for (i = 0; i < btf_vlen(st); i++, m++)
		if (!strcmp(btf__name_by_offset(t->btf, m->name_off), name))
			return t->data_off + btf_member_bit_offset(st, i) / 8;
	return -ENOENT;
}

/* Put the fd of prog <prefix><member> into each member that has one */
static bool fi_fill_progs(struct fi_type *t)
{
	const struct btf_type *st = btf__type_by_id(t->btf, t->type_id);
	const struct btf_member *m = btf_members(st);
	struct bpf_program *prog;
	char name[128];
	int i, n = 0;

	for (i = 0; i < btf_vlen(st); i++, m++) {
		snprintf(name, sizeof(name), "%s%s", t->prefix,
			 btf__name_by_offset(t->btf, m->name_off));
		prog = bpf_object__find_program_by_name(fi.skel->obj, name);
		if (!prog)
			continue;
		*(__u64 *)(t->value + t->data_off + btf_member_bit_offset(st, i) / 8) =
			bpf_program__fd(prog);
		n++;
	}
	return ASSERT_GT(n, 0, "progs in the value");
}

static bool fi_type_init(struct fi_type *t, struct bpf_map *tmpl,
			 const char *prefix)
{
	struct bpf_map_info info = {};
	struct bpf_btf_info binfo = {};
	__u32 len = sizeof(info);
	const struct btf_type *vt;
	char bname[64] = {};
	int fd;

	t->prefix = prefix;
	if (!ASSERT_OK(bpf_map_get_info_by_fd(bpf_map__fd(tmpl), &info, &len),
		       "template map info"))
		return false;
	t->value_id = info.btf_vmlinux_value_type_id;
	t->value_size = info.value_size;

	fd = bpf_btf_get_fd_by_id(info.btf_vmlinux_id);
	if (!ASSERT_OK_FD(fd, "kernel BTF of the type"))
		return false;
	binfo.name = ptr_to_u64(bname);
	binfo.name_len = sizeof(bname);
	len = sizeof(binfo);
	if (!ASSERT_OK(bpf_btf_get_info_by_fd(fd, &binfo, &len), "BTF info")) {
		close(fd);
		return false;
	}
	if (!strcmp(bname, "vmlinux")) {
		close(fd);
		t->btf = fi.vmlinux;
	} else {
		t->obj_fd = fd;
		t->btf = btf__load_from_kernel_by_id_split(info.btf_vmlinux_id,
							   fi.vmlinux);
		if (!ASSERT_OK_PTR(t->btf, "module BTF"))
			return false;
	}

	vt = btf__type_by_id(t->btf, t->value_id);
	if (!ASSERT_OK_PTR(vt, "value type") ||
	    !ASSERT_EQ(btf_vlen(vt), 2, "value type members"))
		return false;
	t->data_off = btf_member_bit_offset(vt, 1) / 8;
	t->type_id = btf_members(vt)[1].type;
	t->value = calloc(1, t->value_size);
	return ASSERT_OK_PTR(t->value, "value") && fi_fill_progs(t);
}

static void fi_type_fini(struct fi_type *t)
{
	if (t->obj_fd >= 0) {
		close(t->obj_fd);
		btf__free(t->btf);
	}
	free(t->value);
	memset(t, 0, sizeof(*t));
	t->obj_fd = -1;
}

/* A tcp_congestion_ops value that registers as @name */
static void *tcp_value(const char *name)
{
	char *v = malloc(fi.tcp.value_size);
	int off = fi_member_off(&fi.tcp, "name");

	if (!v || off < 0) {
		free(v);
		return NULL;
	}
	memcpy(v, fi.tcp.value, fi.tcp.value_size);
	memset(v + off, 0, 16);
	memcpy(v + off, name, strnlen(name, 15));
	return v;
}

/* Raw bpf() helpers: each returns 0 (or an fd) or -errno */

static int map_create(const struct fi_type *t, __u32 flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, o,
		    .btf_fd = bpf_object__btf_fd(fi.skel->obj),
		    .btf_vmlinux_value_type_id = t->value_id,
		    .map_flags = flags);

	if (t->obj_fd >= 0) {
		o.map_flags |= BPF_F_VTYPE_BTF_OBJ_FD;
		o.value_type_btf_obj_fd = t->obj_fd;
	}
	return bpf_map_create(BPF_MAP_TYPE_STRUCT_OPS, "fi_map", sizeof(int),
			      t->value_size, 1, &o);
}

static int map_update(int fd, const void *v)
{
	int zero = 0;

	return bpf_map_update_elem(fd, &zero, v, 0) ? -errno : 0;
}

static int map_delete(int fd)
{
	int zero = 0;

	return bpf_map_delete_elem(fd, &zero) ? -errno : 0;
}

/* The state of the map's value; -1 unless the rest of an INIT value is 0 */
static int map_state(int fd, __u32 size)
{
	__u32 *v = calloc(1, size);
	int zero = 0, state, i;

	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &zero, v)) {
		state = -errno;
		goto out;
	}
	state = v[1];
	if (state == ST_INIT)
		for (i = 0; i < size / 4; i++)
			if (v[i])
				state = -1;
out:
	free(v);
	return state;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* How often @name is in net.ipv4.tcp_available_congestion_control */
static int ca_registered(const char *name)
{
	char buf[1024], *tok, *save;
	int found = 0;
	FILE *f;

	f = fopen("/proc/sys/net/ipv4/tcp_available_congestion_control", "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (tok = strtok_r(buf, "\n\t ", &save); tok;
	     tok = strtok_r(NULL, "\n\t ", &save))
		found += !strcmp(tok, name);
	return found;
}

/* debugfs knobs: set one, remembering what it was */

struct knob {
	const char *path;
	char old[32];
	bool saved;
};

static bool knob_set(struct knob *k, const char *val)
{
	if (!ASSERT_OK(st_read_str(k->path, k->old, sizeof(k->old)), k->path) ||
	    !ASSERT_GT(strlen(k->old), 0, k->path))
		return false;
	k->saved = true;
	return ASSERT_OK(st_write_str(k->path, val), k->path);
}

static void knobs_restore(struct knob *k, int n)
{
	while (n--)
		if (k[n].saved)
			ASSERT_OK(st_write_str(k[n].path, k[n].old), k[n].path);
}

/*
 * fail-nth: writing N makes the Nth fault-injection point this thread
 * reaches fail; reading gives 0 once it has failed, else what is left.
 */
static int fail_nth_fd = -1;

static bool fail_nth_arm(int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	return pwrite(fail_nth_fd, buf, len, 0) == len;
}

/* Disarm; true if the armed point was reached and failed */
static bool fail_nth_disarm(void)
{
	char buf[16] = {};
	bool injected;

	injected = pread(fail_nth_fd, buf, sizeof(buf) - 1, 0) > 0 &&
		   atoi(buf) == 0;
	pwrite(fail_nth_fd, "0", 1, 0);
	return injected;
}

/*
 * A map of bpf_testmod type @t on @fd: INIT and empty, ->reg() made no
 * prog call since *t->calls was @calls; or INUSE after one ->reg(),
 * then deleted.
 */
static bool tm_not_registered(const struct fi_type *t, int fd, unsigned int calls)
{
	return ASSERT_EQ(map_state(fd, t->value_size), ST_INIT,
			 "map INIT and empty") &
	       ASSERT_EQ(*t->calls, calls, "not registered");
}

static bool tm_registered_delete(const struct fi_type *t, int fd, unsigned int calls)
{
	bool ok = ASSERT_EQ(map_state(fd, t->value_size), ST_INUSE, "map INUSE") &
		  ASSERT_EQ(*t->calls, calls + t->calls_per_reg, "registered");

	return ASSERT_OK(map_delete(fd), "delete") && ok;
}

/*
 * How many image pages trampolines PREFIX1 .. PREFIX@n are on, for
 * trampolines of one length laid out in member order: a page ends where
 * the next one does not follow at that length.  (Image pages come from
 * the prog pack: they need not start at a page boundary.)  0 if one is
 * missing from kallsyms.
 */
static long long tramp_pages(const char *prefix, int n)
{
	unsigned long long addr[MAX_TRAMPS];
	long long len = 0, pages = 1;
	char name[128];
	int i;

	for (i = 0; i < n && i < MAX_TRAMPS; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i + 1);
		addr[i] = ksym_addr(name);
		if (!addr[i])
			return 0;
	}
	/* the length: the shortest step forward */
	for (i = 1; i < n; i++)
		if (addr[i] > addr[i - 1] &&
		    (!len || (long long)(addr[i] - addr[i - 1]) < len))
			len = addr[i] - addr[i - 1];
	for (i = 1; i < n; i++)
		pages += (long long)(addr[i] - addr[i - 1]) != len;
	return pages;
}

/* struct_ops_pages */

static void test_call_all(void)
{
	struct struct_ops_faults__bss *bss = fi.skel->bss;
	struct bpf_link *link = NULL;
	long long base, pages;
	int i;

	base = settled_jit_current();
	if (!ASSERT_GT(base, 0, "bpf_jit_current"))
		return;
	bss->pg_nr_calls = 0;
	link = bpf_map__attach_struct_ops(fi.skel->maps.pg_ops);
	if (!ASSERT_OK_PTR(link, "attach pg_ops"))
		return;
	pages = (jit_current() - base) / fi.page;
	ASSERT_EQ(pages, tramp_pages("bpf__bpf_testmod_ops_tramp_", NR_TRAMPS),
		  "image pages: the ones the 40 trampolines are on");
	printf("%s: 40 trampolines on %lld image page(s)\n", __func__, pages);

	if (!ASSERT_EQ(bss->pg_nr_calls, NR_TRAMPS + 1, "calls"))
		goto out;
	for (i = 0; i < NR_TRAMPS; i++) {
		ASSERT_EQ(bss->pg_a[i], i + 1, "tramp_N called with N");
		ASSERT_EQ(bss->pg_b[i], (i + 1) << 8 | (i + 1),
			  "tramp_N returned its prog's value");
	}
	ASSERT_EQ(bss->pg_a[NR_TRAMPS], 4, "last call: test_2(4, data)");
	ASSERT_EQ(bss->pg_b[NR_TRAMPS], PG_DATA, "data");
out:
	bpf_link__destroy(link);
}

/* what lets a task past bpf_jit_limit */
static const __u64 limit_caps = 1ULL << CAP_BPF | 1ULL << CAP_SYS_ADMIN;

/* Update @fd without the caps that bypass bpf_jit_limit */
static int unpriv_update(int fd, const void *v)
{
	__u64 old_caps = 0;
	int err;

	err = cap_disable_effective(limit_caps, &old_caps);
	if (err)
		return err;
	err = map_update(fd, v);
	cap_enable_effective(old_caps, NULL);
	return err;
}

static void test_limit_page2(void)
{
	struct struct_ops_faults__bss *bss = fi.skel->bss;
	long long base, old_limit, pages;
	bool lowered = false;
	unsigned int calls;
	int fd = -1;

	old_limit = read_jit_limit();
	if (!ASSERT_GT(old_limit, 0, "bpf_jit_limit"))
		return;
	base = settled_jit_current();
	if (!ASSERT_GT(base, 0, "bpf_jit_current"))
		return;

	/* How many pages the map takes, privileged */
	fd = map_create(&fi.pg, 0);
	if (!ASSERT_OK_FD(fd, "create") ||
	    !ASSERT_OK(map_update(fd, fi.pg.value), "update"))
		goto out;
	pages = (jit_current() - base) / fi.page;
	ASSERT_OK(map_delete(fd), "delete");
	close_fd(&fd);
	if (!ASSERT_EQ(wait_jit_current(base), base, "uncharged"))
		goto out;
	if (pages < 2) {
		printf("%s:SKIP:the map takes %lld image page(s), not 2+\n",
		       __func__, pages);
		test__skip();
		goto out;
	}

	if (!ASSERT_OK(write_jit_limit(base + (pages - 1) * fi.page),
		       "room for all pages but the last"))
		goto out;
	lowered = true;
	fd = map_create(&fi.pg, 0);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	calls = bss->pg_nr_calls;
	ASSERT_EQ(unpriv_update(fd, fi.pg.value), -EPERM, "update over the limit");
	ASSERT_EQ(jit_current(), base, "pages before the last given back");
	tm_not_registered(&fi.pg, fd, calls);

	if (!ASSERT_OK(write_jit_limit(base + pages * fi.page), "room for all"))
		goto out;
	ASSERT_OK(unpriv_update(fd, fi.pg.value), "update within the limit");
	ASSERT_EQ(jit_current(), base + pages * fi.page, "all pages charged");
	tm_registered_delete(&fi.pg, fd, calls);
out:
	close_fd(&fd);
	if (lowered)
		ASSERT_OK(write_jit_limit(old_limit), "restore bpf_jit_limit");
}

/*
 * The largest struct_ops type there can be, 64 members (the most a type
 * may have) of 12 arguments (the most a trampoline passes), must fit in
 * the 8 image pages a map may take: on x86-64 the update's -E2BIG for
 * more pages cannot happen.  ->reg() calls every member and checks what
 * it returns, six of its arguments passed on the stack.
 */
static void test_largest(void)
{
	unsigned long long a1, a2;
	struct bpf_link *link;
	long long base, pages;

	base = settled_jit_current();
	if (!ASSERT_GT(base, 0, "bpf_jit_current"))
		return;
	link = bpf_map__attach_struct_ops(fi.skel->maps.big_ops);
	if (!ASSERT_OK_PTR(link, "attach: each member called, each answer right"))
		return;
	pages = (jit_current() - base) / fi.page;
	a1 = ksym_addr("bpf__bpf_testmod_big_ops_big_1");
	a2 = ksym_addr("bpf__bpf_testmod_big_ops_big_2");
	printf("%s: 64 trampolines of 12 arguments, %lld bytes each: %lld image pages\n",
	       __func__, a1 && a2 ? (long long)(a2 - a1) : -1LL, pages);
	ASSERT_GE(pages, 1, "image pages");
	ASSERT_LE(pages, 8, "at most 8 image pages");
	bpf_link__destroy(link);
}

#define FAILSLAB	DEBUGFS "/failslab/"
#define FAILPAGE	DEBUGFS "/fail_page_alloc/"
#define FAILFUNC	DEBUGFS "/fail_function/"
#define PROTECT		"arch_protect_bpf_trampoline"

static void test_protect_fail(void)
{
	struct struct_ops_faults__bss *bss = fi.skel->bss;
	/* Only fail_function counts for fail-nth: no slab, no pages */
	struct knob k[] = {
		{ FAILSLAB "cache-filter" },
		{ FAILSLAB "ignore-gfp-wait" },
		{ FAILPAGE "min-order" },
		{ FAILPAGE "ignore-gfp-wait" },
		{ FAILFUNC "verbose" },
	};
	static const char * const set[] = { "Y", "Y", "100", "Y", "0" };
	int fd = -1, n, err, points = 0;
	unsigned int calls;
	bool injected = false, added = false;
	long long base;
	char retval[32];
	__u32 i;

	for (i = 0; i < ARRAY_SIZE(k); i++)
		if (!knob_set(&k[i], set[i]))
			goto out;
	if (!ASSERT_OK(st_write_str(FAILFUNC "inject", PROTECT), "inject " PROTECT))
		goto out;
	added = true;
	snprintf(retval, sizeof(retval), "%#llx", (unsigned long long)-ENOMEM);
	if (!ASSERT_OK(st_write_str(FAILFUNC PROTECT "/retval", retval), "retval"))
		goto out;

	base = settled_jit_current();
	if (!ASSERT_GT(base, 0, "bpf_jit_current"))
		goto out;
	for (n = 1; n <= MAX_IMAGE_PAGES + 1; n++) {
		fd = map_create(&fi.pg, 0);
		if (!ASSERT_OK_FD(fd, "create"))
			goto out;
		calls = bss->pg_nr_calls;
		if (!ASSERT_TRUE(fail_nth_arm(n), "arm fail-nth"))
			goto out;
		err = map_update(fd, fi.pg.value);
		injected = fail_nth_disarm();
		if (!injected)
			break;
		points++;
		ASSERT_EQ(err, -ENOMEM, "update with a failed protect");
		ASSERT_EQ(wait_jit_current(base), base, "pages given back");
		tm_not_registered(&fi.pg, fd, calls);
		close_fd(&fd);
	}
	/* one point per image page, then the update that runs through */
	ASSERT_FALSE(injected, "update with no point left to fail");
	ASSERT_OK(err, "update");
	ASSERT_EQ(points, (jit_current() - base) / fi.page,
		  "protect calls failed: one per image page");
	tm_registered_delete(&fi.pg, fd, calls);
out:
	close_fd(&fd);
	if (added)
		ASSERT_OK(st_write_str(FAILFUNC "inject", "!" PROTECT), "remove " PROTECT);
	knobs_restore(k, ARRAY_SIZE(k));
}

/* struct_ops_fail_nth */

/*
 * One syscall path.  setup() makes what the call needs, without faults;
 * call() is the syscall that faults are injected into: 0 or -errno; it
 * keeps an fd it makes in c->fd[1].  It must not allocate in user space
 * (malloc may enter the kernel and fail there): setup() prepares what it
 * passes.  unchanged() checks that a failed call left everything as
 * setup() made it, done() that the call did all it should.  Returning
 * false from setup(), unchanged() or done() ends the walk.
 */
struct fi_ctx {
	int fd[3];
	void *value;	/* what an update passes */
	__u32 id;
	unsigned int calls;
	struct fi_type *t;
};

struct fi_path {
	const char *name;
	bool (*setup)(struct fi_ctx *c);
	int (*call)(struct fi_ctx *c);
	bool (*unchanged)(struct fi_ctx *c);
	bool (*done)(struct fi_ctx *c);
	struct fi_type *t;	/* the type, for paths that need one */
};

#define TCP_A	"fi_a"

static bool tcp_map_ready(int *fd, const char *name)
{
	void *v = tcp_value(name);
	int err;

	*fd = map_create(&fi.tcp, BPF_F_LINK);
	err = *fd < 0 ? *fd : map_update(*fd, v);
	free(v);
	return ASSERT_OK(err, "READY tcp map");
}

/* map create */
static bool create_setup(struct fi_ctx *c)
{
	return true;
}

static int create_call(struct fi_ctx *c)
{
	c->fd[1] = map_create(&fi.pg, 0);
	return c->fd[1] < 0 ? c->fd[1] : 0;
}

static bool create_unchanged(struct fi_ctx *c)
{
	return ASSERT_LT(c->fd[1], 0, "no map");
}

static bool create_done(struct fi_ctx *c)
{
	return ASSERT_EQ(map_state(c->fd[1], fi.pg.value_size), ST_INIT, "map INIT");
}

/* map update: tcp_congestion_ops, plain and BPF_F_LINK */
static bool tcp_create(struct fi_ctx *c, __u32 flags)
{
	c->value = tcp_value(TCP_A);
	if (!ASSERT_OK_PTR(c->value, "tcp value"))
		return false;
	c->fd[0] = map_create(&fi.tcp, flags);
	return ASSERT_OK_FD(c->fd[0], "create");
}

static bool tcp_setup(struct fi_ctx *c)
{
	return tcp_create(c, 0);
}

static bool tcp_link_setup(struct fi_ctx *c)
{
	return tcp_create(c, BPF_F_LINK);
}

static int tcp_update_call(struct fi_ctx *c)
{
	return map_update(c->fd[0], c->value);
}

static bool tcp_unchanged(struct fi_ctx *c)
{
	return ASSERT_EQ(map_state(c->fd[0], fi.tcp.value_size), ST_INIT,
			 "map INIT and empty") &
	       ASSERT_EQ(ca_registered(TCP_A), 0, "not registered");
}

static bool tcp_done(struct fi_ctx *c)
{
	bool ok = ASSERT_EQ(map_state(c->fd[0], fi.tcp.value_size), ST_INUSE,
			    "map INUSE") &
		  ASSERT_EQ(ca_registered(TCP_A), 1, "registered");

	return ASSERT_OK(map_delete(c->fd[0]), "delete") && ok;
}

static bool tcp_link_done(struct fi_ctx *c)
{
	return ASSERT_EQ(map_state(c->fd[0], fi.tcp.value_size), ST_READY,
			 "map READY") &
	       ASSERT_EQ(ca_registered(TCP_A), 0, "not registered");
}

/*
 * map update: bpf_testmod types, whose ->reg() calls our progs: c->t says
 * which type, and how many prog calls one registration makes.
 */
static bool tm_setup(struct fi_ctx *c)
{
	c->fd[0] = map_create(c->t, 0);
	c->calls = *c->t->calls;
	return ASSERT_OK_FD(c->fd[0], "create");
}

static int tm_call(struct fi_ctx *c)
{
	return map_update(c->fd[0], c->t->value);
}

static bool tm_unchanged(struct fi_ctx *c)
{
	return tm_not_registered(c->t, c->fd[0], c->calls);
}

static bool tm_done(struct fi_ctx *c)
{
	return tm_registered_delete(c->t, c->fd[0], c->calls);
}

/* link create */
static bool link_create_setup(struct fi_ctx *c)
{
	return tcp_map_ready(&c->fd[0], TCP_A);
}

static int link_create_call(struct fi_ctx *c)
{
	c->fd[1] = bpf_link_create(c->fd[0], 0, BPF_STRUCT_OPS, NULL);
	return c->fd[1] < 0 ? c->fd[1] : 0;
}

static bool link_create_unchanged(struct fi_ctx *c)
{
	return ASSERT_LT(c->fd[1], 0, "no link") &
	       ASSERT_EQ(ca_registered(TCP_A), 0, "not registered");
}

static bool link_create_done(struct fi_ctx *c)
{
	return ASSERT_EQ(st_link_map_id(c->fd[1]), st_map_id(c->fd[0]), "link's map") &
	       ASSERT_EQ(ca_registered(TCP_A), 1, "registered");
}

/*
 * link update: from map A to map B.  tcp_update_congestion_control()
 * replaces a congestion control by one of the same name.
 */
static bool link_update_setup(struct fi_ctx *c)
{
	if (!tcp_map_ready(&c->fd[0], TCP_A) || !tcp_map_ready(&c->fd[2], TCP_A))
		return false;
	c->fd[1] = bpf_link_create(c->fd[0], 0, BPF_STRUCT_OPS, NULL);
	return ASSERT_OK_FD(c->fd[1], "link");
}

static int link_update_call(struct fi_ctx *c)
{
	return bpf_link_update(c->fd[1], c->fd[2], NULL) ? -errno : 0;
}

static bool link_update_unchanged(struct fi_ctx *c)
{
	return ASSERT_EQ(st_link_map_id(c->fd[1]), st_map_id(c->fd[0]), "link on A") &
	       ASSERT_EQ(ca_registered(TCP_A), 1, "registered once");
}

static bool link_update_done(struct fi_ctx *c)
{
	return ASSERT_EQ(st_link_map_id(c->fd[1]), st_map_id(c->fd[2]), "link on B") &
	       ASSERT_EQ(ca_registered(TCP_A), 1, "registered once");
}

/* link detach */
static bool detach_setup(struct fi_ctx *c)
{
	if (!tcp_map_ready(&c->fd[0], TCP_A))
		return false;
	c->fd[1] = bpf_link_create(c->fd[0], 0, BPF_STRUCT_OPS, NULL);
	return ASSERT_OK_FD(c->fd[1], "link");
}

static int detach_call(struct fi_ctx *c)
{
	return bpf_link_detach(c->fd[1]) ? -errno : 0;
}

static bool detach_unchanged(struct fi_ctx *c)
{
	return link_create_done(c);
}

static bool detach_done(struct fi_ctx *c)
{
	return ASSERT_EQ(st_link_map_id(c->fd[1]), 0, "no map") &
	       ASSERT_EQ(ca_registered(TCP_A), 0, "not registered");
}

/* delete of a plain, registered map */
static bool delete_setup(struct fi_ctx *c)
{
	return tcp_setup(c) && ASSERT_OK(tcp_update_call(c), "update");
}

static int delete_call(struct fi_ctx *c)
{
	return map_delete(c->fd[0]);
}

static bool delete_unchanged(struct fi_ctx *c)
{
	return ASSERT_EQ(map_state(c->fd[0], fi.tcp.value_size), ST_INUSE,
			 "map INUSE") &
	       ASSERT_EQ(ca_registered(TCP_A), 1, "registered");
}

static bool delete_done(struct fi_ctx *c)
{
	return ASSERT_EQ(map_state(c->fd[0], fi.tcp.value_size), ST_TOBEFREE,
			 "map TOBEFREE") &
	       ASSERT_EQ(ca_registered(TCP_A), 0, "not registered");
}

/* map free: the close of the last fd of a READY two-page map */
static bool free_setup(struct fi_ctx *c)
{
	c->fd[0] = map_create(&fi.pg, BPF_F_LINK);
	if (!ASSERT_OK_FD(c->fd[0], "create") ||
	    !ASSERT_OK(map_update(c->fd[0], fi.pg.value), "update"))
		return false;
	c->id = st_map_id(c->fd[0]);
	return ASSERT_NEQ(c->id, 0, "map id");
}

static int free_call(struct fi_ctx *c)
{
	int err = close(c->fd[0]) ? -errno : 0;

	c->fd[0] = -1;
	return err;
}

static bool free_unchanged(struct fi_ctx *c)
{
	/* close() cannot fail in a way the map would survive */
	return ASSERT_FAIL("close failed");
}

static bool free_done(struct fi_ctx *c)
{
	return ASSERT_OK(wait_map_gone(c->id), "map freed");
}

static const struct fi_path paths[] = {
	{ "map_create", create_setup, create_call, create_unchanged, create_done },
	{ "update_tcp", tcp_setup, tcp_update_call, tcp_unchanged, tcp_done },
	{ "update_1", tm_setup, tm_call, tm_unchanged, tm_done, &fi.one },
	{ "update_40", tm_setup, tm_call, tm_unchanged, tm_done, &fi.pg },
	{ "update_link", tcp_link_setup, tcp_update_call, tcp_unchanged, tcp_link_done },
	{ "link_create", link_create_setup, link_create_call,
	  link_create_unchanged, link_create_done },
	{ "link_update", link_update_setup, link_update_call,
	  link_update_unchanged, link_update_done },
	{ "link_detach", detach_setup, detach_call, detach_unchanged, detach_done },
	{ "delete", delete_setup, delete_call, delete_unchanged, delete_done },
	{ "map_free", free_setup, free_call, free_unchanged, free_done },
};

static void fi_ctx_init(struct fi_ctx *c)
{
	int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < ARRAY_SIZE(c->fd); i++)
		c->fd[i] = -1;
}

static void fi_ctx_close(struct fi_ctx *c)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(c->fd); i++)
		close_fd(&c->fd[i]);
	free(c->value);
	fi_ctx_init(c);
}

/*
 * Walk the fault-injection points of @p's call one by one.  Maps freed
 * in earlier rounds give their pages back while later rounds run, so a
 * round can only check that its failed call charged nothing more; that
 * nothing leaked at all is checked once every map of the walk is gone.
 */
static void walk(const struct fi_path *p)
{
	int n, err, points = 0, absorbed = 0;
	struct fi_ctx c;
	long long base, before;
	bool injected = true;

	fi_ctx_init(&c);
	base = settled_jit_current();
	if (!ASSERT_GT(base, 0, "bpf_jit_current"))
		return;
	for (n = 1; n <= MAX_POINTS && injected; n++) {
		c.t = p->t;
		if (!p->setup(&c))
			break;
		before = jit_current();
		if (!ASSERT_TRUE(fail_nth_arm(n), "arm fail-nth"))
			break;
		err = p->call(&c);
		injected = fail_nth_disarm();
		if (!ASSERT_LE(err, 0, "0 or -errno"))
			break;
		if (!injected) {
			/* the call reached no armed point: the walk is over */
			if (!ASSERT_OK(err, "call with no point left to fail"))
				break;
		} else if (!err) {
			absorbed++;
		} else {
			if (!ASSERT_EQ(err, -ENOMEM, "errno of a failed allocation") ||
			    !ASSERT_LE(jit_current(), before, "nothing charged") ||
			    !p->unchanged(&c))
				break;
			err = p->call(&c);
			if (!ASSERT_OK(err, "the same call again"))
				break;
		}
		points += injected;
		if (!p->done(&c))
			break;
		fi_ctx_close(&c);
	}
	fi_ctx_close(&c);
	ASSERT_FALSE(injected, "every point walked");
	ASSERT_EQ(wait_jit_current(base), base, "every page given back");
	ASSERT_EQ(ca_registered(TCP_A), 0, TCP_A " gone");
	printf("%s: %d fault-injection points walked, %d of them absorbed\n",
	       p->name, points, absorbed);
}

static bool fi_setup(void)
{
	fi.page = sysconf(_SC_PAGESIZE);
	fi.skel = struct_ops_faults__open_and_load();
	if (!ASSERT_OK_PTR(fi.skel, "open_and_load"))
		return false;
	fi.vmlinux = btf__load_vmlinux_btf();
	if (!ASSERT_OK_PTR(fi.vmlinux, "vmlinux BTF"))
		return false;
	if (!fi_type_init(&fi.tcp, fi.skel->maps.fi_tcp, "fi_") ||
	    !fi_type_init(&fi.one, fi.skel->maps.fi2_ops, "fi2_") ||
	    !fi_type_init(&fi.pg, fi.skel->maps.pg_ops, "pg_") ||
	    !kcore_open())
		return false;
	fi.one.calls = &fi.skel->bss->fi2_calls;
	fi.one.calls_per_reg = 1;
	fi.pg.calls = &fi.skel->bss->pg_nr_calls;
	fi.pg.calls_per_reg = NR_TRAMPS + 1;
	fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	return ASSERT_OK_FD(fail_nth_fd, "/proc/thread-self/fail-nth");
}

static void fi_teardown(void)
{
	close_fd(&fail_nth_fd);
	kcore_close();
	fi_type_fini(&fi.pg);
	fi_type_fini(&fi.one);
	fi_type_fini(&fi.tcp);
	btf__free(fi.vmlinux);
	struct_ops_faults__destroy(fi.skel);
	memset(&fi, 0, sizeof(fi));
	fi.tcp.obj_fd = -1;
	fi.one.obj_fd = -1;
	fi.pg.obj_fd = -1;
}

void serial_test_struct_ops_pages(void)
{
	if (!fi_setup())
		goto out;
	if (test__start_subtest("call_all"))
		test_call_all();
	if (test__start_subtest("limit_page2"))
		test_limit_page2();
	if (test__start_subtest("protect_fail"))
		test_protect_fail();
	if (test__start_subtest("largest"))
		test_largest();
out:
	fi_teardown();
}

void serial_test_struct_ops_fail_nth(void)
{
	/* GFP_KERNEL allocations and order 0 pages may fail too */
	struct knob k[] = {
		{ FAILSLAB "ignore-gfp-wait" },
		{ FAILSLAB "cache-filter" },
		{ FAILSLAB "verbose" },
		{ FAILPAGE "ignore-gfp-wait" },
		{ FAILPAGE "ignore-gfp-highmem" },
		{ FAILPAGE "min-order" },
		{ FAILPAGE "verbose" },
	};
	static const char * const set[] = { "N", "N", "0", "N", "N", "0", "0" };
	__u32 i;

	if (!fi_setup())
		goto out;
	for (i = 0; i < ARRAY_SIZE(k); i++)
		if (!knob_set(&k[i], set[i]))
			goto out;
	for (i = 0; i < ARRAY_SIZE(paths); i++)
		if (test__start_subtest(paths[i].name))
			walk(&paths[i]);
out:
	knobs_restore(k, ARRAY_SIZE(k));
	fi_teardown();
}
