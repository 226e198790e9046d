// SPDX-License-Identifier: GPL-2.0
/*
 * bpf_bench_ops - the kernel side of the struct_ops benchmark.
 *
 * It registers the struct_ops types of bench_ops.h and makes two debugfs
 * files.  Writing "IMPL OP N [CTX]" to /sys/kernel/debug/bpf_bench_ops
 * calls member OP of IMPL N times through the ops pointer, the way a
 * subsystem calls its ops; reading the file gives "NS N SUM" for the last
 * run.
 *
 *	IMPL	native: C functions of this module;
 *		bpf: the bench_ops map registered (or linked) last
 *	OP	empty: void (*)(void) with an empty body;
 *		trivial: u64 (*)(u64 x) returning x + 1;
 *		sleepable: member op2, for a sleepable prog (CTX task only);
 *		helper: member op3, for a prog that calls a helper
 *	CTX	irq: interrupts off, inside rcu_read_lock() (the default);
 *		preempt: preemption off, RCU not held;
 *		task: a preemptible task, RCU not held
 *
 * Only the loop itself runs between bench_mark_start() and
 * bench_mark_stop(), the window the TCG plugin counts guest instructions
 * in; with interrupts on, the ones that land in it are counted too.
 * Reading /sys/kernel/debug/bpf_bench_ops_layout gives the address every
 * member of the active bpf ops points to, one per line, in member order:
 * the trampolines, laid out in that order.
 */
#include <linux/bpf.h>
#include <linux/bpf_verifier.h>
#include <linux/btf.h>
#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>
#include "bench_ops.h"

#define BENCH_MAX_CALLS	10000000UL

/*
 * The ops the bpf IMPL calls; set by reg/update, cleared by unreg.  Those
 * take bench_mutex, which a run holds: the map cannot go away under a run,
 * whatever the context of its calls.
 */
static struct bench_ops *bench_active;
/* Serialises runs and guards bench_active and last_result. */
static DEFINE_MUTEX(bench_mutex);
static struct {
	u64 ns;
	unsigned long calls;
	u64 sum;
} last_result;
static struct dentry *bench_file, *layout_file;

enum bench_op { BENCH_EMPTY, BENCH_TRIVIAL, BENCH_SLEEPABLE, BENCH_HELPER };
enum bench_ctx { BENCH_IRQ, BENCH_PREEMPT, BENCH_TASK };

/* The native implementation: what a subsystem would have in C. */
static void native_empty(void)
{
}

static u64 native_trivial(u64 x)
{
	return x + 1;
}

static struct bench_ops native_ops = {
	.empty = native_empty,
	.trivial = native_trivial,
	.op2 = native_trivial,
	.op3 = native_trivial,
};

/* CFI stubs: the signature of every member. */
static void bench_stub_empty(void)
{
}

static u64 bench_stub_op(u64 x)
{
	return 0;
}

static struct bench_ops1 bench_ops1_stubs;
static struct bench_ops bench_ops_stubs;
static struct bench_ops40 bench_ops40_stubs;

/* Every u64 (*)(u64) slot of @ops gets bench_stub_op */
static void bench_fill_stubs(void *ops, size_t size)
{
	u64 (**slot)(u64 x) = ops;
	size_t i;

	for (i = 0; i < size / sizeof(*slot); i++)
		slot[i] = bench_stub_op;
}

/* struct_ops callbacks, shared by the three types */
static int bench_init(struct btf *btf)
{
	return 0;
}

static int bench_init_member(const struct btf_type *t,
			     const struct btf_member *member,
			     void *kdata, const void *udata)
{
	return 0;
}

static bool bench_is_valid_access(int off, int size, enum bpf_access_type type,
				  const struct bpf_prog *prog,
				  struct bpf_insn_access_aux *info)
{
	return bpf_tracing_btf_ctx_access(off, size, type, prog, info);
}

static const struct bpf_verifier_ops bench_verifier_ops = {
	.is_valid_access = bench_is_valid_access,
	.get_func_proto = bpf_base_func_proto,
};

static int bench_reg_nop(void *kdata, struct bpf_link *link)
{
	return 0;
}

static void bench_unreg_nop(void *kdata, struct bpf_link *link)
{
}

static int bench_update_nop(void *kdata, void *old_kdata, struct bpf_link *link)
{
	return 0;
}

/* bench_ops: the map registered last is the one the bpf IMPL calls. */
static int bench_reg(void *kdata, struct bpf_link *link)
{
	mutex_lock(&bench_mutex);
	bench_active = kdata;
	mutex_unlock(&bench_mutex);
	return 0;
}

static void bench_unreg(void *kdata, struct bpf_link *link)
{
	mutex_lock(&bench_mutex);
	if (bench_active == kdata)
		bench_active = NULL;
	mutex_unlock(&bench_mutex);
}

static int bench_update(void *kdata, void *old_kdata, struct bpf_link *link)
{
	return bench_reg(kdata, link);
}

/* What differs between the types; bench_st_init() adds what they share. */
static struct bpf_struct_ops bench_ops1_st = {
	.cfi_stubs = &bench_ops1_stubs,
	.name = "bench_ops1",
};

static struct bpf_struct_ops bench_ops_st = {
	.reg = bench_reg,
	.unreg = bench_unreg,
	.update = bench_update,
	.cfi_stubs = &bench_ops_stubs,
	.name = "bench_ops",
};

static struct bpf_struct_ops bench_ops40_st = {
	.cfi_stubs = &bench_ops40_stubs,
	.name = "bench_ops40",
};

static void bench_st_init(struct bpf_struct_ops *st)
{
	st->verifier_ops = &bench_verifier_ops;
	st->init = bench_init;
	st->init_member = bench_init_member;
	st->owner = THIS_MODULE;
	if (!st->reg) {
		st->reg = bench_reg_nop;
		st->unreg = bench_unreg_nop;
		st->update = bench_update_nop;
	}
}

/* The member @op calls, or NULL */
static void *bench_member(const struct bench_ops *ops, enum bench_op op)
{
	switch (op) {
	case BENCH_EMPTY:
		return ops->empty;
	case BENCH_TRIVIAL:
		return ops->trivial;
	case BENCH_SLEEPABLE:
		return ops->op2;
	default:
		return ops->op3;
	}
}

/* The measured loop: N calls of one member through @ops. */
static noinline u64 bench_calls(const struct bench_ops *ops, enum bench_op op,
				unsigned long n)
{
	unsigned long i;
	u64 sum = 0;

	bench_mark_start();
	switch (op) {
	case BENCH_EMPTY:
		for (i = 0; i < n; i++)
			ops->empty();
		break;
	case BENCH_TRIVIAL:
		for (i = 0; i < n; i++)
			sum += ops->trivial(i);
		break;
	case BENCH_SLEEPABLE:
		for (i = 0; i < n; i++)
			sum += ops->op2(i);
		break;
	default:
		for (i = 0; i < n; i++)
			sum += ops->op3(i);
		break;
	}
	bench_mark_stop();
	return sum;
}

/* The loop in context @ctx, timed */
static void bench_loop(const struct bench_ops *ops, enum bench_op op,
		       enum bench_ctx ctx, unsigned long n)
{
	unsigned long flags;
	u64 sum, t0;

	switch (ctx) {
	case BENCH_IRQ:
		rcu_read_lock();
		local_irq_save(flags);
		t0 = ktime_get_ns();
		sum = bench_calls(ops, op, n);
		last_result.ns = ktime_get_ns() - t0;
		local_irq_restore(flags);
		rcu_read_unlock();
		break;
	case BENCH_PREEMPT:
		preempt_disable();
		t0 = ktime_get_ns();
		sum = bench_calls(ops, op, n);
		last_result.ns = ktime_get_ns() - t0;
		preempt_enable();
		break;
	default:
		t0 = ktime_get_ns();
		sum = bench_calls(ops, op, n);
		last_result.ns = ktime_get_ns() - t0;
		break;
	}
	last_result.calls = n;
	last_result.sum = sum;
}

static int bench_lookup(const char *const *names, int nr, const char *name)
{
	int i;

	for (i = 0; i < nr; i++)
		if (!strcmp(names[i], name))
			return i;
	return -EINVAL;
}

static int bench_run(const char *impl, const char *opname, const char *ctxname,
		     unsigned long n)
{
	static const char *const ops_names[] = { "empty", "trivial", "sleepable", "helper" };
	static const char *const ctx_names[] = { "irq", "preempt", "task" };
	int op = bench_lookup(ops_names, ARRAY_SIZE(ops_names), opname);
	int ctx = bench_lookup(ctx_names, ARRAY_SIZE(ctx_names), ctxname);
	const struct bench_ops *ops;
	int err = 0;

	if (op < 0 || ctx < 0)
		return -EINVAL;
	if (op == BENCH_SLEEPABLE && ctx != BENCH_TASK)
		return -EINVAL;
	if (n > BENCH_MAX_CALLS)
		return -E2BIG;

	mutex_lock(&bench_mutex);
	if (!strcmp(impl, "native"))
		ops = &native_ops;
	else if (!strcmp(impl, "bpf"))
		ops = bench_active;
	else
		ops = ERR_PTR(-EINVAL);
	if (IS_ERR(ops))
		err = PTR_ERR(ops);
	else if (!ops || !bench_member(ops, op))
		err = -ENOENT;
	else
		bench_loop(ops, op, ctx, n);
	mutex_unlock(&bench_mutex);
	return err;
}

static ssize_t bench_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	char buf[64], impl[8], op[12], ctx[8] = "irq";
	unsigned long n;
	int err;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%7s %11s %lu %7s", impl, op, &n, ctx) < 3)
		return -EINVAL;
	err = bench_run(impl, op, ctx, n);
	return err ?: len;
}

static ssize_t bench_read(struct file *file, char __user *ubuf, size_t len,
			  loff_t *ppos)
{
	char buf[64];
	int n;

	mutex_lock(&bench_mutex);
	n = scnprintf(buf, sizeof(buf), "%llu %lu %llu\n", last_result.ns,
		      last_result.calls, last_result.sum);
	mutex_unlock(&bench_mutex);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static ssize_t layout_read(struct file *file, char __user *ubuf, size_t len,
			   loff_t *ppos)
{
	void **slot;
	char buf[20 * sizeof(struct bench_ops) / sizeof(void *) + 1];
	size_t i;
	int n = 0;

	mutex_lock(&bench_mutex);
	slot = (void **)bench_active;
	for (i = 0; slot && i < sizeof(struct bench_ops) / sizeof(void *); i++)
		n += scnprintf(buf + n, sizeof(buf) - n, "%lx\n",
			       (unsigned long)slot[i]);
	mutex_unlock(&bench_mutex);
	if (!n)
		return -ENOENT;
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations layout_fops = {
	.owner = THIS_MODULE,
	.read = layout_read,
	.llseek = default_llseek,
};

static const struct file_operations bench_fops = {
	.owner = THIS_MODULE,
	.write = bench_write,
	.read = bench_read,
	.llseek = default_llseek,
};

static int __init bpf_bench_ops_init(void)
{
	int err;

	bench_fill_stubs(&bench_ops1_stubs, sizeof(bench_ops1_stubs));
	bench_fill_stubs(&bench_ops_stubs, sizeof(bench_ops_stubs));
	bench_ops_stubs.empty = bench_stub_empty;
	bench_fill_stubs(&bench_ops40_stubs, sizeof(bench_ops40_stubs));
	bench_st_init(&bench_ops1_st);
	bench_st_init(&bench_ops_st);
	bench_st_init(&bench_ops40_st);

	err = register_bpf_struct_ops(&bench_ops1_st, bench_ops1);
	err = err ?: register_bpf_struct_ops(&bench_ops_st, bench_ops);
	err = err ?: register_bpf_struct_ops(&bench_ops40_st, bench_ops40);
	if (err)
		return err;
	bench_file = debugfs_create_file("bpf_bench_ops", 0600, NULL, NULL,
					 &bench_fops);
	layout_file = debugfs_create_file("bpf_bench_ops_layout", 0400, NULL,
					  NULL, &layout_fops);
	return 0;
}

static void __exit bpf_bench_ops_exit(void)
{
	debugfs_remove(layout_file);
	debugfs_remove(bench_file);
}

module_init(bpf_bench_ops_init);
module_exit(bpf_bench_ops_exit);
MODULE_DESCRIPTION("struct_ops dispatch benchmark: native vs BPF ops");
MODULE_LICENSE("GPL");
