// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_congestion_ops struct_ops maps under concurrent use, and what their
 * trampolines cost in the JIT's module memory budget.
 *
 * struct_ops_lifecycle - threads race on one map or one link: updates,
 *	deletes and lookups; closes of map and link fds against
 *	BPF_LINK_UPDATE; BPF_LINK_UPDATE against BPF_LINK_DETACH; many maps
 *	registering one congestion control name; sockets switching to and
 *	from a congestion control while its map is deleted.  Every call must
 *	end with success or one of the errnos documented for that race, and
 *	the final state (registered names, maps left) must be exact.  Each
 *	subtest runs a fixed number of rounds; one that has not done them
 *	all within LC_CAP_MS fails.
 *
 * struct_ops_jit_charge - every trampoline page is charged to
 *	bpf_jit_current and must be uncharged when the map is freed.  The
 *	counter is read from /proc/kcore; with net.core.bpf_jit_limit lowered
 *	to leave room for exactly K pages, a task without CAP_BPF and
 *	CAP_SYS_ADMIN registers exactly K maps, then gets EPERM, round after
 *	round.
 */
#include <test_progs.h>
#include <pthread.h>
#include <netinet/tcp.h>
#include <bpf/btf.h>
#include "cap_helpers.h"
#include "network_helpers.h"
#include "struct_ops_lifecycle.skel.h"
#include "struct_ops_common.h"

#define TCP_CONG_NON_RESTRICTED	0x1
#define WAIT_MS			20000
/* Bounds a subtest's rounds; a correct kernel under KASAN stays well within */
#define LC_CAP_MS		120000

/* enum bpf_struct_ops_state */
enum { ST_INIT, ST_INUSE, ST_TOBEFREE, ST_READY };

enum { M_SSTHRESH, M_CONG_AVOID, M_UNDO_CWND, M_INIT, M_NAME, M_FLAGS, NR_M };

static const char * const member_names[NR_M] = {
	"ssthresh", "cong_avoid", "undo_cwnd", "init", "name", "flags",
};

/* Layout of struct bpf_struct_ops_tcp_congestion_ops, and our progs */
static struct {
	__u32 value_type_id;
	__u32 value_size;
	__u32 data_off;
	__u32 off[NR_M];
	int prog_fd[M_INIT + 1];
	struct struct_ops_lifecycle *skel;
} lc;

/* Flags the main thread sets and the racing threads poll */
static int flag(int *f)
{
	return __atomic_load_n(f, __ATOMIC_ACQUIRE);
}

static void set_flag(int *f, int val)
{
	__atomic_store_n(f, val, __ATOMIC_RELEASE);
}

static int member_off(const struct btf *btf, __u32 id, const char *name)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m = btf_members(t);
	int i;

	for (i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), name))
			return btf_member_bit_offset(t, i) / 8;
	return -ENOENT;
}

static bool lc_setup(void)
{
	struct btf *btf;
	int id, ops_id, off, i;
	bool ok = false;

	lc.skel = struct_ops_lifecycle__open_and_load();
	if (!ASSERT_OK_PTR(lc.skel, "open_and_load"))
		return false;
	lc.prog_fd[M_SSTHRESH] = bpf_program__fd(lc.skel->progs.lc_ssthresh);
	lc.prog_fd[M_CONG_AVOID] = bpf_program__fd(lc.skel->progs.lc_cong_avoid);
	lc.prog_fd[M_UNDO_CWND] = bpf_program__fd(lc.skel->progs.lc_undo_cwnd);
	lc.prog_fd[M_INIT] = bpf_program__fd(lc.skel->progs.lc_init);

	btf = btf__load_vmlinux_btf();
	if (!ASSERT_OK_PTR(btf, "vmlinux BTF"))
		return false;
	id = btf__find_by_name_kind(btf, "bpf_struct_ops_tcp_congestion_ops",
				    BTF_KIND_STRUCT);
	ops_id = btf__find_by_name_kind(btf, "tcp_congestion_ops", BTF_KIND_STRUCT);
	if (!ASSERT_GT(id, 0, "value type") || !ASSERT_GT(ops_id, 0, "ops type"))
		goto out;
	lc.value_type_id = id;
	lc.value_size = btf__type_by_id(btf, id)->size;
	off = member_off(btf, id, "data");
	if (!ASSERT_GE(off, 0, "data member"))
		goto out;
	lc.data_off = off;
	for (i = 0; i < NR_M; i++) {
		off = member_off(btf, ops_id, member_names[i]);
		if (!ASSERT_GE(off, 0, member_names[i]))
			goto out;
		lc.off[i] = lc.data_off + off;
	}
	ok = true;
out:
	btf__free(btf);
	return ok;
}

static void lc_teardown(void)
{
	struct_ops_lifecycle__destroy(lc.skel);
	memset(&lc, 0, sizeof(lc));
}

static int tcp_map(__u32 flags)
{
	/* the kernel wants a BTF fd with the value type: the object's */
	LIBBPF_OPTS(bpf_map_create_opts, o,
		    .btf_fd = bpf_object__btf_fd(lc.skel->obj),
		    .btf_vmlinux_value_type_id = lc.value_type_id,
		    .map_flags = flags);

	return bpf_map_create(BPF_MAP_TYPE_STRUCT_OPS, "lc_map", sizeof(int),
			      lc.value_size, 1, &o);
}

/* A value naming @name with our progs; without undo_cwnd it is invalid */
static void *tcp_value(const char *name, bool valid)
{
	char *v = calloc(1, lc.value_size);
	int i;

	if (!v)
		return NULL;
	for (i = M_SSTHRESH; i <= M_INIT; i++)
		*(__u64 *)(v + lc.off[i]) = lc.prog_fd[i];
	if (!valid)
		*(__u64 *)(v + lc.off[M_UNDO_CWND]) = 0;
	memcpy(v + lc.off[M_NAME], name, strnlen(name, 15));
	*(__u32 *)(v + lc.off[M_FLAGS]) = TCP_CONG_NON_RESTRICTED;
	return v;
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

/* state of the value, or -errno */
static int map_state(int fd, void *buf)
{
	int zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, buf))
		return -errno;
	return ((__u32 *)buf)[1];
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_map_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* Is @name in net.ipv4.tcp_available_congestion_control? */
static int ca_available(const char *name)
{
	char buf[1024], *tok, *save;
	FILE *f;
	int found = 0;

	f = fopen("/proc/sys/net/ipv4/tcp_available_congestion_control", "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (tok = strtok_r(buf, "\n\t ", &save); tok;
	     tok = strtok_r(NULL, "\n\t ", &save))
		if (!strcmp(tok, name))
			found++;
	return found;
}

/* Outcome counters of one racing thread */
struct tally {
	int ok;
	int err1;		/* first expected errno */
	int err2;		/* second expected errno */
	int bad;		/* anything else */
	int bad_err;		/* the last unexpected result */
};

static void count(struct tally *t, int err, int e1, int e2)
{
	if (!err)
		t->ok++;
	else if (err == e1)
		t->err1++;
	else if (err == e2)
		t->err2++;
	else
		t->bad++, t->bad_err = err;
}

/*
 * map_ops: on one plain map, 2 threads update, 2 delete and 2 look up.
 * Exactly one update registers it (the others: EBUSY); exactly one delete
 * unregisters it, the others see ENOENT (not yet registered) or
 * EINPROGRESS (already being unregistered); a lookup always succeeds and
 * sees INIT, INUSE or TOBEFREE.
 */
#define OPS_ROUNDS	10
#define OPS_PER_THREAD	25

enum { OP_UPDATE, OP_DELETE, OP_LOOKUP };

struct map_worker {
	pthread_t thread;
	int *go;
	int op, fd;
	const void *value;
	struct tally t;
};

static void *map_worker(void *arg)
{
	struct map_worker *w = arg;
	void *buf = calloc(1, lc.value_size);
	int i, r;

	while (!flag(w->go))
		sched_yield();
	for (i = 0; i < OPS_PER_THREAD && buf; i++) {
		switch (w->op) {
		case OP_UPDATE:
			count(&w->t, map_update(w->fd, w->value), -EBUSY, -EBUSY);
			break;
		case OP_DELETE:
			count(&w->t, map_delete(w->fd), -ENOENT, -EINPROGRESS);
			break;
		case OP_LOOKUP:
			r = map_state(w->fd, buf);
			/* any other state is reported as 1000 + state */
			if (r >= ST_INIT && r <= ST_TOBEFREE)
				r = 0;
			else if (r > 0)
				r += 1000;
			count(&w->t, r, 0, 0);
			break;
		}
		if (!(i & 3))
			sched_yield();
	}
	if (!buf)
		w->t.bad++;
	free(buf);
	return NULL;
}

static void test_map_ops(void)
{
	struct map_worker w[6] = {};
	int go;
	void *v = tcp_value("lc_ops", true);
	void *buf = calloc(1, lc.value_size);
	int round, i, fd, err, nr_upd, nr_del, started, rounds = 0;
	__u64 end = st_now_ms() + LC_CAP_MS;

	if (!ASSERT_OK_PTR(v, "value") || !ASSERT_OK_PTR(buf, "buf"))
		goto out;
	for (round = 0; round < OPS_ROUNDS && st_now_ms() < end; round++) {
		fd = tcp_map(0);
		if (!ASSERT_OK_FD(fd, "create"))
			break;
		set_flag(&go, 0);
		for (started = 0; started < ARRAY_SIZE(w); started++) {
			i = started;
			memset(&w[i], 0, sizeof(w[i]));
			w[i].op = i / 2;
			w[i].fd = fd;
			w[i].value = v;
			w[i].go = &go;
			if (pthread_create(&w[i].thread, NULL, map_worker, &w[i]))
				break;
		}
		set_flag(&go, 1);
		nr_upd = 0;
		nr_del = 0;
		for (i = 0; i < started; i++) {
			pthread_join(w[i].thread, NULL);
			ASSERT_EQ(w[i].t.bad, 0, "unexpected errors");
			ASSERT_EQ(w[i].t.bad_err, 0, "unexpected error");
			if (w[i].op == OP_UPDATE)
				nr_upd += w[i].t.ok;
			else if (w[i].op == OP_DELETE)
				nr_del += w[i].t.ok;
		}
		if (!ASSERT_EQ(started, ARRAY_SIZE(w), "threads")) {
			map_delete(fd);
			close(fd);
			break;
		}
		ASSERT_EQ(nr_upd, 1, "updates that registered");
		err = map_delete(fd);
		ASSERT_EQ(err, nr_del ? -EINPROGRESS : 0, "final delete");
		ASSERT_EQ(nr_del + !err, 1, "deletes that unregistered");
		ASSERT_EQ(map_state(fd, buf), ST_TOBEFREE, "state at the end");
		ASSERT_EQ(ca_available("lc_ops"), 0, "lc_ops unregistered");
		close(fd);
		rounds++;
	}
	ASSERT_EQ(rounds, OPS_ROUNDS, "rounds within the time cap");
	printf("map_ops: %d rounds of %d threads x %d ops\n", rounds,
	       (int)ARRAY_SIZE(w), OPS_PER_THREAD);
out:
	free(buf);
	free(v);
}

/*
 * Two BPF_F_LINK maps of one name, a and b, and a link on a.  One thread
 * moves the link a -> b -> a ... with BPF_LINK_UPDATE; it hits EBADF once
 * the main thread has closed the fds it uses, and stops.  The main thread
 * closes a, b and the link, in an order that changes every round.  In the
 * end nothing is registered and both maps are freed.
 */
#define CLOSE_ROUNDS	12
#define UPDATES		200

struct link_worker {
	pthread_t thread;
	int *go;
	int link, a, b;
	__u64 end;
	bool stop_on_ebadf;
	struct tally t;
	int ok_after_enolink;	/* a success after ENOLINK: a bug */
};

/*
 * Move the link to the map it is not on: a successful update flips it.
 * Stops at the first EBADF (stop_on_ebadf), after 20 ENOLINK, or at the
 * deadline.
 */
static void *link_updater(void *arg)
{
	struct link_worker *w = arg;
	int err;

	while (!flag(w->go))
		sched_yield();
	while (st_now_ms() < w->end) {
		err = bpf_link_update(w->link, w->t.ok & 1 ? w->a : w->b, NULL);
		count(&w->t, err, -EBADF, -ENOLINK);
		if (!err && w->t.err2)
			w->ok_after_enolink++;
		if (err == -EBADF && w->stop_on_ebadf)
			break;
		if (w->t.err2 > 20 || w->t.bad > 20)
			break;
	}
	return NULL;
}

static bool link_pair(int *a, int *b, int *link, const char *name)
{
	void *v = tcp_value(name, true);
	bool ok = false;

	*a = tcp_map(BPF_F_LINK);
	*b = tcp_map(BPF_F_LINK);
	*link = -1;
	if (!ASSERT_OK_PTR(v, "value") || !ASSERT_OK_FD(*a, "map a") ||
	    !ASSERT_OK_FD(*b, "map b"))
		goto out;
	if (!ASSERT_OK(map_update(*a, v), "update a") ||
	    !ASSERT_OK(map_update(*b, v), "update b"))
		goto out;
	*link = bpf_link_create(*a, 0, BPF_STRUCT_OPS, NULL);
	ok = ASSERT_OK_FD(*link, "link a");
out:
	free(v);
	return ok;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Start a link_updater on @link, moving it between @a and @b, and let it
 * go after a delay that varies with @round.
 */
static bool start_updater(struct link_worker *w, int *go, int link, int a,
			  int b, bool stop_on_ebadf, int round)
{
	memset(w, 0, sizeof(*w));
	w->link = link;
	w->a = a;
	w->b = b;
	w->stop_on_ebadf = stop_on_ebadf;
	w->go = go;
	w->end = st_now_ms() + WAIT_MS;
	set_flag(go, 0);
	if (!ASSERT_OK(pthread_create(&w->thread, NULL, link_updater, w),
		       "updater"))
		return false;
	set_flag(go, 1);
	usleep((round % 4) * 3000);
	return true;
}

static void test_close_vs_link_update(void)
{
	struct link_worker w;
	int go;
	int round, a, b, link, rounds = 0, total_ok = 0;
	__u32 id_a, id_b;
	__u64 end = st_now_ms() + LC_CAP_MS;

	for (round = 0; round < CLOSE_ROUNDS && st_now_ms() < end; round++) {
		if (!link_pair(&a, &b, &link, "lc_close")) {
			close_fd(&link);
			close_fd(&a);
			close_fd(&b);
			break;
		}
		id_a = map_id(a);
		id_b = map_id(b);
		if (!start_updater(&w, &go, link, a, b, true, round)) {
			close_fd(&link);
			close_fd(&a);
			close_fd(&b);
			break;
		}
		/*
		 * No fd is opened until the updater is joined, so the fd
		 * numbers it still uses cannot name anything else.
		 */
		switch (round % 3) {
		case 0:
			close_fd(&link);
			close_fd(&a);
			close_fd(&b);
			break;
		case 1:
			close_fd(&a);
			close_fd(&b);
			close_fd(&link);
			break;
		default:
			close_fd(&b);
			close_fd(&link);
			close_fd(&a);
			break;
		}
		pthread_join(w.thread, NULL);
		ASSERT_EQ(w.t.bad, 0, "unexpected errors");
		ASSERT_EQ(w.t.bad_err, 0, "unexpected error");
		ASSERT_EQ(w.t.err2, 0, "ENOLINK without a detach");
		ASSERT_EQ(w.t.err1, 1, "stopped at the first EBADF");
		total_ok += w.t.ok;
		ASSERT_EQ(ca_available("lc_close"), 0, "lc_close unregistered");
		ASSERT_OK(wait_map_gone(id_a), "map a freed");
		ASSERT_OK(wait_map_gone(id_b), "map b freed");
		rounds++;
	}
	ASSERT_EQ(rounds, CLOSE_ROUNDS, "rounds within the time cap");
	ASSERT_GT(total_ok, 0, "updates that moved the link");
	printf("close_vs_link_update: %d rounds, %d updates before the close\n",
	       rounds, total_ok);
}

/*
 * The link is detached while a thread moves it between a and b.  Every
 * update after the detach must fail with ENOLINK, none may succeed after
 * an ENOLINK, and the detached link holds no map: nothing stays
 * registered and both maps are freed once their fds are closed.
 */
#define DETACH_ROUNDS	12

static void test_link_update_vs_detach(void)
{
	struct link_worker w;
	int go;
	struct bpf_link_info info;
	__u32 len, id_a, id_b;
	int round, a, b, link, rounds = 0, total_ok = 0;
	__u64 end = st_now_ms() + LC_CAP_MS;

	for (round = 0; round < DETACH_ROUNDS && st_now_ms() < end; round++) {
		if (!link_pair(&a, &b, &link, "lc_detach"))
			goto next;
		id_a = map_id(a);
		id_b = map_id(b);
		if (!start_updater(&w, &go, link, a, b, false, round))
			goto next;
		ASSERT_OK(bpf_link_detach(link), "detach");
		pthread_join(w.thread, NULL);

		ASSERT_EQ(w.t.bad, 0, "unexpected errors");
		ASSERT_EQ(w.t.bad_err, 0, "unexpected error");
		ASSERT_EQ(w.t.err1, 0, "EBADF");
		ASSERT_EQ(w.ok_after_enolink, 0, "update after ENOLINK");
		total_ok += w.t.ok;
		ASSERT_EQ(bpf_link_update(link, a, NULL), -ENOLINK,
			  "update after the detach");
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (ASSERT_OK(bpf_link_get_info_by_fd(link, &info, &len), "link info"))
			ASSERT_EQ(info.struct_ops.map_id, 0, "detached link map_id");
		ASSERT_EQ(ca_available("lc_detach"), 0, "lc_detach unregistered");
		close_fd(&a);
		close_fd(&b);
		/* the detached link must not keep either map */
		ASSERT_OK(wait_map_gone(id_a), "map a freed, link open");
		ASSERT_OK(wait_map_gone(id_b), "map b freed, link open");
		rounds++;
next:
		close_fd(&link);
		close_fd(&a);
		close_fd(&b);
		if (rounds <= round)
			break;
	}
	ASSERT_EQ(rounds, DETACH_ROUNDS, "rounds within the time cap");
	/* the updater must have raced the detach, not only lost to it */
	ASSERT_GT(total_ok, 0, "updates that moved the link before the detach");
	printf("link_update_vs_detach: %d rounds, %d updates before the detach\n",
	       rounds, total_ok);
}

/*
 * 3 threads register one name over and over: two with plain maps
 * (update, delete), one with BPF_F_LINK maps (link create, close).  A
 * registration succeeds or fails with EEXIST; at most one holder at a
 * time; a plain map that registered unregisters with its delete.
 */
#define NAME_ITERS	30

struct name_worker {
	pthread_t thread;
	int *go;
	bool use_link;
	__u64 end;
	struct tally reg;	/* ok, EEXIST */
	struct tally unreg;	/* delete: ok */
	int create_err;
	int iters;
};

static int holders, max_holders;

static void hold(int d)
{
	int n = __atomic_add_fetch(&holders, d, __ATOMIC_SEQ_CST);
	int m = __atomic_load_n(&max_holders, __ATOMIC_SEQ_CST);

	while (n > m && !__atomic_compare_exchange_n(&max_holders, &m, n, false,
						     __ATOMIC_SEQ_CST,
						     __ATOMIC_SEQ_CST))
		;
}

static void *name_worker(void *arg)
{
	struct name_worker *w = arg;
	void *v = tcp_value("lc_same", true);
	int i, fd, link, err;

	while (!flag(w->go))
		sched_yield();
	for (i = 0; v && i < NAME_ITERS && st_now_ms() < w->end; i++) {
		fd = tcp_map(w->use_link ? BPF_F_LINK : 0);
		if (fd < 0) {
			w->create_err = fd;
			break;
		}
		if (w->use_link) {
			err = map_update(fd, v);
			if (err) {
				count(&w->reg, err, 0, 0);
				close(fd);
				continue;
			}
			link = bpf_link_create(fd, 0, BPF_STRUCT_OPS, NULL);
			err = link < 0 ? link : 0;
			count(&w->reg, err, -EEXIST, -EEXIST);
			if (!err) {
				hold(1);
				sched_yield();
				hold(-1);
				close(link);	/* unregisters */
			}
		} else {
			err = map_update(fd, v);
			count(&w->reg, err, -EEXIST, -EEXIST);
			if (!err) {
				hold(1);
				sched_yield();
				hold(-1);
				count(&w->unreg, map_delete(fd), 0, 0);
			}
		}
		close(fd);
	}
	w->iters = i;
	if (!v)
		w->create_err = -ENOMEM;
	free(v);
	return NULL;
}

static void test_same_name(void)
{
	struct name_worker w[3] = {};
	int go = 0;
	int i, started = 0, regs = 0;
	__u64 end = st_now_ms() + LC_CAP_MS;

	holders = 0;
	max_holders = 0;
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		w[i].go = &go;
		w[i].use_link = i == 2;
		w[i].end = end;
		if (pthread_create(&w[i].thread, NULL, name_worker, &w[i]))
			break;
		started++;
	}
	set_flag(&go, 1);
	ASSERT_EQ(started, ARRAY_SIZE(w), "threads");
	for (i = 0; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		ASSERT_OK(w[i].create_err, "create");
		ASSERT_EQ(w[i].iters, NAME_ITERS, "iterations within the time cap");
		ASSERT_EQ(w[i].reg.bad, 0, "registration errors but EEXIST");
		ASSERT_EQ(w[i].reg.bad_err, 0, "registration error");
		ASSERT_EQ(w[i].unreg.bad, 0, "delete errors");
		if (!w[i].use_link)
			ASSERT_EQ(w[i].unreg.ok, w[i].reg.ok, "deletes");
		regs += w[i].reg.ok;
	}
	ASSERT_GT(regs, 0, "registrations");
	ASSERT_EQ(max_holders, 1, "holders at a time");
	ASSERT_EQ(ca_available("lc_same"), 0, "lc_same unregistered");
	printf("same_name: %d registrations, %d/%d/%d EEXIST\n", regs,
	       w[0].reg.err1, w[1].reg.err1, w[2].reg.err1);
}

/*
 * Connected sockets switch between lc_sw (our map) and reno while the map
 * is deleted.  setsockopt(TCP_CONGESTION, "lc_sw") succeeds until the
 * delete, then fails with ENOENT (EBUSY while the map is going away); it
 * never succeeds again after an ENOENT.  The threads do not have
 * CAP_NET_ADMIN, so an unknown name does not load a module.  Once the
 * sockets have left lc_sw, the map is freed.
 */
#define SW_ROUNDS	3
#define SW_SOCKS	2

struct sw_worker {
	pthread_t thread;
	int sock;
	int *deleted;
	int sw_ok, enoent, ebusy, bad, bad_err, ok_after_enoent;
	int reno_bad;
	int cap_err;
	__u64 end;
};

static int set_cc(int fd, const char *name)
{
	return setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name,
			  strlen(name)) ? -errno : 0;
}

static void *sw_worker(void *arg)
{
	struct sw_worker *w = arg;
	int err, seen_after = 0;
	char c = 'x';

	w->cap_err = cap_disable_effective(1ULL << CAP_NET_ADMIN, NULL);
	if (w->cap_err)
		return NULL;
	while (st_now_ms() < w->end) {
		err = set_cc(w->sock, "lc_sw");
		if (!err) {
			w->sw_ok++;
			if (w->enoent)
				w->ok_after_enoent++;
		} else if (err == -ENOENT) {
			w->enoent++;
		} else if (err == -EBUSY) {
			w->ebusy++;
		} else {
			w->bad++;
			w->bad_err = err;
		}
		/* some traffic for the congestion control */
		if (send(w->sock, &c, 1, MSG_DONTWAIT) < 0 && errno != EAGAIN)
			w->bad++, w->bad_err = -errno;
		if (set_cc(w->sock, "reno"))
			w->reno_bad++;
		if (flag(w->deleted) && w->enoent && ++seen_after > 5)
			break;
	}
	return NULL;
}

static void test_switch_vs_delete(void)
{
	struct sw_worker w[SW_SOCKS];
	int lfd = -1, srv[SW_SOCKS], cli[SW_SOCKS], i, round, fd, started;
	int deleted;
	void *v = tcp_value("lc_sw", true);
	int init_before, rounds = 0;
	__u64 end = st_now_ms() + LC_CAP_MS, wait_end;
	__u32 id;
	char buf[256];

	for (i = 0; i < SW_SOCKS; i++) {
		srv[i] = -1;
		cli[i] = -1;
	}
	if (!ASSERT_OK_PTR(v, "value"))
		return;
	lfd = start_server(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 0);
	if (!ASSERT_OK_FD(lfd, "server"))
		goto out;
	for (i = 0; i < SW_SOCKS; i++) {
		cli[i] = connect_to_fd(lfd, 0);
		if (!ASSERT_OK_FD(cli[i], "connect"))
			goto out;
		srv[i] = accept(lfd, NULL, NULL);
		if (!ASSERT_OK_FD(srv[i], "accept"))
			goto out;
	}

	for (round = 0; round < SW_ROUNDS && st_now_ms() < end; round++) {
		fd = tcp_map(0);
		if (!ASSERT_OK_FD(fd, "create"))
			break;
		if (!ASSERT_OK(map_update(fd, v), "register lc_sw")) {
			close(fd);
			break;
		}
		id = map_id(fd);
		init_before = lc.skel->bss->nr_init;
		set_flag(&deleted, 0);
		started = 0;
		for (i = 0; i < SW_SOCKS; i++) {
			memset(&w[i], 0, sizeof(w[i]));
			w[i].sock = cli[i];
			w[i].deleted = &deleted;
			w[i].end = end + 2000;
			if (pthread_create(&w[i].thread, NULL, sw_worker, &w[i]))
				break;
			started++;
		}
		/* let every socket run lc_sw, then delete it under them */
		wait_end = st_now_ms() + WAIT_MS;
		for (i = 0; i < started && st_now_ms() < wait_end; )
			if (__atomic_load_n(&w[i].sw_ok, __ATOMIC_RELAXED))
				i++;
			else
				usleep(1000);
		ASSERT_OK(map_delete(fd), "delete lc_sw");
		set_flag(&deleted, 1);
		close(fd);
		for (i = 0; i < started; i++) {
			pthread_join(w[i].thread, NULL);
			ASSERT_OK(w[i].cap_err, "drop CAP_NET_ADMIN");
			ASSERT_GT(w[i].sw_ok, 0, "switched to lc_sw");
			ASSERT_GT(w[i].enoent, 0, "ENOENT after the delete");
			ASSERT_EQ(w[i].ok_after_enoent, 0, "lc_sw after ENOENT");
			ASSERT_EQ(w[i].bad, 0, "unexpected errors");
			ASSERT_EQ(w[i].bad_err, 0, "unexpected error");
			ASSERT_EQ(w[i].reno_bad, 0, "switch to reno");
		}
		ASSERT_EQ(started, SW_SOCKS, "threads");
		ASSERT_GT(lc.skel->bss->nr_init, init_before, "lc_sw init() ran");
		ASSERT_EQ(ca_available("lc_sw"), 0, "lc_sw unregistered");
		/* every socket is on reno now: nothing holds the map */
		ASSERT_OK(wait_map_gone(id), "map freed");
		rounds++;
		/* drain what the threads sent */
		for (i = 0; i < SW_SOCKS; i++)
			while (recv(srv[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
				;
	}
	ASSERT_EQ(rounds, SW_ROUNDS, "rounds within the time cap");
	printf("switch_vs_delete: %d rounds, init() ran %d times\n", rounds,
	       lc.skel->bss->nr_init);
out:
	for (i = 0; i < SW_SOCKS; i++) {
		if (cli[i] >= 0)
			close(cli[i]);
		if (srv[i] >= 0)
			close(srv[i]);
	}
	if (lfd >= 0)
		close(lfd);
	free(v);
}

void test_struct_ops_lifecycle(void)
{
	if (!lc_setup())
		goto out;
	if (test__start_subtest("map_ops"))
		test_map_ops();
	if (test__start_subtest("close_vs_link_update"))
		test_close_vs_link_update();
	if (test__start_subtest("link_update_vs_detach"))
		test_link_update_vs_detach();
	if (test__start_subtest("same_name"))
		test_same_name();
	if (test__start_subtest("switch_vs_delete"))
		test_switch_vs_delete();
out:
	lc_teardown();
}

/* struct_ops_jit_charge */

#define CHARGE_MAPS	16
#define CHARGE_LOOPS	64

static void test_charge(void)
{
	long long base, page = sysconf(_SC_PAGESIZE);
	void *v = tcp_value("lc_jit", true);
	void *bad = tcp_value("lc_jit", false);
	int fd[CHARGE_MAPS], i, n = 0, err = 0;

	for (i = 0; i < CHARGE_MAPS; i++)
		fd[i] = -1;
	if (!ASSERT_OK_PTR(v, "value") || !ASSERT_OK_PTR(bad, "bad value"))
		goto out;
	base = settled_jit_current();
	if (!ASSERT_GT(base, 0, "bpf_jit_current"))
		goto out;

	/* one trampoline page per map: 4 progs fit in one */
	for (i = 0; i < CHARGE_MAPS; i++) {
		fd[i] = tcp_map(BPF_F_LINK);
		if (!ASSERT_OK_FD(fd[i], "create") ||
		    !ASSERT_OK(map_update(fd[i], v), "update"))
			goto out;
		ASSERT_EQ(jit_current(), base + (i + 1) * page, "charged");
	}
	for (i = 0; i < CHARGE_MAPS; i++)
		close_fd(&fd[i]);
	ASSERT_EQ(wait_jit_current(base), base, "uncharged after free");

	/* a failed update hands its pages back at once */
	fd[0] = tcp_map(BPF_F_LINK);
	if (ASSERT_OK_FD(fd[0], "create")) {
		ASSERT_EQ(map_update(fd[0], bad), -EINVAL, "update without undo_cwnd");
		ASSERT_EQ(jit_current(), base, "nothing charged after EINVAL");
		ASSERT_OK(map_update(fd[0], v), "update after EINVAL");
		ASSERT_EQ(jit_current(), base + page, "charged");
		close_fd(&fd[0]);
	}

	/* register and free many maps: no growth */
	for (i = 0; i < CHARGE_LOOPS && !err; i++) {
		fd[0] = tcp_map(i & 1 ? BPF_F_LINK : 0);
		if (fd[0] < 0) {
			err = fd[0];
			break;
		}
		err = map_update(fd[0], v);
		if (!err && !(i & 1))
			err = map_delete(fd[0]);
		close_fd(&fd[0]);
		n++;
	}
	ASSERT_OK(err, "create/update/delete/close");
	ASSERT_EQ(n, CHARGE_LOOPS, "loops");
	ASSERT_EQ(wait_jit_current(base), base, "uncharged after the loop");
out:
	for (i = 0; i < CHARGE_MAPS; i++)
		close_fd(&fd[i]);
	free(bad);
	free(v);
}

#define LIMIT_PAGES	4
#define LIMIT_ROUNDS	4
/* what lets a task past bpf_jit_limit */
static const __u64 unpriv_caps = 1ULL << CAP_BPF | 1ULL << CAP_SYS_ADMIN;

static void test_limit(void)
{
	long long base, old_limit, page = sysconf(_SC_PAGESIZE);
	void *v = tcp_value("lc_lim", true);
	int fd[LIMIT_PAGES + 1], err[LIMIT_PAGES + 1];
	int round, i, ok, rounds = 0;
	bool lowered = false;
	__u64 old_caps = 0;

	for (i = 0; i <= LIMIT_PAGES; i++)
		fd[i] = -1;
	old_limit = read_jit_limit();
	if (!ASSERT_OK_PTR(v, "value") || !ASSERT_GT(old_limit, 0, "bpf_jit_limit"))
		goto out;
	base = settled_jit_current();
	if (!ASSERT_GT(base, 0, "bpf_jit_current"))
		goto out;
	/* room for LIMIT_PAGES trampoline pages of unprivileged tasks */
	if (!ASSERT_OK(write_jit_limit(base + LIMIT_PAGES * page), "lower bpf_jit_limit"))
		goto out;
	lowered = true;

	for (round = 0; round < LIMIT_ROUNDS; round++) {
		for (i = 0; i <= LIMIT_PAGES; i++) {
			fd[i] = tcp_map(BPF_F_LINK);
			if (!ASSERT_OK_FD(fd[i], "create"))
				goto out;
		}
		/* the charge is checked against the limit without these */
		if (!ASSERT_OK(cap_disable_effective(unpriv_caps, &old_caps), "drop caps"))
			goto out;
		for (i = 0; i <= LIMIT_PAGES; i++)
			err[i] = map_update(fd[i], v);
		cap_enable_effective(old_caps, NULL);

		for (i = 0, ok = 0; i < LIMIT_PAGES; i++)
			ok += !err[i];
		ASSERT_EQ(ok, LIMIT_PAGES, "updates within the limit");
		ASSERT_EQ(err[LIMIT_PAGES], -EPERM, "update over the limit");
		ASSERT_EQ(jit_current(), base + LIMIT_PAGES * page, "charged");
		for (i = 0; i <= LIMIT_PAGES; i++)
			close_fd(&fd[i]);
		/* what the freed maps hold comes back: the next round fits */
		if (!ASSERT_EQ(wait_jit_current(base), base, "uncharged"))
			break;
		rounds++;
	}
	ASSERT_EQ(rounds, LIMIT_ROUNDS, "rounds");
out:
	for (i = 0; i <= LIMIT_PAGES; i++)
		close_fd(&fd[i]);
	if (lowered)
		ASSERT_OK(write_jit_limit(old_limit), "restore bpf_jit_limit");
	free(v);
}

void serial_test_struct_ops_jit_charge(void)
{
	if (!lc_setup() || !kcore_open())
		goto out;
	if (test__start_subtest("charge"))
		test_charge();
	if (test__start_subtest("limit"))
		test_limit();
out:
	kcore_close();
	lc_teardown();
}
