// SPDX-License-Identifier: GPL-2.0
/*
 * bpf_bench_ops - the kernel side of the struct_ops benchmark.
 *
 * It registers the struct_ops types of bench_ops.h and makes a debugfs file,
 * /sys/kernel/debug/bpf_bench_ops.  Writing "IMPL OP N" to the file calls
 * member OP of IMPL N times through the ops pointer, the way a subsystem
 * calls its ops; reading the file gives "NS N SUM" for the last run.
 *
 *	IMPL	native: C functions of this module;
 *		bpf: the bench_ops map registered (or linked) last
 *	OP	empty: void (*)(void) with an empty body;
 *		trivial: u64 (*)(u64 x) returning x + 1
 *
 * The loop runs with interrupts off between bench_mark_start() and
 * bench_mark_stop(), so that the TCG plugin counting guest instructions
 * sees only the calls in its window.
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

/* The ops the bpf IMPL calls; set by reg/update, cleared by unreg. */
static struct bench_ops *bench_active;
/* Serialises runs and guards last_result. */
static DEFINE_MUTEX(bench_mutex);
static struct {
	u64 ns;
	unsigned long calls;
	u64 sum;
} last_result;
static struct dentry *bench_file;

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
	WRITE_ONCE(bench_active, kdata);
	return 0;
}

static void bench_unreg(void *kdata, struct bpf_link *link)
{
	cmpxchg(&bench_active, (struct bench_ops *)kdata, NULL);
}

static int bench_update(void *kdata, void *old_kdata, struct bpf_link *link)
{
	WRITE_ONCE(bench_active, kdata);
	return 0;
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

/* The measured loop: N calls of one member through @ops. */
static noinline void bench_loop(const struct bench_ops *ops, bool empty,
				unsigned long n)
{
	unsigned long flags, i;
	u64 sum = 0, t0;

	local_irq_save(flags);
	t0 = ktime_get_ns();
	bench_mark_start();
	if (empty) {
		for (i = 0; i < n; i++)
			ops->empty();
	} else {
		for (i = 0; i < n; i++)
			sum += ops->trivial(i);
	}
	bench_mark_stop();
	last_result.ns = ktime_get_ns() - t0;
	local_irq_restore(flags);
	last_result.calls = n;
	last_result.sum = sum;
}

static int bench_run(const char *impl, const char *op, unsigned long n)
{
	bool empty = !strcmp(op, "empty");
	const struct bench_ops *ops;
	int err = 0;

	if (!empty && strcmp(op, "trivial"))
		return -EINVAL;
	if (n > BENCH_MAX_CALLS)
		return -E2BIG;

	mutex_lock(&bench_mutex);
	/* RCU keeps a registered map's trampolines alive while we call them. */
	rcu_read_lock();
	if (!strcmp(impl, "native"))
		ops = &native_ops;
	else if (!strcmp(impl, "bpf"))
		ops = READ_ONCE(bench_active);
	else
		ops = ERR_PTR(-EINVAL);
	if (IS_ERR(ops))
		err = PTR_ERR(ops);
	else if (!ops || !(empty ? (void *)ops->empty : (void *)ops->trivial))
		err = -ENOENT;
	else
		bench_loop(ops, empty, n);
	rcu_read_unlock();
	mutex_unlock(&bench_mutex);
	return err;
}

static ssize_t bench_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	char buf[64], impl[8], op[8];
	unsigned long n;
	int err;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%7s %7s %lu", impl, op, &n) != 3)
		return -EINVAL;
	err = bench_run(impl, op, n);
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
	return 0;
}

static void __exit bpf_bench_ops_exit(void)
{
	debugfs_remove(bench_file);
}

module_init(bpf_bench_ops_init);
module_exit(bpf_bench_ops_exit);
MODULE_DESCRIPTION("struct_ops dispatch benchmark: native vs BPF ops");
MODULE_LICENSE("GPL");
