// SPDX-License-Identifier: GPL-2.0
/*
 * Which struct_ops map a subsystem or a prog is dealing with, with
 * bpf_testmod_multi_st_ops (any number of instances, each registered under
 * its map id):
 *
 * id		bpf_struct_ops_id() is the id bpf_map_get_info_by_fd() reports:
 *		test_1 called by that id is the map's own; a map registered
 *		twice gets -EEXIST, a detached one is not found
 * errno	every error of BPF_PROG_ASSOC_STRUCT_OPS and of libbpf's
 *		wrappers; command 37 is unknown
 * auto		a struct_ops prog is associated with the map whose update
 *		took it, and with none when two maps took it
 * link_update	a prog's association outlives a link moving to another map
 * timer	a timer armed by test_1 reaches test_1's map after the
 *		syscall that armed it returned
 * timer_free	the same timer, calling on while the map is freed: it sees
 *		the map and then no map, nothing else, and the map goes
 * race		BPF_PROG_ASSOC_STRUCT_OPS on a map fd another thread keeps
 *		closing, with progs freed right after: only the expected
 *		errnos, and every map goes away
 * scx_deny	a tcp_congestion_ops prog calling scx_bpf_kick_cpu() fails
 *		to load (-EACCES); sched_ext_ops and syscall progs still may
 *
 * The walk of a map's progs (bpf_struct_ops_for_each_prog()) is checked by
 * bpf_testmod_big_ops' ->reg() on every attach of that type.
 */
#include <test_progs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include "../progs/struct_ops_ident.h"
#include "struct_ops_common.h"
#include "struct_ops_ident.skel.h"
#include "struct_ops_ident_scx.skel.h"

#define CMD_PROG_STREAM_READ_BY_FD	37
#define CMD_PROG_ASSOC_STRUCT_OPS	38
#define RACE_ROUNDS			300

static __u32 id_of(struct bpf_map *map)
{
	return st_map_id(bpf_map__fd(map));
}

/* Run a syscall prog: its return value, or INT_MIN if it did not run */
static int run(struct bpf_program *prog)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts))
		return INT_MIN;
	return opts.retval;
}

static int call_by_id(struct struct_ops_ident *skel, __u32 id)
{
	skel->bss->call_id = id;
	return run(skel->progs.call_by_id);
}

/* The raw command, for the errnos the kernel itself returns */
static int assoc_raw(int prog_fd, int map_fd, __u32 flags, unsigned int size)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_assoc_struct_ops.map_fd = map_fd;
	attr.prog_assoc_struct_ops.prog_fd = prog_fd;
	attr.prog_assoc_struct_ops.flags = flags;
	if (syscall(__NR_bpf, CMD_PROG_ASSOC_STRUCT_OPS, &attr, size) < 0)
		return -errno;
	return 0;
}

/* Close @fd and leave /dev/null in its place: the skeleton closes it later. */
static int close_keep_slot(int fd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC), ret;

	if (null < 0)
		return -errno;
	ret = dup2(null, fd) == fd ? 0 : -errno;
	close(null);
	return ret;
}

static void test_id(void)
{
	struct bpf_link *link_a = NULL, *link_b = NULL, *again;
	struct struct_ops_ident *skel;
	__u32 id_a, id_b;

	skel = struct_ops_ident__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	id_a = id_of(skel->maps.map_a);
	id_b = id_of(skel->maps.map_b);
	if (!ASSERT_NEQ(id_a, 0, "id_a") || !ASSERT_NEQ(id_b, 0, "id_b"))
		goto out;

	ASSERT_EQ(call_by_id(skel, id_a), IDENT_NONE, "a before attach");
	link_a = bpf_map__attach_struct_ops(skel->maps.map_a);
	link_b = bpf_map__attach_struct_ops(skel->maps.map_b);
	if (!ASSERT_OK_PTR(link_a, "attach a") || !ASSERT_OK_PTR(link_b, "attach b"))
		goto out;
	ASSERT_EQ(call_by_id(skel, id_a), IDENT_MAGIC_A, "by id a");
	ASSERT_EQ(call_by_id(skel, id_b), IDENT_MAGIC_B, "by id b");
	ASSERT_EQ(call_by_id(skel, 0), IDENT_NONE, "by id 0");

	/* ->reg() refuses a second registration under the same id. */
	again = bpf_map__attach_struct_ops(skel->maps.map_a);
	ASSERT_ERR_PTR(again, "attach a again");
	ASSERT_EQ(libbpf_get_error(again), -EEXIST, "attach a again errno");

	bpf_link__destroy(link_a);
	link_a = NULL;
	ASSERT_EQ(call_by_id(skel, id_a), IDENT_NONE, "a after detach");
	ASSERT_EQ(call_by_id(skel, id_b), IDENT_MAGIC_B, "b after a's detach");
out:
	bpf_link__destroy(link_a);
	bpf_link__destroy(link_b);
	struct_ops_ident__destroy(skel);
}

static void test_errno(void)
{
	struct bpf_prog_assoc_struct_ops_opts opts = { .sz = sizeof(opts) };
	const size_t attr_sz = offsetofend(union bpf_attr, prog_assoc_struct_ops);
	int prog_fd, prog2_fd, st_fd, st_b_fd, array_fd, gone_fd;
	struct struct_ops_ident *skel;
	union bpf_attr attr;

	skel = struct_ops_ident__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	prog_fd = bpf_program__fd(skel->progs.call_assoc);
	prog2_fd = bpf_program__fd(skel->progs.call_assoc2);
	st_fd = bpf_map__fd(skel->maps.map_a);
	st_b_fd = bpf_map__fd(skel->maps.map_b);
	array_fd = bpf_map__fd(skel->maps.timers);

	ASSERT_EQ(assoc_raw(prog_fd, st_fd, 1, attr_sz), -EINVAL, "flags");
	ASSERT_EQ(assoc_raw(-1, st_fd, 0, attr_sz), -EBADF, "bad prog fd");
	ASSERT_EQ(assoc_raw(array_fd, st_fd, 0, attr_sz), -EINVAL, "prog fd is a map");
	ASSERT_EQ(assoc_raw(bpf_program__fd(skel->progs.test_1_a), st_fd, 0, attr_sz),
		  -EINVAL, "struct_ops prog");
	ASSERT_EQ(assoc_raw(prog_fd, -1, 0, attr_sz), -EBADF, "bad map fd");
	ASSERT_EQ(assoc_raw(prog_fd, prog2_fd, 0, attr_sz), -EINVAL, "map fd is a prog");
	ASSERT_EQ(assoc_raw(prog_fd, array_fd, 0, attr_sz), -EINVAL, "not struct_ops");

	gone_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "gone", 4, 4, 1, NULL);
	if (ASSERT_GE(gone_fd, 0, "map to close")) {
		close(gone_fd);
		ASSERT_EQ(assoc_raw(prog_fd, gone_fd, 0, attr_sz), -EBADF, "closed map");
	}

	/* Non-zero bytes past the attr's last field */
	memset(&attr, 0, sizeof(attr));
	attr.prog_assoc_struct_ops.map_fd = st_fd;
	attr.prog_assoc_struct_ops.prog_fd = prog_fd;
	((char *)&attr)[attr_sz] = 1;
	ASSERT_EQ(syscall(__NR_bpf, CMD_PROG_ASSOC_STRUCT_OPS, &attr, attr_sz + 4) < 0 ?
		  -errno : 0, -EINVAL, "tail not zero");
	ASSERT_EQ(syscall(__NR_bpf, CMD_PROG_STREAM_READ_BY_FD, &attr, sizeof(attr)) < 0 ?
		  -errno : 0, -EINVAL, "command 37");

	/* None of the failures above associated anything. */
	ASSERT_EQ(assoc_raw(prog_fd, st_fd, 0, attr_sz), 0, "assoc");
	ASSERT_EQ(assoc_raw(prog_fd, st_fd, 0, attr_sz), 0, "same map again");
	ASSERT_EQ(assoc_raw(prog_fd, st_b_fd, 0, attr_sz), -EBUSY, "other map");

	/* libbpf's wrappers */
	ASSERT_EQ(bpf_prog_assoc_struct_ops(prog2_fd, st_b_fd, &opts), 0, "libbpf assoc");
	ASSERT_EQ(bpf_prog_assoc_struct_ops(prog2_fd, st_fd, NULL), -EBUSY, "libbpf busy");
	opts.flags = 1;
	ASSERT_EQ(bpf_prog_assoc_struct_ops(prog2_fd, st_b_fd, &opts), -EINVAL, "libbpf flags");
	ASSERT_EQ(bpf_program__assoc_struct_ops(skel->progs.test_1_a, skel->maps.map_a, NULL),
		  -EINVAL, "program is struct_ops");
	ASSERT_EQ(bpf_program__assoc_struct_ops(skel->progs.call_by_id, skel->maps.timers, NULL),
		  -EINVAL, "map not struct_ops");
	ASSERT_EQ(bpf_program__assoc_struct_ops(skel->progs.call_by_id, skel->maps.map_a, NULL),
		  0, "program assoc");

	/* Associated with map_a, never updated: no test_1 to call */
	ASSERT_EQ(run(skel->progs.call_assoc), IDENT_NONE, "map_a not updated yet");
	struct_ops_ident__destroy(skel);
}

static void test_auto(void)
{
	struct bpf_link *a = NULL, *c = NULL, *d = NULL;
	struct struct_ops_ident *skel;

	skel = struct_ops_ident__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	a = bpf_map__attach_struct_ops(skel->maps.map_a);
	c = bpf_map__attach_struct_ops(skel->maps.map_c);
	d = bpf_map__attach_struct_ops(skel->maps.map_d);
	if (!ASSERT_OK_PTR(a, "attach a") || !ASSERT_OK_PTR(c, "attach c") ||
	    !ASSERT_OK_PTR(d, "attach d"))
		goto out;

	skel->bss->self_a = 0;
	skel->bss->ask_self = 1;
	ASSERT_EQ(call_by_id(skel, id_of(skel->maps.map_a)), IDENT_MAGIC_A, "call a");
	ASSERT_EQ(skel->bss->self_a, IDENT_MAGIC_A, "test_1_a's own map");

	/* test_1_shared is in two maps: the association is ambiguous. */
	skel->bss->self_c = 0;
	skel->bss->ask_self = 1;
	ASSERT_EQ(call_by_id(skel, id_of(skel->maps.map_d)), IDENT_MAGIC_C, "call d");
	ASSERT_EQ(skel->bss->self_c, IDENT_NONE, "shared prog: no map");
out:
	bpf_link__destroy(a);
	bpf_link__destroy(c);
	bpf_link__destroy(d);
	struct_ops_ident__destroy(skel);
}

static void test_link_update(void)
{
	struct struct_ops_ident *skel;
	struct bpf_link *link;
	int err;

	skel = struct_ops_ident__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	err = bpf_program__assoc_struct_ops(skel->progs.call_assoc, skel->maps.map_a, NULL);
	if (!ASSERT_OK(err, "assoc call_assoc with a"))
		goto out;
	/* map_b's update happens at attach; link_update takes an updated map */
	link = bpf_map__attach_struct_ops(skel->maps.map_b);
	if (!ASSERT_OK_PTR(link, "attach b"))
		goto out;
	bpf_link__destroy(link);
	link = bpf_map__attach_struct_ops(skel->maps.map_a);
	if (!ASSERT_OK_PTR(link, "attach a"))
		goto out;
	ASSERT_EQ(run(skel->progs.call_assoc), IDENT_MAGIC_A, "before update");

	err = bpf_link__update_map(link, skel->maps.map_b);
	if (ASSERT_OK(err, "link to b")) {
		ASSERT_EQ(call_by_id(skel, id_of(skel->maps.map_a)), IDENT_NONE, "a gone");
		ASSERT_EQ(call_by_id(skel, id_of(skel->maps.map_b)), IDENT_MAGIC_B, "b there");
		/* Still map_a, for call_assoc and for test_1_a itself */
		skel->bss->self_a = 0;
		skel->bss->ask_self = 1;
		ASSERT_EQ(run(skel->progs.call_assoc), IDENT_MAGIC_A, "after update");
		ASSERT_EQ(skel->bss->self_a, IDENT_MAGIC_A, "test_1_a after update");
	}
	bpf_link__destroy(link);
out:
	struct_ops_ident__destroy(skel);
}

/* Wait (bounded) for the timer callback to be done: 0 or -ETIMEDOUT */
static int wait_timer_done(struct struct_ops_ident *skel)
{
	__u64 end = st_now_ms() + ST_WAIT_MS;

	while (!__atomic_load_n(&skel->bss->timer_done, __ATOMIC_ACQUIRE)) {
		if (st_now_ms() >= end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/*
 * Arm the timer through call_assoc (associated with map_t): test_1_t runs
 * in the syscall, the callback later.
 */
static struct struct_ops_ident *arm_timer(struct bpf_link **link, __u64 ns, int max)
{
	struct struct_ops_ident *skel;

	skel = struct_ops_ident__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return NULL;
	*link = bpf_map__attach_struct_ops(skel->maps.map_t);
	if (!ASSERT_OK_PTR(*link, "attach t") ||
	    !ASSERT_OK(bpf_program__assoc_struct_ops(skel->progs.call_assoc,
						     skel->maps.map_t, NULL), "assoc")) {
		bpf_link__destroy(*link);
		struct_ops_ident__destroy(skel);
		return NULL;
	}
	skel->bss->timer_ns = ns;
	skel->bss->timer_max = max;
	skel->bss->arm = 1;
	ASSERT_EQ(run(skel->progs.call_assoc), IDENT_MAGIC_T, "arm");
	ASSERT_EQ(skel->bss->arm, 0, "armed");
	return skel;
}

static void test_timer(void)
{
	struct struct_ops_ident *skel;
	struct bpf_link *link;

	skel = arm_timer(&link, 1000000, 5);
	if (!skel)
		return;
	ASSERT_OK(wait_timer_done(skel), "timer done");
	ASSERT_EQ(skel->bss->timer_magic, 5, "reached map_t");
	ASSERT_EQ(skel->bss->timer_none, 0, "no map");
	ASSERT_EQ(skel->bss->timer_other, 0, "other");
	bpf_link__destroy(link);
	struct_ops_ident__destroy(skel);
}

static void test_timer_free(void)
{
	struct struct_ops_ident *skel;
	struct bpf_link *link;
	int round;
	__u32 id;

	/* A few rounds: the callback runs on while map_t is freed. */
	for (round = 0; round < 3; round++) {
		skel = arm_timer(&link, 100000, INT_MAX);
		if (!skel)
			return;
		id = id_of(skel->maps.map_t);
		/* map_t is held by the link, its fd and call_assoc */
		bpf_link__destroy(link);
		ASSERT_OK(close_keep_slot(bpf_program__fd(skel->progs.call_assoc)), "close prog");
		ASSERT_OK(close_keep_slot(bpf_map__fd(skel->maps.map_t)), "close map");

		ASSERT_OK(wait_map_gone(id), "map_t freed");
		ASSERT_OK(wait_timer_done(skel), "timer done");
		ASSERT_EQ(skel->bss->timer_none, 1, "then no map");
		ASSERT_EQ(skel->bss->timer_other, 0, "nothing else");
		struct_ops_ident__destroy(skel);
	}
}

struct race {
	atomic_int map_fd;
	atomic_bool stop;
	int value_size;
	struct bpf_map_create_opts opts;
	__u32 ids[RACE_ROUNDS];
	int nr_ids;
	int create_err;
};

/* Create INIT struct_ops maps and close them again, over and over. */
static void *race_maps(void *arg)
{
	struct race *r = arg;
	struct bpf_map_info info;
	__u32 len;
	int fd;

	while (!r->stop && r->nr_ids < RACE_ROUNDS) {
		fd = bpf_map_create(BPF_MAP_TYPE_STRUCT_OPS, "ident_race", 4,
				    r->value_size, 1, &r->opts);
		if (fd < 0) {
			r->create_err = -errno;
			break;
		}
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_map_get_info_by_fd(fd, &info, &len))
			r->ids[r->nr_ids++] = info.id;
		r->map_fd = fd;
		usleep(200);
		r->map_fd = -1;
		close(fd);
	}
	return NULL;
}

static void test_race(void)
{
	const struct bpf_insn insns[] = {
		BPF_MOV64_IMM(BPF_REG_0, 0),
		BPF_EXIT_INSN(),
	};
	/* Syscall progs must be sleepable. */
	LIBBPF_OPTS(bpf_prog_load_opts, load_opts, .prog_flags = BPF_F_SLEEPABLE);
	struct struct_ops_ident *skel;
	int i, prog_fd, err, ok = 0, gone = 0, other = 0, btf_fd = -1;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct race *r;
	pthread_t thread;

	r = calloc(1, sizeof(*r));
	skel = struct_ops_ident__open_and_load();
	if (!ASSERT_OK_PTR(r, "calloc") || !ASSERT_OK_PTR(skel, "open_and_load"))
		goto out;
	/* Maps of the same type as map_a, which the kernel describes */
	if (!ASSERT_OK(bpf_map_get_info_by_fd(bpf_map__fd(skel->maps.map_a), &info, &len),
		       "map_a info"))
		goto out;
	btf_fd = bpf_btf_get_fd_by_id(info.btf_vmlinux_id);
	if (!ASSERT_GE(btf_fd, 0, "module btf"))
		goto out;
	r->value_size = info.value_size;
	r->opts.sz = sizeof(r->opts);
	r->opts.map_flags = BPF_F_LINK | BPF_F_VTYPE_BTF_OBJ_FD;
	r->opts.btf_vmlinux_value_type_id = info.btf_vmlinux_value_type_id;
	r->opts.value_type_btf_obj_fd = btf_fd;
	/* Map create wants the BTF of a BPF object too. */
	r->opts.btf_fd = bpf_object__btf_fd(skel->obj);
	r->map_fd = -1;
	if (!ASSERT_OK(pthread_create(&thread, NULL, race_maps, r), "pthread_create"))
		goto out;

	for (i = 0; i < RACE_ROUNDS; i++) {
		prog_fd = bpf_prog_load(BPF_PROG_TYPE_SYSCALL, "ident_race", "GPL",
					insns, ARRAY_SIZE(insns), &load_opts);
		if (prog_fd < 0) {
			ASSERT_GE(prog_fd, 0, "prog load");
			break;
		}
		err = bpf_prog_assoc_struct_ops(prog_fd, r->map_fd, NULL);
		if (!err)
			ok++;
		else if (err == -EBADF || err == -EINVAL)
			gone++;	/* closed, or the number is not a map now */
		else
			other++;
		/* The prog, and the map reference it may hold, go now. */
		close(prog_fd);
	}
	r->stop = true;
	pthread_join(thread, NULL);

	ASSERT_EQ(i, RACE_ROUNDS, "rounds");
	ASSERT_OK(r->create_err, "map create");
	ASSERT_EQ(other, 0, "unexpected errno");
	ASSERT_EQ(ok + gone, RACE_ROUNDS, "every call answered");
	ASSERT_GT(r->nr_ids, 0, "maps created");
	for (i = 0; i < r->nr_ids; i++) {
		err = wait_map_gone(r->ids[i]);
		if (err) {
			ASSERT_OK(err, "map freed");
			break;
		}
	}
	if (env.verbosity > VERBOSE_NONE)
		printf("%s: %d associated, %d after close, %d maps\n", __func__,
		       ok, gone, r->nr_ids);
out:
	if (btf_fd >= 0)
		close(btf_fd);
	struct_ops_ident__destroy(skel);
	free(r);
}

/*
 * Load only @prog (and @map, for a struct_ops prog): the load's error.
 * With @log, the verifier's log goes there.
 */
static int load_one(struct bpf_program *prog, struct bpf_map *map,
		    struct struct_ops_ident_scx **skelp, char *log, size_t log_sz)
{
	struct struct_ops_ident_scx *skel;

	skel = struct_ops_ident_scx__open();
	if (!skel)
		return -errno;
	*skelp = skel;
	/* The same program and map, in the skeleton just opened */
	prog = bpf_object__find_program_by_name(skel->obj, bpf_program__name(prog));
	if (map)
		map = bpf_object__find_map_by_name(skel->obj, bpf_map__name(map));
	if (!prog || (map && bpf_map__set_autocreate(map, true)))
		return -ENOENT;
	if (!map)
		bpf_program__set_autoload(prog, true);
	if (log && (bpf_program__set_log_buf(prog, log, log_sz) ||
		    bpf_program__set_log_level(prog, 1)))
		return -EINVAL;
	return struct_ops_ident_scx__load(skel);
}

static void test_scx_deny(void)
{
	struct struct_ops_ident_scx *tmpl, *skel = NULL;
	static char log[65536];
	int err;

	/* Only for the names of the programs and maps */
	tmpl = struct_ops_ident_scx__open();
	if (!ASSERT_OK_PTR(tmpl, "open"))
		return;

	log[0] = 0;
	err = load_one(tmpl->progs.tcp_ssthresh, tmpl->maps.ident_tcp, &skel, log, sizeof(log));
	ASSERT_EQ(err, -EACCES, "tcp prog calling scx_bpf_kick_cpu");
	ASSERT_HAS_SUBSTR(log, "calling kernel function scx_bpf_kick_cpu is not allowed",
			  "verifier log");
	struct_ops_ident_scx__destroy(skel);

	skel = NULL;
	err = load_one(tmpl->progs.scx_select_cpu, tmpl->maps.ident_scx, &skel, NULL, 0);
	ASSERT_OK(err, "sched_ext_ops prog");
	struct_ops_ident_scx__destroy(skel);

	skel = NULL;
	err = load_one(tmpl->progs.syscall_kick, NULL, &skel, NULL, 0);
	ASSERT_OK(err, "syscall prog");
	struct_ops_ident_scx__destroy(skel);
	struct_ops_ident_scx__destroy(tmpl);
}

void serial_test_struct_ops_ident(void)
{
	if (test__start_subtest("id"))
		test_id();
	if (test__start_subtest("errno"))
		test_errno();
	if (test__start_subtest("auto"))
		test_auto();
	if (test__start_subtest("link_update"))
		test_link_update();
	if (test__start_subtest("timer"))
		test_timer();
	if (test__start_subtest("timer_free"))
		test_timer_free();
	if (test__start_subtest("race"))
		test_race();
	if (test__start_subtest("scx_deny"))
		test_scx_deny();
}
