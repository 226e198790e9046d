// SPDX-License-Identifier: GPL-2.0
/*
 * What a struct_ops trampoline does around its prog, whichever trampoline
 * the kernel built (the arch's own or the generic one), with
 * bpf_testmod_ctx_ops, whose probe() bpf_testmod calls on demand from a
 * task, with preemption or interrupts off, from a tasklet or a hard
 * irq_work:
 *
 * contexts	in each, the prog sees current->migration_disabled and its
 *		RCU nesting one above the caller's and current->bpf_ctx set
 *		(it calls helpers); afterwards bpf_testmod finds them, and
 *		the preempt count, as they were
 * stack	a kfunc called by the prog unwinds through the prog and the
 *		trampoline to bpf_testmod's caller
 * stats	run_cnt moves by exactly the calls made with
 *		kernel.bpf_stats_enabled on and not at all with it off; while
 *		another thread toggles it, the calls still all succeed
 * hotplug	a long prog (bpf_loop) called again and again while CPU 1
 *		goes offline and online and another thread keeps calling
 *		synchronize_rcu() (membarrier): it never changes CPU
 * fallback	a member with twelve arguments (bpf_testmod_big_ops) gets the
 *		generic trampoline and still gets them all; probe gets the
 *		x86 one of its own unless bpf_struct_ops.fast_trampolines=0:
 *		the code after "push %rbp; mov %rsp,%rbp" pushes the
 *		argument registers, where the generic one subtracts from %rsp
 *
 * Only one bpf_testmod_ctx_ops can be registered, and stats, kallsyms and
 * CPU hotplug are global: a serial test.
 */
#include <test_progs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include "../bpf_testmod/bpf_testmod.h"
#include "../progs/struct_ops_tramp.h"
#include "struct_ops_common.h"
#include "struct_ops_tramp.skel.h"

#define CTX_FILE	"/sys/kernel/bpf_testmod_ctx_ops"
#define STATS_FILE	"/proc/sys/kernel/bpf_stats_enabled"
#define KALLSYMS_KNOB	"/proc/sys/net/core/bpf_jit_kallsyms"
#define CPU1_ONLINE	"/sys/devices/system/cpu/cpu1/online"
#define FAST_PARAM	"/sys/module/bpf_struct_ops/parameters/fast_trampolines"
#define HOTPLUG_ROUNDS	4
#define HOTPLUG_CAP_MS	180000

static const char * const ctx_names[BPF_TESTMOD_CTX_NR] = {
	[BPF_TESTMOD_CTX_TASK] = "task",
	[BPF_TESTMOD_CTX_PREEMPT] = "preempt",
	[BPF_TESTMOD_CTX_IRQS_OFF] = "irqs_off",
	[BPF_TESTMOD_CTX_SOFTIRQ] = "softirq",
	[BPF_TESTMOD_CTX_HARDIRQ] = "hardirq",
};

/* One call of probe() from @ctx: 0 and its answer and restored flag */
static int call_probe(int ctx, int *seen, int *restored)
{
	char buf[32];
	int err;

	snprintf(buf, sizeof(buf), "%d", ctx);
	err = st_write_str(CTX_FILE, buf);
	if (err)
		return err;
	err = st_read_str(CTX_FILE, buf, sizeof(buf));
	if (err)
		return err;
	return sscanf(buf, "%d %d", seen, restored) == 2 ? 0 : -EIO;
}

static void test_contexts(struct struct_ops_tramp *skel)
{
	int ctx, seen, restored;

	for (ctx = 0; ctx < BPF_TESTMOD_CTX_NR; ctx++) {
		if (!ASSERT_OK(call_probe(ctx, &seen, &restored), ctx_names[ctx]))
			continue;
		ASSERT_EQ(seen, SEEN_ALL, ctx_names[ctx]);
		ASSERT_EQ(restored, 1, ctx_names[ctx]);
	}
}

/* The name of the kallsyms symbol that @addr falls in, into @name */
static bool ksym_of(FILE *f, __u64 addr, char *name, size_t sz)
{
	unsigned long long a, best = 0;
	char line[512], sym[256], type;

	rewind(f);
	name[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &a, &type, sym) == 3 &&
		    a <= addr && a > best) {
			best = a;
			snprintf(name, sz, "%s", sym);
		}
	return best;
}

static void test_stack(struct struct_ops_tramp *skel)
{
	int i, seen, restored, caller = -1;
	FILE *f = NULL;
	char name[256];

	skel->bss->want_stack = 1;
	if (!ASSERT_OK(call_probe(BPF_TESTMOD_CTX_TASK, &seen, &restored), "call"))
		goto out;
	ASSERT_EQ(seen, SEEN_ALL, "seen");
	f = fopen("/proc/kallsyms", "re");
	if (!ASSERT_OK_PTR(f, "kallsyms"))
		goto out;
	for (i = 0; i < skel->bss->stack_len && i < TRAMP_STACK_DEPTH; i++) {
		if (!ksym_of(f, skel->bss->stack[i], name, sizeof(name)))
			continue;
		if (!strcmp(name, "bpf_testmod_ctx_call")) {
			caller = i;
			break;
		}
	}
	if (!ASSERT_GE(caller, 2, "bpf_testmod_ctx_call on the stack"))
		goto out;
	/* Right below it: the trampoline, and below that the prog */
	ksym_of(f, skel->bss->stack[caller - 1], name, sizeof(name));
	ASSERT_STREQ(name, "bpf__bpf_testmod_ctx_ops_probe", "the trampoline's frame");
	ksym_of(f, skel->bss->stack[caller - 2], name, sizeof(name));
	ASSERT_TRUE(!strncmp(name, "bpf_prog_", 9) && strstr(name, "_probe"),
		    "the prog's frame");
	printf("%s: prog %s, caller at frame %d\n", __func__, name, caller);
out:
	skel->bss->want_stack = 0;
	if (f)
		fclose(f);
}

static __u64 run_cnt(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_prog_get_info_by_fd(prog_fd, &info, &len))
		return -1ULL;
	return info.run_cnt;
}

/* run_cnt after @n calls from a task; -1 on a failed call */
static __u64 calls_then_cnt(int prog_fd, int n)
{
	int i, seen, restored;

	for (i = 0; i < n; i++)
		if (call_probe(BPF_TESTMOD_CTX_TASK, &seen, &restored) ||
		    seen != SEEN_ALL || !restored)
			return -1ULL;
	return run_cnt(prog_fd);
}

static atomic_int stop;

static void *toggle_stats(void *arg)
{
	int on = 0;

	while (!atomic_load(&stop)) {
		on = !on;
		st_write_str(STATS_FILE, on ? "1" : "0");
	}
	return NULL;
}

static void test_stats(struct struct_ops_tramp *skel)
{
	int fd = bpf_program__fd(skel->progs.probe);
	char old[16] = "";
	__u64 c0, c1;
	pthread_t thr;

	if (!ASSERT_OK(st_read_str(STATS_FILE, old, sizeof(old)), "read bpf_stats_enabled"))
		return;
	if (!ASSERT_OK(st_write_str(STATS_FILE, "0"), "stats off"))
		return;
	c0 = run_cnt(fd);
	c1 = calls_then_cnt(fd, 50);
	ASSERT_EQ(c1, c0, "run_cnt with stats off");

	if (!ASSERT_OK(st_write_str(STATS_FILE, "1"), "stats on"))
		goto out;
	c0 = run_cnt(fd);
	c1 = calls_then_cnt(fd, 50);
	ASSERT_EQ(c1, c0 + 50, "run_cnt with stats on");

	atomic_store(&stop, 0);
	if (!ASSERT_OK(pthread_create(&thr, NULL, toggle_stats, NULL), "toggler"))
		goto out;
	c0 = run_cnt(fd);
	c1 = calls_then_cnt(fd, 500);
	atomic_store(&stop, 1);
	pthread_join(thr, NULL);
	ASSERT_NEQ(c1, -1ULL, "calls while toggling");
	ASSERT_LE(c1, c0 + 500, "run_cnt while toggling");
out:
	st_write_str(STATS_FILE, old[0] ? old : "0");
}

static atomic_int hotplug_rounds;

static void *hotplug_cpu1(void *arg)
{
	while (!atomic_load(&stop)) {
		if (st_write_str(CPU1_ONLINE, "0") || st_write_str(CPU1_ONLINE, "1"))
			break;
		atomic_fetch_add(&hotplug_rounds, 1);
	}
	return NULL;
}

static void *sync_rcu(void *arg)
{
	while (!atomic_load(&stop))
		syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	return NULL;
}

static void test_hotplug(struct struct_ops_tramp *skel)
{
	int seen = 0, restored = 0, calls = 0, moved = 0, bad = 0;
	pthread_t plug, rcu;
	char state[8];
	__u64 end;

	if (libbpf_num_possible_cpus() < 2 || access(CPU1_ONLINE, W_OK)) {
		test__skip();
		printf("%s:SKIP: CPU 1 cannot go offline here\n", __func__);
		return;
	}
	skel->bss->loops = 20000;
	atomic_store(&stop, 0);
	atomic_store(&hotplug_rounds, 0);
	if (!ASSERT_OK(pthread_create(&plug, NULL, hotplug_cpu1, NULL), "hotplug thread"))
		goto out;
	if (!ASSERT_OK(pthread_create(&rcu, NULL, sync_rcu, NULL), "rcu thread")) {
		atomic_store(&stop, 1);
		pthread_join(plug, NULL);
		goto out;
	}
	end = st_now_ms() + HOTPLUG_CAP_MS;
	while (atomic_load(&hotplug_rounds) < HOTPLUG_ROUNDS && st_now_ms() < end) {
		if (call_probe(BPF_TESTMOD_CTX_TASK, &seen, &restored)) {
			bad++;
			break;
		}
		calls++;
		moved += !!(seen & SEEN_MOVED);
		bad += (seen & SEEN_ALL) != SEEN_ALL || !restored;
	}
	atomic_store(&stop, 1);
	pthread_join(plug, NULL);
	pthread_join(rcu, NULL);
	printf("%s: %d calls over %d offline/online rounds of CPU 1\n", __func__,
	       calls, atomic_load(&hotplug_rounds));
	ASSERT_GE(atomic_load(&hotplug_rounds), HOTPLUG_ROUNDS, "hotplug rounds");
	ASSERT_GT(calls, 0, "calls");
	ASSERT_EQ(moved, 0, "calls that changed CPU");
	ASSERT_EQ(bad, 0, "calls that failed or saw the wrong state");
out:
	skel->bss->loops = 0;
	if (!st_read_str(CPU1_ONLINE, state, sizeof(state)) && state[0] == '0')
		st_write_str(CPU1_ONLINE, "1");
}

/*
 * 1 if the trampoline @sym is one of the x86 JIT's own, 0 if generic, -1 if
 * its frame setup is not found in its first bytes
 */
static int tramp_is_own(const char *sym)
{
	static const unsigned char frame[] = { 0x55, 0x48, 0x89, 0xe5 };
	unsigned char code[48];
	__u64 addr = ksym_addr(sym);
	size_t i;

	if (!addr || kcore_read(addr, code, sizeof(code)))
		return -1;
	for (i = 0; i + sizeof(frame) < sizeof(code); i++) {
		if (memcmp(code + i, frame, sizeof(frame)))
			continue;
		/* push %rdi .. %rdx, or REX.B for %r8, %r9; the generic: REX.W sub */
		i += sizeof(frame);
		return (code[i] >= 0x50 && code[i] <= 0x57) || code[i] == 0x41;
	}
	return -1;
}

static void test_fallback(struct struct_ops_tramp *skel)
{
	struct bpf_link *wide;
	char fast[8] = "N";

#ifndef __x86_64__
	test__skip();
	printf("%s:SKIP: the struct_ops trampolines of their own are x86-64's\n",
	       __func__);
	return;
#endif
	/* Without the parameter (a base kernel) every member is generic */
	st_read_str(FAST_PARAM, fast, sizeof(fast));
	/* ->reg() fails unless big_1 got all twelve arguments and answered */
	wide = bpf_map__attach_struct_ops(skel->maps.wide_ops);
	if (!ASSERT_OK_PTR(wide, "attach the twelve-argument member"))
		return;
	if (!kcore_open())
		goto out;
	ASSERT_EQ(tramp_is_own("bpf__bpf_testmod_big_ops_big_1"), 0,
		  "twelve arguments: generic trampoline");
	ASSERT_EQ(tramp_is_own("bpf__bpf_testmod_ctx_ops_probe"), fast[0] == 'Y',
		  "three arguments: own trampoline unless fast_trampolines=0");
	printf("%s: fast_trampolines=%c\n", __func__, fast[0]);
out:
	kcore_close();
	bpf_link__destroy(wide);
}

void serial_test_struct_ops_tramp(void)
{
	struct struct_ops_tramp *skel;
	struct bpf_link *link = NULL;
	char knob[16] = "";

	skel = struct_ops_tramp__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	/* stack and fallback find progs and trampolines in kallsyms */
	if (!ASSERT_OK(st_read_str(KALLSYMS_KNOB, knob, sizeof(knob)), "read bpf_jit_kallsyms") ||
	    !ASSERT_OK(st_write_str(KALLSYMS_KNOB, "1"), "bpf_jit_kallsyms on"))
		goto out;
	link = bpf_map__attach_struct_ops(skel->maps.ctx_ops);
	if (!ASSERT_OK_PTR(link, "attach"))
		goto out;

	if (test__start_subtest("contexts"))
		test_contexts(skel);
	if (test__start_subtest("stack"))
		test_stack(skel);
	if (test__start_subtest("stats"))
		test_stats(skel);
	if (test__start_subtest("hotplug"))
		test_hotplug(skel);
	if (test__start_subtest("fallback"))
		test_fallback(skel);

out:
	bpf_link__destroy(link);
	if (knob[0])
		st_write_str(KALLSYMS_KNOB, knob);
	struct_ops_tramp__destroy(skel);
}
