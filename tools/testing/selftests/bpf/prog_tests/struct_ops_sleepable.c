// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops_sleepable_free - a struct_ops map of bpf_testmod_sleep_ops
 *	is freed while its sleepable prog is blocked in run(), called by
 *	bpf_testmod under rcu_read_lock_trace() only.  The free must wait
 *	for the prog (RCU tasks trace) before the trampoline goes.  Whether
 *	a map whose progs are not sleepable waits too is not part of the
 *	contract; the test only reports it.  The prog blocks on a page that
 *	userfaultfd keeps missing, so the test decides when it returns.  The
 *	map's progs are put only after that wait: their ids say whether the
 *	free is done.
 */
#include <test_progs.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>
#include "struct_ops_sleepable.skel.h"
#include "struct_ops_common.h"

#define WAIT_MS		20000	/* upper bound of any wait */
#define HOLD_MS		2000	/* how long slow_run() stays blocked */
#define RUN_ARG		1000
/* run() of slow_ops once "AB" is readable: 3 bytes copied with the NUL */
#define SLOW_RESULT	(RUN_ARG + 3 * 100 + 'A')

/* 1 if a prog of this id exists, 0 if not, -errno on another error */
static int prog_alive(__u32 id)
{
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return fd == -ENOENT ? 0 : fd;
}

static __u32 prog_id(const struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_prog_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return 0;
	return info.id;
}

struct caller {
	pthread_t thread;
	bool started;
	int prog_fd;
	int err;
	__u32 retval;
};

static void *call_run(void *arg)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts);
	struct caller *c = arg;

	c->err = bpf_prog_test_run_opts(c->prog_fd, &topts);
	c->retval = topts.retval;
	return NULL;
}

static int caller_start(struct caller *c, int prog_fd)
{
	c->prog_fd = prog_fd;
	c->err = -EINPROGRESS;
	c->started = !pthread_create(&c->thread, NULL, call_run, c);
	return c->started ? 0 : -1;
}

static void caller_join(struct caller *c)
{
	if (c->started)
		pthread_join(c->thread, NULL);
	c->started = false;
}

/* A page of ours that userfaultfd keeps missing until uffd_fill() */
struct uffd_page {
	int uffd;
	long size;
	char *page;
	bool filled;
};

static int uffd_setup(struct uffd_page *u)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {};

	u->size = sysconf(_SC_PAGESIZE);
	u->page = mmap(NULL, u->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->page == MAP_FAILED) {
		u->page = NULL;
		return -errno;
	}
	u->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->uffd < 0)
		return -errno;
	if (ioctl(u->uffd, UFFDIO_API, &api))
		return -errno;
	reg.range.start = (__u64)(unsigned long)u->page;
	reg.range.len = u->size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(u->uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	return 0;
}

/* Wait until someone faults on the page: 0, -ETIMEDOUT or -errno */
static int uffd_wait_fault(struct uffd_page *u, int timeout_ms)
{
	struct pollfd pfd = { .fd = u->uffd, .events = POLLIN };
	struct uffd_msg msg;
	int n;

	n = poll(&pfd, 1, timeout_ms);
	if (n < 0)
		return -errno;
	if (!n)
		return -ETIMEDOUT;
	if (read(u->uffd, &msg, sizeof(msg)) != sizeof(msg))
		return -errno;
	if (msg.event != UFFD_EVENT_PAGEFAULT ||
	    msg.arg.pagefault.address != (__u64)(unsigned long)u->page)
		return -EINVAL;
	return 0;
}

/* Map the page with "AB" at its start: the faulting task goes on */
static int uffd_fill(struct uffd_page *u)
{
	struct uffdio_copy copy = {};
	char *src;
	int err = 0;

	src = calloc(1, u->size);
	if (!src)
		return -ENOMEM;
	src[0] = 'A';
	src[1] = 'B';
	copy.src = (__u64)(unsigned long)src;
	copy.dst = (__u64)(unsigned long)u->page;
	copy.len = u->size;
	if (ioctl(u->uffd, UFFDIO_COPY, &copy))
		err = -errno;
	free(src);
	if (!err)
		u->filled = true;
	return err;
}

/* Closing the userfaultfd wakes a blocked fault (it then fails) */
static void uffd_teardown(struct uffd_page *u)
{
	if (u->uffd > 0)
		close(u->uffd);
	if (u->page)
		munmap(u->page, u->size);
}

static void test_sleepable_free(void)
{
	struct struct_ops_sleepable *skel;
	struct uffd_page u = { .uffd = -1 };
	struct caller c = {};
	struct bpf_link *link = NULL;
	__u32 slow_id, fast_id;
	int slow_alive = 1, fast_alive = 1, polls = 0;
	__u64 fast_gone_ms = 0, start_ms = 0, end;

	skel = struct_ops_sleepable__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	if (!ASSERT_OK(uffd_setup(&u), "userfaultfd"))
		goto out;
	skel->bss->uaddr = (__u64)(unsigned long)u.page;
	skel->bss->run_arg = RUN_ARG;
	slow_id = prog_id(skel->progs.slow_run);
	fast_id = prog_id(skel->progs.fast_run);
	if (!ASSERT_NEQ(slow_id, 0, "slow_run id") ||
	    !ASSERT_NEQ(fast_id, 0, "fast_run id"))
		goto out;

	link = bpf_map__attach_struct_ops(skel->maps.slow_ops);
	if (!ASSERT_OK_PTR(link, "attach slow_ops"))
		goto out;
	if (!ASSERT_OK(caller_start(&c, bpf_program__fd(skel->progs.call_run)),
		       "caller thread"))
		goto out;
	/* slow_run() is now blocked in bpf_copy_from_user_str() */
	if (!ASSERT_OK(uffd_wait_fault(&u, WAIT_MS), "slow_run() faults"))
		goto out;
	ASSERT_EQ(skel->bss->slow_calls, 1, "slow_calls");

	/* Unregister and drop every reference: both maps go to map_free */
	start_ms = st_now_ms();
	bpf_link__destroy(link);
	link = NULL;
	struct_ops_sleepable__destroy(skel);
	skel = NULL;

	/*
	 * fast_ops has no sleepable prog: its free must not wait for the
	 * blocked slow_run().  slow_ops must wait for it, however long.
	 */
	end = st_now_ms() + WAIT_MS;
	while (st_now_ms() < end) {
		slow_alive = prog_alive(slow_id);
		if (slow_alive != 1)
			break;
		if (fast_alive == 1) {
			fast_alive = prog_alive(fast_id);
			if (fast_alive != 1)
				fast_gone_ms = st_now_ms();
		}
		if (fast_alive != 1 && st_now_ms() >= fast_gone_ms + HOLD_MS)
			break;
		polls++;
		usleep(50000);
	}
	ASSERT_EQ(slow_alive, 1, "slow_ops kept while slow_run() blocks");
	ASSERT_GT(polls, 0, "polls");
	if (!ASSERT_OK(uffd_fill(&u), "let slow_run() go"))
		goto out;
	caller_join(&c);
	ASSERT_OK(c.err, "BPF_PROG_RUN call_run");
	ASSERT_EQ(c.retval, SLOW_RESULT, "run() result");

	end = st_now_ms() + WAIT_MS;
	while ((slow_alive = prog_alive(slow_id)) == 1 && st_now_ms() < end)
		usleep(50000);
	ASSERT_EQ(slow_alive, 0, "slow_ops freed once slow_run() returned");
	/* not part of the contract: a free may also wait for all callers */
	if (fast_gone_ms)
		printf("blocked_prog: fast_ops freed after %llu ms of the block\n",
		       (unsigned long long)(fast_gone_ms - start_ms));
	else
		printf("blocked_prog: fast_ops not freed while slow_run() blocked\n");
out:
	bpf_link__destroy(link);
	/* never leave the caller blocked */
	if (!u.filled && u.uffd > 0) {
		close(u.uffd);
		u.uffd = -1;
	}
	caller_join(&c);
	uffd_teardown(&u);
	struct_ops_sleepable__destroy(skel);
}

/*
 * A sleepable run() that is not blocked: callers race with attach, detach
 * and free of a fresh map each round.  run() returns its result or the
 * caller finds nothing registered (-ENOENT).
 */
#define RACE_ROUNDS	5
#define RACE_CAP_MS	120000	/* bounds the rounds; KASAN stays well within */

struct racer {
	pthread_t thread;
	int prog_fd;
	int *stop;
	int calls, ran, none, bad;
	__u32 bad_retval;
};

static void *race_caller(void *arg)
{
	struct racer *r = arg;

	while (!__atomic_load_n(r->stop, __ATOMIC_ACQUIRE)) {
		LIBBPF_OPTS(bpf_test_run_opts, topts);

		if (bpf_prog_test_run_opts(r->prog_fd, &topts)) {
			r->bad++;
			continue;
		}
		r->calls++;
		if (topts.retval == SLOW_RESULT) {
			r->ran++;
		} else if ((int)topts.retval == -ENOENT) {
			r->none++;
		} else {
			r->bad++;
			r->bad_retval = topts.retval;
		}
	}
	return NULL;
}

static void test_sleepable_race(void)
{
	struct struct_ops_sleepable *caller_skel, *skel;
	struct racer r[2] = {};
	int stop = 0;
	int i, n = 0, round, started = 0, ran = 0, none = 0;
	char *page = NULL;
	__u64 end;

	/* call_run of this object calls whatever sleep_ops is registered */
	caller_skel = struct_ops_sleepable__open_and_load();
	if (!ASSERT_OK_PTR(caller_skel, "caller object"))
		return;
	caller_skel->bss->run_arg = RUN_ARG;
	page = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!ASSERT_NEQ(page, MAP_FAILED, "page")) {
		page = NULL;
		goto out;
	}
	memcpy(page, "AB", 3);

	for (i = 0; i < ARRAY_SIZE(r); i++) {
		r[i].prog_fd = bpf_program__fd(caller_skel->progs.call_run);
		r[i].stop = &stop;
		if (!ASSERT_OK(pthread_create(&r[i].thread, NULL, race_caller, &r[i]),
			       "caller thread"))
			goto stop;
		started++;
	}

	end = st_now_ms() + RACE_CAP_MS;
	for (round = 0; round < RACE_ROUNDS && st_now_ms() < end; round++) {
		struct bpf_link *link;

		skel = struct_ops_sleepable__open_and_load();
		if (!ASSERT_OK_PTR(skel, "open_and_load"))
			break;
		skel->bss->uaddr = (__u64)(unsigned long)page;
		link = bpf_map__attach_struct_ops(skel->maps.slow_ops);
		if (!ASSERT_OK_PTR(link, "attach")) {
			struct_ops_sleepable__destroy(skel);
			break;
		}
		usleep(20000);
		/* detach, then free map and progs under the callers' feet */
		bpf_link__destroy(link);
		struct_ops_sleepable__destroy(skel);
		n++;
	}
	ASSERT_EQ(n, RACE_ROUNDS, "rounds within the time cap");
stop:
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < started; i++) {
		pthread_join(r[i].thread, NULL);
		ASSERT_EQ(r[i].bad, 0, "calls with an unexpected result");
		ASSERT_EQ(r[i].bad_retval, 0, "unexpected result");
		ran += r[i].ran;
		none += r[i].none;
		printf("race: caller %d: %d calls, %d ran run()\n", i,
		       r[i].calls, r[i].ran);
	}
	/* the callers ran the prog and also found it gone: they raced */
	ASSERT_GT(ran, 0, "calls that ran run()");
	ASSERT_GT(none, 0, "calls that found nothing registered");
	printf("race: %d rounds\n", n);
out:
	if (page)
		munmap(page, sysconf(_SC_PAGESIZE));
	struct_ops_sleepable__destroy(caller_skel);
}

void serial_test_struct_ops_sleepable_free(void)
{
	if (test__start_subtest("blocked_prog"))
		test_sleepable_free();
	if (test__start_subtest("race"))
		test_sleepable_race();
}
