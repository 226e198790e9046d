// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF struct_ops.
 *
 * A BPF_MAP_TYPE_STRUCT_OPS map has exactly one value: a kernel "ops"
 * structure (tcp_congestion_ops, sched_ext_ops, ...) wrapped in
 * struct bpf_struct_ops_<name> = { common header, the ops struct }.
 * Userspace writes the value once, with BPF_PROG_TYPE_STRUCT_OPS prog fds
 * in the function-pointer members.  The update builds one trampoline per
 * such member, points the kernel copy of the struct at the trampolines and
 * hands that copy to the subsystem: directly with ->reg() for a plain map,
 * or later through a struct_ops bpf_link for a BPF_F_LINK map.
 *
 * Every map keeps two copies of the value:
 *   uvalue - what userspace wrote, prog fds replaced by prog ids; this is
 *	      what BPF_MAP_LOOKUP_ELEM returns.
 *   kvalue - what the subsystem sees; embedded last in the map so that
 *	      bpf_struct_ops_get()/put() find the map from the struct.
 *
 * Value state (kvalue.common.state):
 *   INIT     - empty; only an update may run.
 *   INUSE    - plain map, registered with the subsystem.
 *   TOBEFREE - plain map, being unregistered by delete_elem.
 *   READY    - BPF_F_LINK map, built; links may attach it.
 *
 * Locking rules
 *
 * st_map->lock (a mutex per map)
 *	Serialises BPF_MAP_UPDATE_ELEM calls on one map.  While the state is
 *	INIT it protects everything an update builds: uvalue, kvalue.data,
 *	tramps[]/nr_tramps and image_pages[]/image_pages_cnt.  Once the state
 *	has left INIT, this file writes none of them again until the map is
 *	freed; the subsystem may still write its own fields of kvalue.data
 *	from ->reg() and ->update() (tcp_register_congestion_control() sets
 *	the key and list of the tcp_congestion_ops, for one).
 *	The two counts are read without the lock by map_mem_usage at any
 *	time, hence the WRITE_ONCE()/READ_ONCE() on them, and by code that
 *	runs when they can no longer change: ksym publishing right after a
 *	successful update, and map free.
 *
 * kvalue.common.state
 *	An update stores READY or INUSE with smp_store_release() after the
 *	whole value is built.  Readers that do not take st_map->lock (lookup,
 *	link create, link update) use smp_load_acquire().  delete_elem moves
 *	INUSE to TOBEFREE with cmpxchg(), so exactly one caller unregisters.
 *
 * st_link_mutex (global)
 *	Serialises attaching, replacing and detaching maps through struct_ops
 *	links: the ->reg(), ->update() and ->unreg() calls made for a link and
 *	every store to st_link->map.  It is never nested with st_map->lock.
 *	The one exception is the link's last put (st_link_dealloc()): nothing
 *	else can reach the link then, so it calls ->unreg() and drops the map
 *	without the mutex.
 *
 * RCU
 *	st_link->map is RCU-protected.  fdinfo and link_info read it under
 *	rcu_read_lock(); poll only tests it for NULL.  The map such a reader
 *	sees stays valid because map free waits for a grace period first.
 *
 * prog->aux->st_ops_assoc_mutex (one per prog)
 *	Serialises stores to prog->aux->st_ops_assoc, the struct_ops map a
 *	prog is associated with.  Taken alone by BPF_PROG_ASSOC_STRUCT_OPS
 *	and prog free, and inside st_map->lock by an update that takes the
 *	prog or undoes itself; nothing is taken inside it.
 *	bpf_prog_get_assoc_struct_ops() reads the pointer under RCU (classic
 *	or tasks trace, as the calling prog runs) and never sees a freed map:
 *	a prog associated through the command holds a map reference until
 *	the prog is freed, and a struct_ops prog, which holds none, loses the
 *	association in map free before the RCU waits below.
 *
 * Map free waits for classic RCU and RCU tasks (and, when the map holds a
 * sleepable prog, RCU tasks trace) before trampolines and progs go away;
 * see st_map_wait_for_callers().
 */

#include <linux/bpf.h>
#include <linux/bpf_verifier.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/filter.h>
#include <linux/kallsyms.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/numa.h>
#include <linux/poll.h>
#include <linux/rcupdate_trace.h>
#include <linux/rcupdate_wait.h>
#include <linux/refcount.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

/* Kernel view of every struct bpf_struct_ops_<name> value type. */
struct bpf_struct_ops_value {
	struct bpf_struct_ops_common_value common;
	char data[] ____cacheline_aligned_in_smp;
};

/* Trampoline pages one map may use. */
#define MAX_TRAMP_IMAGE_PAGES 8

/* A function-pointer member that was given a prog. */
struct bpf_struct_ops_tramp {
	struct bpf_tramp_link tlink;	/* holds the prog reference */
	struct bpf_ksym ksym;		/* "bpf__<type>_<member>" */
};

struct bpf_struct_ops_map {
	struct bpf_map map;
	const struct bpf_struct_ops_desc *st_ops_desc;
	/* BTF of the value type; a module's BTF is pinned by the module ref */
	struct btf *btf;
	/* see "Locking rules" above */
	struct mutex lock;
	/* number of function-pointer members: the capacity of tramps[] */
	u32 funcs_cnt;
	/* tramps[0 .. nr_tramps - 1] are in use, in member order */
	u32 nr_tramps;
	struct bpf_struct_ops_tramp **tramps;
	/* pages holding the trampolines, filled one after the other */
	u32 image_pages_cnt;
	void *image_pages[MAX_TRAMP_IMAGE_PAGES];
	struct bpf_struct_ops_value *uvalue;
	/* must stay last: its data[] is the kernel struct */
	struct bpf_struct_ops_value kvalue;
};

static DEFINE_MUTEX(st_link_mutex);

#define ST_VALUE_PREFIX		"bpf_struct_ops_"
#define ST_VALUE_NAME_MAX	128
#define ST_NULLABLE_SUFFIX	"__nullable"
#define ST_REFCOUNTED_SUFFIX	"__ref"

BTF_ID_LIST(st_ops_btf_ids)
BTF_ID(struct, module)
BTF_ID(struct, bpf_struct_ops_common_value)

enum {
	ST_BTF_MODULE,
	ST_BTF_COMMON_VALUE,
};

/* ------------------------------------------------------------------------
 * Small helpers
 */

static struct bpf_struct_ops_map *to_st_map(const struct bpf_map *map)
{
	return container_of(map, struct bpf_struct_ops_map, map);
}

static struct bpf_struct_ops_map *st_map_from_kdata(const void *kdata)
{
	struct bpf_struct_ops_value *kvalue;

	kvalue = container_of((void *)kdata, struct bpf_struct_ops_value, data);
	return container_of(kvalue, struct bpf_struct_ops_map, kvalue);
}

static const struct bpf_struct_ops *st_ops_of(const struct bpf_struct_ops_map *st_map)
{
	return st_map->st_ops_desc->st_ops;
}

static u32 st_member_off(const struct btf_type *t, const struct btf_member *member)
{
	return __btf_member_bit_offset(t, member) / 8;
}

/* The cfi stub of the member at byte offset @moff; NULL if unsupported. */
static void *st_stub_of(const struct bpf_struct_ops *st_ops, u32 moff)
{
	return *(void **)(st_ops->cfi_stubs + moff);
}

/**
 * bpf_struct_ops_supported() - tell whether a member can be given a prog
 * @st_ops: the struct_ops type
 * @moff: byte offset of the member in the kernel struct
 *
 * A subsystem marks a member as unsupported by leaving its cfi stub NULL.
 *
 * Return: 0 if a prog may be attached to the member, -ENOTSUPP otherwise.
 */
int bpf_struct_ops_supported(const struct bpf_struct_ops *st_ops, u32 moff)
{
	return st_stub_of(st_ops, moff) ? 0 : -ENOTSUPP;
}

/* ------------------------------------------------------------------------
 * Type descriptors, set up when a subsystem or module registers a type
 */

/* The value type must be { struct bpf_struct_ops_common_value; struct <t>; }. */
static int st_desc_check_value_type(struct btf *btf, const struct btf_type *t,
				    s32 value_id, const char *value_name)
{
	const struct btf_type *vt = btf_type_by_id(btf, value_id);
	const struct btf_member *m;

	if (btf_vlen(vt) != 2) {
		pr_warn("%s has %u members instead of 2\n", value_name, btf_vlen(vt));
		return -EINVAL;
	}
	m = btf_type_member(vt);
	if (m[0].type != st_ops_btf_ids[ST_BTF_COMMON_VALUE]) {
		pr_warn("%s does not start with a struct bpf_struct_ops_common_value\n",
			value_name);
		return -EINVAL;
	}
	if (btf_type_by_id(btf, m[1].type) != t) {
		pr_warn("%s does not embed struct %s as its second member\n",
			value_name, btf_name_by_offset(btf, t->name_off));
		return -EINVAL;
	}
	return 0;
}

/* Find the struct and its value type in @btf and check their shape. */
static int st_desc_lookup(struct bpf_struct_ops_desc *desc, struct btf *btf)
{
	const struct bpf_struct_ops *st_ops = desc->st_ops;
	char value_name[ST_VALUE_NAME_MAX];
	const struct btf_type *t;
	s32 type_id, value_id;
	int len, err;

	len = snprintf(value_name, sizeof(value_name), ST_VALUE_PREFIX "%s", st_ops->name);
	if (len >= (int)sizeof(value_name)) {
		pr_warn("struct_ops name %s is too long\n", st_ops->name);
		return -EINVAL;
	}
	if (!st_ops->cfi_stubs) {
		pr_warn("struct_ops %s: cfi_stubs are required\n", st_ops->name);
		return -EINVAL;
	}

	type_id = btf_find_by_name_kind(btf, st_ops->name, BTF_KIND_STRUCT);
	if (type_id < 0) {
		pr_warn("no struct %s in BTF %s\n", st_ops->name, btf_get_name(btf));
		return -EINVAL;
	}
	t = btf_type_by_id(btf, type_id);
	if (btf_type_vlen(t) > BPF_STRUCT_OPS_MAX_NR_MEMBERS) {
		pr_warn("struct %s has %u members, more than struct_ops supports\n",
			st_ops->name, btf_type_vlen(t));
		return -EINVAL;
	}

	value_id = btf_find_by_name_kind(btf, value_name, BTF_KIND_STRUCT);
	if (value_id < 0) {
		pr_warn("no struct %s in BTF %s\n", value_name, btf_get_name(btf));
		return -EINVAL;
	}
	err = st_desc_check_value_type(btf, t, value_id, value_name);
	if (err)
		return err;

	desc->type = t;
	desc->type_id = type_id;
	desc->value_id = value_id;
	desc->value_type = btf_type_by_id(btf, value_id);
	return 0;
}

static bool st_member_is_module_ptr(const struct btf *btf, u32 type_id)
{
	const struct btf_type *pointee = btf_type_resolve_ptr(btf, type_id, NULL);

	if (!pointee)
		return false;
	if (!__btf_type_is_struct(pointee) && !btf_type_is_fwd(pointee))
		return false;
	return !strcmp(btf_name_by_offset(btf, pointee->name_off), "module");
}

/*
 * The FUNC_PROTO of the cfi stub at @stub.  The stub is found by address in
 * kallsyms, then by name in @btf; @sym receives the name.
 */
static const struct btf_type *st_stub_proto(struct btf *btf, void *stub,
					    const char *mname, char *sym,
					    const char **name)
{
	const struct btf_type *func;
	s32 func_id;

	*name = kallsyms_lookup((unsigned long)stub, NULL, NULL, NULL, sym);
	if (!*name) {
		pr_warn("the cfi stub of member %s has no symbol\n", mname);
		return ERR_PTR(-ENOENT);
	}
	func_id = btf_find_by_name_kind(btf, *name, BTF_KIND_FUNC);
	if (func_id < 0) {
		pr_warn("cfi stub %s is not in BTF\n", *name);
		return ERR_PTR(-ENOENT);
	}
	func = btf_type_by_id(btf, func_id);
	return btf_type_by_id(btf, func->type);
}

/*
 * The suffix of stub argument @stub_arg: how the verifier treats the
 * matching argument of the member.  NULL for a plain argument.
 */
static const char *st_arg_tag(struct btf *btf, const struct btf_param *stub_arg,
			      struct bpf_ctx_arg_aux *aux)
{
	if (btf_param_match_suffix(btf, stub_arg, ST_NULLABLE_SUFFIX)) {
		aux->reg_type = PTR_TRUSTED | PTR_TO_BTF_ID | PTR_MAYBE_NULL;
		return ST_NULLABLE_SUFFIX;
	}
	if (btf_param_match_suffix(btf, stub_arg, ST_REFCOUNTED_SUFFIX)) {
		/* The verifier acquires the reference at prog entry. */
		aux->reg_type = PTR_TRUSTED | PTR_TO_BTF_ID;
		aux->refcounted = true;
		return ST_REFCOUNTED_SUFFIX;
	}
	return NULL;
}

/*
 * Describe argument @argno, tagged @tag in the stub, to the verifier;
 * st_arg_tag() has set aux->reg_type.
 */
static int st_fill_tagged_arg(struct btf *btf, const struct btf_type *proto,
			      u32 argno, const struct btf_param *arg,
			      const struct btf_param *stub_arg, const char *stub_name,
			      const char *tag, struct bpf_ctx_arg_aux *aux)
{
	const struct btf_type *pointee;
	u32 struct_id;
	int off;

	pointee = btf_type_resolve_ptr(btf, arg->type, &struct_id);
	if (!pointee || !btf_type_is_struct(pointee)) {
		pr_warn("%s: arg#%u is %s but not a struct pointer\n",
			stub_name, argno, tag);
		return -EINVAL;
	}
	off = btf_ctx_arg_offset(btf, proto, argno);
	if (off < 0) {
		pr_warn("%s: no trampoline ctx offset for arg#%u\n", stub_name, argno);
		return -EINVAL;
	}
	if (arg->type != stub_arg->type) {
		pr_warn("%s: arg#%u has another type than in the member's prototype\n",
			stub_name, argno);
		return -EINVAL;
	}

	aux->btf = btf;
	aux->btf_id = struct_id;
	aux->offset = off;
	return 0;
}

/*
 * The name of an argument of a member's cfi stub may carry a suffix:
 * "__nullable" (the argument may be NULL) or "__ref" (the prog receives
 * it as a referenced kptr it must release or hand on).  Collect one
 * bpf_ctx_arg_aux per tagged argument into @out; check_struct_ops_btf_id()
 * gives each prog a copy as prog->aux->ctx_arg_info.  @out is left alone
 * on failure or when no argument is tagged.
 */
static int st_desc_tagged_args(struct btf *btf, const char *st_name,
			       const char *mname, const struct btf_type *proto,
			       void *stub, struct bpf_struct_ops_arg_info *out)
{
	const struct btf_param *args, *stub_args;
	const struct btf_type *stub_proto;
	struct bpf_ctx_arg_aux *aux;
	char sym[KSYM_SYMBOL_LEN];
	const char *stub_name;
	u32 i, nargs, cnt = 0;
	int err;

	stub_proto = st_stub_proto(btf, stub, mname, sym, &stub_name);
	if (IS_ERR(stub_proto))
		return PTR_ERR(stub_proto);

	nargs = btf_type_vlen(proto);
	if (btf_type_vlen(stub_proto) != nargs) {
		pr_warn("stub %s and member %s of struct %s differ in argument count\n",
			stub_name, mname, st_name);
		return -EINVAL;
	}
	if (!nargs)
		return 0;

	aux = kcalloc(nargs, sizeof(*aux), GFP_KERNEL);
	if (!aux)
		return -ENOMEM;

	args = btf_params(proto);
	stub_args = btf_params(stub_proto);
	for (i = 0; i < nargs; i++) {
		const char *tag = st_arg_tag(btf, &stub_args[i], &aux[cnt]);

		if (!tag)
			continue;
		err = st_fill_tagged_arg(btf, proto, i, &args[i], &stub_args[i],
					 stub_name, tag, &aux[cnt]);
		if (err) {
			kfree(aux);
			return err;
		}
		cnt++;
	}

	if (!cnt) {
		kfree(aux);
		return 0;
	}
	out->info = aux;
	out->cnt = cnt;
	return 0;
}

/*
 * A prog may return a pointer only as a referenced kptr the verifier can
 * type (or NULL): an op may return a pointer to a struct, nothing else.
 */
static int st_check_ret_ptr(struct btf *btf, const char *st_name,
			    const char *mname, const struct btf_type *proto)
{
	const struct btf_type *ret;

	if (!proto->type)
		return 0;
	ret = btf_type_resolve_ptr(btf, proto->type, NULL);
	if (ret && !__btf_type_is_struct(ret)) {
		pr_warn("func ptr %s in struct %s returns non-struct pointer, which is not supported\n",
			mname, st_name);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Check member @idx of the type and prepare what its progs will need. */
static int st_desc_init_member(struct bpf_struct_ops_desc *desc, struct btf *btf,
			       struct bpf_verifier_log *log, u32 idx,
			       const struct btf_member *member)
{
	struct bpf_struct_ops *st_ops = desc->st_ops;
	struct btf_func_model *model = &st_ops->func_models[idx];
	const char *mname = btf_name_by_offset(btf, member->name_off);
	u32 moff = st_member_off(desc->type, member);
	const struct btf_type *proto;
	int err;

	if (!*mname) {
		pr_warn("struct %s: anonymous members are not supported\n", st_ops->name);
		return -EOPNOTSUPP;
	}
	if (__btf_member_bitfield_size(desc->type, member)) {
		pr_warn("struct %s: bit field %s is not supported\n", st_ops->name, mname);
		return -EOPNOTSUPP;
	}
	if (!st_ops_btf_ids[ST_BTF_MODULE] && st_member_is_module_ptr(btf, member->type)) {
		pr_warn("struct %s has a struct module pointer but BTF has no struct module (CONFIG_MODULES=n?)\n",
			st_ops->name);
		return -EOPNOTSUPP;
	}

	/* Data members and ops without a cfi stub never run a prog. */
	proto = btf_type_resolve_func_ptr(btf, member->type, NULL);
	if (!proto || bpf_struct_ops_supported(st_ops, moff))
		return 0;

	if (btf_distill_func_proto(log, btf, proto, mname, model)) {
		pr_warn("struct %s: cannot model function pointer %s\n", st_ops->name, mname);
		return -EINVAL;
	}
	/*
	 * The trampoline keeps 8 bytes of return value.  A wider value comes
	 * back in a register pair, half of which would be lost.
	 */
	if (model->ret_size > 8) {
		pr_warn("struct %s: %s returns more than 8 bytes\n", st_ops->name, mname);
		return -EOPNOTSUPP;
	}

	err = st_check_ret_ptr(btf, st_ops->name, mname, proto);
	if (err)
		return err;

	return st_desc_tagged_args(btf, st_ops->name, mname, proto,
				   st_stub_of(st_ops, moff), &desc->arg_info[idx]);
}

/**
 * bpf_struct_ops_desc_init() - set up the descriptor of a struct_ops type
 * @st_ops_desc: descriptor whose ->st_ops the caller has set
 * @btf: BTF (vmlinux or module) that describes the type
 * @log: verifier log for btf_distill_func_proto()
 *
 * Looks up struct <name> and struct bpf_struct_ops_<name> in @btf, checks
 * that every member is usable, builds the function models and the
 * __nullable and __ref argument info of the supported ops, then calls
 * st_ops->init().
 * On failure nothing stays allocated.
 *
 * Return: 0 on success, a negative errno otherwise.
 */
int bpf_struct_ops_desc_init(struct bpf_struct_ops_desc *st_ops_desc,
			     struct btf *btf, struct bpf_verifier_log *log)
{
	struct bpf_struct_ops *st_ops = st_ops_desc->st_ops;
	const struct btf_member *member;
	int err;
	u32 i;

	err = st_desc_lookup(st_ops_desc, btf);
	if (err)
		return err;

	st_ops_desc->arg_info = kcalloc(btf_type_vlen(st_ops_desc->type),
					sizeof(*st_ops_desc->arg_info), GFP_KERNEL);
	if (!st_ops_desc->arg_info)
		return -ENOMEM;

	for_each_member(i, st_ops_desc->type, member) {
		err = st_desc_init_member(st_ops_desc, btf, log, i, member);
		if (err)
			goto release;
	}

	if (st_ops->init && st_ops->init(btf)) {
		pr_warn("struct_ops %s: init() failed\n", st_ops->name);
		err = -EINVAL;
		goto release;
	}
	return 0;

release:
	bpf_struct_ops_desc_release(st_ops_desc);
	return err;
}

/**
 * bpf_struct_ops_desc_release() - free what bpf_struct_ops_desc_init() built
 * @st_ops_desc: the descriptor
 *
 * Frees the per-member argument info.  Safe to call twice.
 */
void bpf_struct_ops_desc_release(struct bpf_struct_ops_desc *st_ops_desc)
{
	struct bpf_struct_ops_arg_info *arg_info = st_ops_desc->arg_info;
	u32 i, n;

	if (!arg_info)
		return;
	n = btf_type_vlen(st_ops_desc->type);
	for (i = 0; i < n; i++)
		kfree(arg_info[i].info);
	kfree(arg_info);
	st_ops_desc->arg_info = NULL;
}

/* ------------------------------------------------------------------------
 * Trampolines
 */

/* One page for trampolines, charged to the JIT's module memory budget. */
static void *st_image_page_alloc(void)
{
	void *page;
	int err;

	err = bpf_jit_charge_modmem(PAGE_SIZE);
	if (err)
		return ERR_PTR(err);
	page = arch_alloc_bpf_trampoline(PAGE_SIZE);
	if (page)
		return page;
	bpf_jit_uncharge_modmem(PAGE_SIZE);
	return ERR_PTR(-ENOMEM);
}

/**
 * bpf_struct_ops_image_free() - free a trampoline page
 * @image: a page allocated by bpf_struct_ops_prepare_trampoline(), or NULL
 *
 * Also returns the page to the JIT's module memory budget.
 */
void bpf_struct_ops_image_free(void *image)
{
	if (!image)
		return;
	arch_free_bpf_trampoline(image, PAGE_SIZE);
	bpf_jit_uncharge_modmem(PAGE_SIZE);
}

static void st_tramp_link_release(struct bpf_link *link)
{
	/* Nothing to undo: the trampoline image belongs to its owner. */
}

static void st_tramp_link_dealloc(struct bpf_link *link)
{
	kfree(container_of(link, struct bpf_tramp_link, link));
}

/*
 * Ops of the internal links that carry one prog into one trampoline.  They
 * are never exposed to userspace.  Also used by bpf_struct_ops_test_run().
 */
const struct bpf_link_ops bpf_struct_ops_link_lops = {
	.release = st_tramp_link_release,
	.dealloc = st_tramp_link_dealloc,
};

/* Same, for links embedded in a map's struct bpf_struct_ops_tramp. */
static void st_member_link_dealloc(struct bpf_link *link)
{
	kfree(container_of(link, struct bpf_struct_ops_tramp, tlink.link));
}

static const struct bpf_link_ops st_member_link_lops = {
	.release = st_tramp_link_release,
	.dealloc = st_member_link_dealloc,
};

/*
 * bpf_struct_ops.fast_trampolines=0 on the command line: every member gets
 * the arch's generic BPF trampoline, the one fentry progs use.
 */
static bool st_fast_tramps __ro_after_init = true;
module_param_named(fast_trampolines, st_fast_tramps, bool, 0444);
MODULE_PARM_DESC(fast_trampolines,
		 "Use the arch's own struct_ops trampolines where it has them (default: on)");

/**
 * arch_prepare_bpf_struct_ops_trampoline() - the arch's own struct_ops trampoline
 * @image: where the trampoline goes, or NULL to learn its length
 * @image_end: the end of the room at @image
 * @m: the function model of the member
 * @flags: BPF_TRAMP_F_* flags of a struct_ops trampoline
 * @prog: the prog the trampoline runs
 * @func_addr: the member's cfi stub
 *
 * An arch that has them overrides this; the default has none.
 *
 * Return: the exact length of the trampoline, or -EOPNOTSUPP for the
 * generic trampoline, or another negative errno.
 */
int __weak arch_prepare_bpf_struct_ops_trampoline(void *image, void *image_end,
						  const struct btf_func_model *m,
						  u32 flags, struct bpf_prog *prog,
						  void *func_addr)
{
	return -EOPNOTSUPP;
}

/* The length of the arch's own trampoline, or <= 0 for the generic one. */
static int st_fast_tramp_len(const struct btf_func_model *model, u32 flags,
			     struct bpf_prog *prog, void *stub_func)
{
	if (!st_fast_tramps)
		return -EOPNOTSUPP;
	return arch_prepare_bpf_struct_ops_trampoline(NULL, NULL, model, flags,
						      prog, stub_func);
}

/**
 * bpf_struct_ops_prepare_trampoline() - JIT the trampoline of one member
 * @tlinks: BPF_TRAMP_MAX scratch entries for the arch code
 * @link: link carrying the prog the trampoline calls
 * @model: function model of the member
 * @stub_func: the member's cfi stub
 * @image: in: the current page or NULL; out: the page that holds the code
 * @image_off: in: first free byte of *@image; out: first byte after the code
 * @allow_alloc: whether a new page may be allocated when *@image is full
 *
 * The trampoline is the arch's own where it has one for this member and
 * prog (see fast_trampolines above), else the arch's generic BPF
 * trampoline.  It is written at *@image + *@image_off when it fits, else at
 * the start of a new page.  A new page is returned in *@image; the caller
 * owns it and frees it with bpf_struct_ops_image_free().  On failure
 * *@image and *@image_off are unchanged and no page is left allocated.
 *
 * Return: 0 on success, -E2BIG if a new page is needed but not allowed,
 * another negative errno otherwise.
 */
int bpf_struct_ops_prepare_trampoline(struct bpf_tramp_links *tlinks,
				      struct bpf_tramp_link *link,
				      const struct btf_func_model *model,
				      void *stub_func, void **image,
				      u32 *image_off, bool allow_alloc)
{
	u32 off = *image_off, flags = BPF_TRAMP_F_INDIRECT;
	struct bpf_prog *prog = link->link.prog;
	void *page = *image;
	int need, len;
	bool fast;

	tlinks[BPF_TRAMP_FENTRY].links[0] = link;
	tlinks[BPF_TRAMP_FENTRY].nr_links = 1;
	/* The prog's return value is the op's return value. */
	if (model->ret_size)
		flags |= BPF_TRAMP_F_RET_FENTRY_RET;

	need = st_fast_tramp_len(model, flags, prog, stub_func);
	fast = need != -EOPNOTSUPP;
	if (!fast)
		need = arch_bpf_trampoline_size(model, flags, tlinks, stub_func);
	if (need <= 0)
		return need ?: -EFAULT;

	if (!page || need > PAGE_SIZE - off) {
		if (!allow_alloc)
			return -E2BIG;
		page = st_image_page_alloc();
		if (IS_ERR(page))
			return PTR_ERR(page);
		off = 0;
	}

	if (fast)
		len = arch_prepare_bpf_struct_ops_trampoline(page + off,
							     page + off + need,
							     model, flags, prog,
							     stub_func);
	else
		len = arch_prepare_bpf_trampoline(NULL, page + off,
						  page + off + need, model,
						  flags, tlinks, stub_func);
	if (len <= 0) {
		if (page != *image)
			bpf_struct_ops_image_free(page);
		return len ?: -EFAULT;
	}

	*image = page;
	*image_off = off + len;
	return 0;
}

static void st_ksym_init(struct bpf_ksym *ksym, const char *tname,
			 const char *mname, void *start, u32 len)
{
	snprintf(ksym->name, KSYM_NAME_LEN, "bpf__%s_%s", tname, mname);
	INIT_LIST_HEAD_RCU(&ksym->lnode);
	bpf_image_ksym_init(start, len, ksym);
}

/* ------------------------------------------------------------------------
 * Map state that an update builds and a reset or map free tears down
 */

/* The association of @aux, read by its writers. */
static struct bpf_map *st_assoc_locked(const struct bpf_prog_aux *aux)
{
	return rcu_dereference_protected(aux->st_ops_assoc,
					 lockdep_is_held(&aux->st_ops_assoc_mutex));
}

/* A map that took @prog goes away or undoes its update. */
static void st_prog_dissoc(struct bpf_prog *prog, struct bpf_map *map)
{
	struct bpf_prog_aux *aux = prog->aux;

	mutex_lock(&aux->st_ops_assoc_mutex);
	/* BPF_PTR_POISON stays: the prog was in another map too. */
	if (st_assoc_locked(aux) == map)
		RCU_INIT_POINTER(aux->st_ops_assoc, NULL);
	mutex_unlock(&aux->st_ops_assoc_mutex);
}

static void st_map_dissoc_progs(struct bpf_struct_ops_map *st_map)
{
	u32 i;

	for (i = 0; i < st_map->nr_tramps; i++)
		st_prog_dissoc(st_map->tramps[i]->tlink.link.prog, &st_map->map);
}

/* Drop every member trampoline's link, and with it the prog reference. */
static void st_map_put_tramps(struct bpf_struct_ops_map *st_map)
{
	u32 n = st_map->nr_tramps;

	while (n--) {
		struct bpf_struct_ops_tramp *tr = st_map->tramps[n];

		st_map->tramps[n] = NULL;
		WRITE_ONCE(st_map->nr_tramps, n);
		bpf_link_put(&tr->tlink.link);
	}
}

static void st_map_free_images(struct bpf_struct_ops_map *st_map)
{
	u32 n = st_map->image_pages_cnt;

	while (n--) {
		bpf_struct_ops_image_free(st_map->image_pages[n]);
		st_map->image_pages[n] = NULL;
		WRITE_ONCE(st_map->image_pages_cnt, n);
	}
}

/* Ksyms go live only once an update has fully succeeded. */
static void st_map_add_ksyms(struct bpf_struct_ops_map *st_map)
{
	u32 i;

	for (i = 0; i < st_map->nr_tramps; i++)
		bpf_image_ksym_add(&st_map->tramps[i]->ksym);
}

static void st_map_del_ksyms(struct bpf_struct_ops_map *st_map)
{
	u32 i;

	for (i = 0; i < st_map->nr_tramps; i++)
		bpf_image_ksym_del(&st_map->tramps[i]->ksym);
}

/* Undo a failed update: back to an empty map in state INIT. */
static void st_map_reset(struct bpf_struct_ops_map *st_map)
{
	st_map_dissoc_progs(st_map);
	st_map_put_tramps(st_map);
	st_map_free_images(st_map);
	memset(st_map->uvalue, 0, st_map->map.value_size);
	memset(&st_map->kvalue, 0, st_map->map.value_size);
}

/* ------------------------------------------------------------------------
 * BPF_MAP_UPDATE_ELEM, in stages: check the value, build each member,
 * publish, register.
 */

/* Scratch state of one update. */
struct st_map_update {
	struct bpf_tramp_links *tlinks;	/* argument block for the JIT */
	/*
	 * The kernel struct being built: kvalue.data itself, so that
	 * ->init_member() and ->validate() see the pointer ->reg() gets.
	 */
	void *kdata;
	const char *tname;		/* struct name, for the ksyms */
	u32 image_off;			/* first free byte of the last page */
};

static void st_update_fini(struct st_map_update *up)
{
	kfree(up->tlinks);
}

static int st_update_init(struct bpf_struct_ops_map *st_map, struct st_map_update *up)
{
	const struct btf_type *t = st_map->st_ops_desc->type;

	up->tlinks = kcalloc(BPF_TRAMP_MAX, sizeof(*up->tlinks), GFP_KERNEL);
	if (!up->tlinks)
		return -ENOMEM;
	up->kdata = st_map->kvalue.data;
	up->tname = btf_name_by_offset(st_map->btf, t->name_off);
	up->image_off = 0;
	return 0;
}

static bool st_range_dirty(const void *data, u32 from, u32 to)
{
	return to > from && memchr_inv(data + from, 0, to - from);
}

/* Padding between and after the members of @t must be zero in @data. */
static int st_check_holes(const struct btf *btf, const struct btf_type *t,
			  const void *data)
{
	const struct btf_member *member;
	u32 i, off, size, end = 0;

	for_each_member(i, t, member) {
		const struct btf_type *mt;

		off = st_member_off(t, member);
		if (st_range_dirty(data, end, off))
			return -EINVAL;
		mt = btf_resolve_size(btf, btf_type_by_id(btf, member->type), &size);
		if (IS_ERR(mt))
			return PTR_ERR(mt);
		end = off + size;
	}
	return st_range_dirty(data, end, t->size) ? -EINVAL : 0;
}

/* Stage 1: what can be checked without the map lock. */
static int st_map_check_value(const struct bpf_struct_ops_map *st_map,
			      const void *key, const void *value, u64 flags)
{
	const struct bpf_struct_ops_desc *desc = st_map->st_ops_desc;
	const struct bpf_struct_ops_value *uv = value;
	int err;

	if (flags)
		return -EINVAL;
	if (*(const u32 *)key)
		return -E2BIG;

	err = st_check_holes(st_map->btf, desc->value_type, value);
	if (!err)
		err = st_check_holes(st_map->btf, desc->type, uv->data);
	if (err)
		return err;

	/* The common header belongs to the kernel. */
	if (uv->common.state || refcount_read(&uv->common.refcnt))
		return -EINVAL;
	return 0;
}

/*
 * A "struct module *" member: userspace must leave it NULL.  The kernel
 * copy gets BPF_MODULE_OWNER, so bpf_try_module_get() takes a reference on
 * the map instead of on a module.
 */
static int st_member_set_owner(const void *uslot, void *kslot)
{
	if (*(void * const *)uslot)
		return -EINVAL;
	*(void **)kslot = BPF_MODULE_OWNER;
	return 0;
}

/* A member nobody else handled must be all zero. */
static int st_member_check_zero(const struct btf *btf,
				const struct btf_member *member, const void *uslot)
{
	const struct btf_type *mt;
	u32 size;

	mt = btf_resolve_size(btf, btf_type_by_id(btf, member->type), &size);
	if (IS_ERR(mt))
		return PTR_ERR(mt);
	return memchr_inv(uslot, 0, size) ? -EINVAL : 0;
}

/* JIT the trampoline of member @idx and point the kernel struct at it. */
static int st_member_emit_tramp(struct bpf_struct_ops_map *st_map,
				struct st_map_update *up, u32 idx,
				const struct btf_member *member,
				struct bpf_struct_ops_tramp *tr)
{
	const struct bpf_struct_ops *st_ops = st_ops_of(st_map);
	u32 moff = st_member_off(st_map->st_ops_desc->type, member);
	u32 npages = st_map->image_pages_cnt;
	void *last = npages ? st_map->image_pages[npages - 1] : NULL;
	u32 start = up->image_off;
	void *page = last;
	int err;

	err = bpf_struct_ops_prepare_trampoline(up->tlinks, &tr->tlink,
						&st_ops->func_models[idx],
						st_stub_of(st_ops, moff),
						&page, &up->image_off,
						npages < MAX_TRAMP_IMAGE_PAGES);
	if (err)
		return err;

	if (page != last) {
		/* It did not fit in the last page and starts a new one. */
		st_map->image_pages[npages] = page;
		WRITE_ONCE(st_map->image_pages_cnt, npages + 1);
		start = 0;
	}

	*(void **)(up->kdata + moff) = page + start + cfi_get_offset();
	st_ksym_init(&tr->ksym, up->tname,
		     btf_name_by_offset(st_map->btf, member->name_off),
		     page + start, up->image_off - start);
	return 0;
}

/* A function-pointer member: take its prog and build its trampoline. */
static int st_member_attach_prog(struct bpf_struct_ops_map *st_map,
				 struct st_map_update *up, u32 idx,
				 const struct btf_member *member)
{
	const struct bpf_struct_ops_desc *desc = st_map->st_ops_desc;
	void *uslot = st_map->uvalue->data + st_member_off(desc->type, member);
	struct bpf_struct_ops_tramp *tr;
	struct bpf_prog *prog;
	int fd, err;

	/* As for attr->attach_prog_fd, fd 0 means "none": the op stays NULL. */
	fd = (int)*(unsigned long *)uslot;
	if (!fd)
		return 0;

	prog = bpf_prog_get(fd);
	if (IS_ERR(prog))
		return PTR_ERR(prog);
	if (prog->type != BPF_PROG_TYPE_STRUCT_OPS ||
	    prog->aux->attach_btf_id != desc->type_id ||
	    prog->expected_attach_type != idx) {
		bpf_prog_put(prog);
		return -EINVAL;
	}

	tr = kzalloc(sizeof(*tr), GFP_USER);
	if (!tr) {
		bpf_prog_put(prog);
		return -ENOMEM;
	}
	bpf_link_init(&tr->tlink.link, BPF_LINK_TYPE_STRUCT_OPS,
		      &st_member_link_lops, prog);
	/* From now on the map owns @tr; a failed update puts it. */
	st_map->tramps[st_map->nr_tramps] = tr;
	WRITE_ONCE(st_map->nr_tramps, st_map->nr_tramps + 1);
	/* Never fails for a struct_ops prog; a reset dissociates it again. */
	bpf_prog_assoc_struct_ops(prog, &st_map->map);

	err = st_member_emit_tramp(st_map, up, idx, member, tr);
	if (err)
		return err;

	/* Lookup shows prog ids, not the fds userspace passed in. */
	*(unsigned long *)uslot = prog->aux->id;
	return 0;
}

/* Stage 2, for member @idx. */
static int st_map_build_member(struct bpf_struct_ops_map *st_map,
			       struct st_map_update *up, u32 idx,
			       const struct btf_member *member)
{
	const struct bpf_struct_ops *st_ops = st_ops_of(st_map);
	const struct btf_type *t = st_map->st_ops_desc->type;
	u32 moff = st_member_off(t, member);
	void *udata = st_map->uvalue->data;
	const struct btf_type *pointee;
	u32 pointee_id;
	int err;

	pointee = btf_type_resolve_ptr(st_map->btf, member->type, &pointee_id);
	if (pointee && pointee_id == st_ops_btf_ids[ST_BTF_MODULE])
		return st_member_set_owner(udata + moff, up->kdata + moff);

	if (st_ops->init_member) {
		err = st_ops->init_member(t, member, up->kdata, udata);
		/* > 0: the subsystem has filled this member itself. */
		if (err)
			return err < 0 ? err : 0;
	}

	if (!pointee || !btf_type_is_func_proto(pointee))
		return st_member_check_zero(st_map->btf, member, udata + moff);

	return st_member_attach_prog(st_map, up, idx, member);
}

static int st_map_build(struct bpf_struct_ops_map *st_map, struct st_map_update *up)
{
	const struct btf_member *member;
	u32 i;
	int err;

	for_each_member(i, st_map->st_ops_desc->type, member) {
		err = st_map_build_member(st_map, up, i, member);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Stage 3: let the subsystem validate the struct and make the trampolines
 * read-only and executable.
 */
static int st_map_publish(struct bpf_struct_ops_map *st_map, struct st_map_update *up)
{
	const struct bpf_struct_ops *st_ops = st_ops_of(st_map);
	int err;
	u32 i;

	if (st_ops->validate) {
		err = st_ops->validate(up->kdata);
		if (err)
			return err;
	}

	for (i = 0; i < st_map->image_pages_cnt; i++) {
		err = arch_protect_bpf_trampoline(st_map->image_pages[i], PAGE_SIZE);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Stage 4: a BPF_F_LINK map only becomes READY, links register it later.
 * A plain map registers now and becomes INUSE.
 */
static int st_map_register(struct bpf_struct_ops_map *st_map)
{
	enum bpf_struct_ops_state *state = &st_map->kvalue.common.state;
	int err;

	if (st_map->map.map_flags & BPF_F_LINK) {
		/* Pairs with smp_load_acquire() in st_map_can_attach(). */
		smp_store_release(state, BPF_STRUCT_OPS_STATE_READY);
		return 0;
	}

	err = st_ops_of(st_map)->reg(st_map->kvalue.data, NULL);
	if (err)
		return err;
	/*
	 * The registration holds a map reference until delete_elem.  Taking
	 * it after ->reg() is safe: while the state is INIT delete_elem does
	 * nothing.
	 */
	bpf_map_inc(&st_map->map);
	/*
	 * Pairs with smp_load_acquire() in lookup: who sees INUSE sees the
	 * prog ids in uvalue.
	 */
	smp_store_release(state, BPF_STRUCT_OPS_STATE_INUSE);
	return 0;
}

static long st_map_update_elem(struct bpf_map *map, void *key, void *value,
			       u64 flags)
{
	struct bpf_struct_ops_map *st_map = to_st_map(map);
	struct st_map_update up = {};
	int err;

	err = st_map_check_value(st_map, key, value, flags);
	if (err)
		return err;
	err = st_update_init(st_map, &up);
	if (err)
		return err;

	mutex_lock(&st_map->lock);
	if (st_map->kvalue.common.state != BPF_STRUCT_OPS_STATE_INIT) {
		err = -EBUSY;
		goto unlock;
	}

	memcpy(st_map->uvalue, value, map->value_size);
	err = st_map_build(st_map, &up);
	if (!err)
		err = st_map_publish(st_map, &up);
	if (!err)
		err = st_map_register(st_map);
	if (err)
		st_map_reset(st_map);
unlock:
	mutex_unlock(&st_map->lock);
	st_update_fini(&up);

	if (!err)
		st_map_add_ksyms(st_map);
	return err;
}

/* ------------------------------------------------------------------------
 * Other map operations
 */

static int st_map_get_next_key(struct bpf_map *map, void *key, void *next_key)
{
	/* The only key is 0. */
	if (key && !*(u32 *)key)
		return -ENOENT;
	*(u32 *)next_key = 0;
	return 0;
}

/* BPF programs cannot look up a struct_ops map. */
static void *st_map_lookup_elem(struct bpf_map *map, void *key)
{
	return ERR_PTR(-EINVAL);
}

/**
 * bpf_struct_ops_map_sys_lookup_elem() - BPF_MAP_LOOKUP_ELEM from userspace
 * @map: a struct_ops map
 * @key: the key; only 0 exists
 * @value: buffer of map->value_size bytes
 *
 * Fills @value with what userspace wrote, with prog ids in place of the prog
 * fds, the current state and a rough count of kernel users in the common
 * header.  An empty map reads as all zeros.
 *
 * Return: 0, or -ENOENT for a non-zero key.
 */
int bpf_struct_ops_map_sys_lookup_elem(struct bpf_map *map, void *key,
				       void *value)
{
	struct bpf_struct_ops_map *st_map = to_st_map(map);
	struct bpf_struct_ops_value *out = value;
	enum bpf_struct_ops_state state;
	s64 users;

	if (unlikely(*(u32 *)key))
		return -ENOENT;

	/* Pairs with smp_store_release() in st_map_register(). */
	state = smp_load_acquire(&st_map->kvalue.common.state);
	if (state == BPF_STRUCT_OPS_STATE_INIT) {
		memset(value, 0, map->value_size);
		return 0;
	}

	memcpy(out, st_map->uvalue, map->value_size);
	out->common.state = state;
	/*
	 * References that are not user (fd, link) references: an estimate of
	 * how many kernel objects, e.g. sockets using a tcp-cc, use the map.
	 * No lock; state and count need not agree.
	 */
	users = atomic64_read(&map->refcnt) - atomic64_read(&map->usercnt);
	refcount_set(&out->common.refcnt, max_t(s64, users, 0));
	return 0;
}

static void st_map_unreg(struct bpf_map *map, struct bpf_link *link)
{
	struct bpf_struct_ops_map *st_map = to_st_map(map);

	st_ops_of(st_map)->unreg(st_map->kvalue.data, link);
}

static long st_map_delete_elem(struct bpf_map *map, void *key)
{
	enum bpf_struct_ops_state old;

	/* A BPF_F_LINK map is detached through its links. */
	if (map->map_flags & BPF_F_LINK)
		return -EOPNOTSUPP;

	old = cmpxchg(&to_st_map(map)->kvalue.common.state,
		      BPF_STRUCT_OPS_STATE_INUSE, BPF_STRUCT_OPS_STATE_TOBEFREE);
	if (old == BPF_STRUCT_OPS_STATE_TOBEFREE)
		return -EINPROGRESS;
	if (old != BPF_STRUCT_OPS_STATE_INUSE) {
		/* INIT: nothing registered.  READY cannot happen here. */
		WARN_ON_ONCE(old != BPF_STRUCT_OPS_STATE_INIT);
		return -ENOENT;
	}

	st_map_unreg(map, NULL);
	/* The reference taken by st_map_register(). */
	bpf_map_put(map);
	return 0;
}

static void st_map_seq_show_elem(struct bpf_map *map, void *key,
				 struct seq_file *m)
{
	void *buf = kmalloc(map->value_size, GFP_USER | __GFP_NOWARN);

	if (!buf)
		return;
	if (!bpf_struct_ops_map_sys_lookup_elem(map, key, buf)) {
		btf_type_seq_show(to_st_map(map)->btf,
				  map->btf_vmlinux_value_type_id, buf, m);
		seq_putc(m, '\n');
	}
	kfree(buf);
}

/* ------------------------------------------------------------------------
 * Map creation and destruction
 */

static int st_map_alloc_check(union bpf_attr *attr)
{
	if (attr->key_size != sizeof(unsigned int) || attr->max_entries != 1)
		return -EINVAL;
	if (attr->map_flags & ~(BPF_F_LINK | BPF_F_VTYPE_BTF_OBJ_FD))
		return -EINVAL;
	if (!attr->btf_vmlinux_value_type_id)
		return -EINVAL;
	return 0;
}

static u32 st_count_func_ptrs(const struct btf *btf, const struct btf_type *t)
{
	const struct btf_member *member;
	u32 i, n = 0;

	for_each_member(i, t, member)
		if (btf_type_resolve_func_ptr(btf, member->type, NULL))
			n++;
	return n;
}

/*
 * The BTF that holds the value type: vmlinux's, or a module's given by
 * value_type_btf_obj_fd.  For a module the map keeps a module reference,
 * returned in *@mod, for its whole life; it also keeps the BTF alive.
 */
static struct btf *st_map_value_btf(const union bpf_attr *attr,
				    struct module **mod)
{
	struct btf *btf;

	if (!(attr->map_flags & BPF_F_VTYPE_BTF_OBJ_FD)) {
		btf = bpf_get_btf_vmlinux();
		return btf ?: ERR_PTR(-ENOTSUPP);
	}

	btf = btf_get_by_fd(attr->value_type_btf_obj_fd);
	if (IS_ERR(btf))
		return btf;
	if (btf_is_module(btf))
		*mod = btf_try_get_module(btf);
	btf_put(btf);
	return *mod ? btf : ERR_PTR(-EINVAL);
}

/* Free a map and everything it still holds; no waiting here. */
static void st_map_destroy(struct bpf_struct_ops_map *st_map)
{
	st_map_put_tramps(st_map);
	st_map_free_images(st_map);
	bpf_map_area_free(st_map->tramps);
	bpf_map_area_free(st_map->uvalue);
	mutex_destroy(&st_map->lock);
	bpf_map_area_free(st_map);
}

static struct bpf_struct_ops_map *
st_map_create(struct btf *btf, const struct bpf_struct_ops_desc *desc)
{
	const struct btf_type *vt = desc->value_type;
	struct bpf_struct_ops_map *st_map;
	u32 nfuncs;

	/* kvalue comes last; its data[] is the rest of the value type. */
	st_map = bpf_map_area_alloc(sizeof(*st_map) + vt->size -
				    sizeof(struct bpf_struct_ops_value),
				    NUMA_NO_NODE);
	if (!st_map)
		return NULL;
	mutex_init(&st_map->lock);
	st_map->st_ops_desc = desc;
	st_map->btf = btf;

	nfuncs = st_count_func_ptrs(btf, desc->type);
	st_map->funcs_cnt = nfuncs;
	st_map->uvalue = bpf_map_area_alloc(vt->size, NUMA_NO_NODE);
	st_map->tramps = bpf_map_area_alloc((u64)nfuncs * sizeof(*st_map->tramps),
					    NUMA_NO_NODE);
	if (!st_map->uvalue || !st_map->tramps) {
		st_map_destroy(st_map);
		return NULL;
	}
	return st_map;
}

static struct bpf_map *st_map_alloc(union bpf_attr *attr)
{
	const struct bpf_struct_ops_desc *desc;
	struct bpf_struct_ops_map *st_map;
	struct module *mod = NULL;
	struct btf *btf;
	int err;

	btf = st_map_value_btf(attr, &mod);
	if (IS_ERR(btf))
		return ERR_CAST(btf);

	desc = bpf_struct_ops_find_value(btf, attr->btf_vmlinux_value_type_id);
	if (!desc) {
		err = -ENOTSUPP;
		goto put_mod;
	}
	if (attr->value_size != desc->value_type->size) {
		err = -EINVAL;
		goto put_mod;
	}

	st_map = st_map_create(btf, desc);
	if (!st_map) {
		err = -ENOMEM;
		goto put_mod;
	}
	bpf_map_init_from_attr(&st_map->map, attr);
	return &st_map->map;

put_mod:
	module_put(mod);
	return ERR_PTR(err);
}

static bool st_map_has_sleepable(const struct bpf_struct_ops_map *st_map)
{
	u32 i;

	for (i = 0; i < st_map->nr_tramps; i++)
		if (st_map->tramps[i]->tlink.link.prog->sleepable)
			return true;
	return false;
}

/*
 * The subsystem may drop its last reference to the map while one of the
 * ops is still running; a tcp-cc ->init() may switch the socket to another
 * congestion control, for example.  Before trampolines and progs are freed:
 *  - RCU tasks trace waits for sleepable progs, which run under
 *    rcu_read_lock_trace() and may block.  A task blocked in one counts as
 *    quiescent for RCU tasks, so this wait must be over before that one
 *    starts.  Only maps holding a sleepable prog pay for it.
 *  - classic RCU waits for non-sleepable progs, which run under
 *    rcu_read_lock(), and for RCU readers of st_link->map;
 *  - RCU tasks waits for tasks still in the trampoline code around the
 *    prog call.
 */
static void st_map_wait_for_callers(const struct bpf_struct_ops_map *st_map)
{
	if (st_map_has_sleepable(st_map))
		synchronize_rcu_tasks_trace();
	synchronize_rcu_mult(call_rcu, call_rcu_tasks);
}

static void st_map_free(struct bpf_map *map)
{
	struct bpf_struct_ops_map *st_map = to_st_map(map);
	struct module *owner = NULL;

	/* Taken by st_map_value_btf(); dropped once nothing of ours runs. */
	if (btf_is_module(st_map->btf))
		owner = st_ops_of(st_map)->owner;

	st_map_del_ksyms(st_map);
	/* Before the waits: see the rules of st_ops_assoc_mutex. */
	st_map_dissoc_progs(st_map);
	st_map_wait_for_callers(st_map);
	st_map_destroy(st_map);
	module_put(owner);
}

static u64 st_map_mem_usage(const struct bpf_map *map)
{
	const struct bpf_struct_ops_map *st_map = to_st_map(map);
	u64 vsize = st_map->st_ops_desc->value_type->size;
	u64 usage;

	/* the map with its kvalue, then uvalue */
	usage = sizeof(*st_map) + vsize - sizeof(struct bpf_struct_ops_value);
	usage += vsize;
	usage += (u64)st_map->funcs_cnt * sizeof(*st_map->tramps);
	usage += (u64)READ_ONCE(st_map->nr_tramps) * sizeof(struct bpf_struct_ops_tramp);
	/* every trampoline page actually allocated */
	usage += (u64)READ_ONCE(st_map->image_pages_cnt) * PAGE_SIZE;
	return usage;
}

BTF_ID_LIST_SINGLE(st_map_btf_ids, struct, bpf_struct_ops_map)
const struct bpf_map_ops bpf_struct_ops_map_ops = {
	.map_alloc_check	= st_map_alloc_check,
	.map_alloc		= st_map_alloc,
	.map_free		= st_map_free,
	.map_get_next_key	= st_map_get_next_key,
	.map_lookup_elem	= st_map_lookup_elem,
	.map_update_elem	= st_map_update_elem,
	.map_delete_elem	= st_map_delete_elem,
	.map_seq_show_elem	= st_map_seq_show_elem,
	.map_mem_usage		= st_map_mem_usage,
	.map_btf_id		= &st_map_btf_ids[0],
};

/**
 * bpf_map_struct_ops_info_fill() - struct_ops part of BPF_OBJ_GET_INFO_BY_FD
 * @info: map info being filled
 * @map: a struct_ops map
 *
 * Reports the id of the BTF object (vmlinux or module) of the value type.
 */
void bpf_map_struct_ops_info_fill(struct bpf_map_info *info, struct bpf_map *map)
{
	info->btf_vmlinux_id = btf_obj_id(to_st_map(map)->btf);
}

/**
 * bpf_struct_ops_get() - take a reference on the map behind a struct
 * @kdata: the registered kernel struct (kvalue.data of a struct_ops map);
 *	   const because subsystems pass const ops pointers
 *
 * Used through bpf_try_module_get() for BPF_MODULE_OWNER structs.
 *
 * Return: true if a reference was taken, false if the map is going away.
 */
bool bpf_struct_ops_get(const void *kdata)
{
	struct bpf_struct_ops_map *st_map = st_map_from_kdata(kdata);

	return !IS_ERR(__bpf_map_inc_not_zero(&st_map->map, false));
}
EXPORT_SYMBOL_GPL(bpf_struct_ops_get);

/**
 * bpf_struct_ops_put() - drop a reference taken by bpf_struct_ops_get()
 * @kdata: the registered kernel struct
 */
void bpf_struct_ops_put(const void *kdata)
{
	bpf_map_put(&st_map_from_kdata(kdata)->map);
}
EXPORT_SYMBOL_GPL(bpf_struct_ops_put);

/**
 * bpf_struct_ops_id() - the id of the map behind a struct
 * @kdata: the kernel struct of a struct_ops map, as ->reg(), ->update(),
 *	   ->unreg() and ->validate() get it
 *
 * A subsystem that keeps several registered structs can key them by this
 * id; BPF_OBJ_GET_INFO_BY_FD on the map reports the same one.  The caller
 * must hold the map (a registration does).
 *
 * Return: the map id.
 */
u32 bpf_struct_ops_id(const void *kdata)
{
	return st_map_from_kdata(kdata)->map.id;
}
EXPORT_SYMBOL_GPL(bpf_struct_ops_id);

/**
 * bpf_struct_ops_for_each_prog() - call @cb for every prog of a struct
 * @kdata: the kernel struct of a struct_ops map, as ->reg(), ->update()
 *	   and ->unreg() get it
 * @cb: called with each prog and @data, in member order; a prog set in
 *	two members is passed twice
 * @data: passed to @cb
 *
 * The progs cannot change while the struct is registered, so no lock is
 * taken; call it only where the map is built and held, as from those
 * callbacks.
 *
 * Return: 0 when @cb was called for every prog, else the first non-zero
 * value @cb returned (the walk stops there).
 */
int bpf_struct_ops_for_each_prog(const void *kdata,
				 int (*cb)(struct bpf_prog *prog, void *data),
				 void *data)
{
	struct bpf_struct_ops_map *st_map = st_map_from_kdata(kdata);
	u32 i;
	int err;

	for (i = 0; i < st_map->nr_tramps; i++) {
		err = cb(st_map->tramps[i]->tlink.link.prog, data);
		if (err)
			return err;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(bpf_struct_ops_for_each_prog);

/* ------------------------------------------------------------------------
 * Prog association: the struct_ops map a prog works for, found by kfuncs
 */

/**
 * bpf_prog_assoc_struct_ops() - associate a prog with a struct_ops map
 * @prog: the prog
 * @map: a BPF_MAP_TYPE_STRUCT_OPS map; the caller holds a reference
 *
 * A struct_ops prog is associated by the update of each map that takes
 * it, without a map reference; a second map makes the association
 * ambiguous (BPF_PTR_POISON) for good.  Any other prog is associated by
 * BPF_PROG_ASSOC_STRUCT_OPS and holds a map reference until it is freed.
 *
 * Return: 0 on success or when @prog already is associated with @map,
 * -EBUSY when a prog other than a struct_ops prog is associated with
 * another map.
 */
int bpf_prog_assoc_struct_ops(struct bpf_prog *prog, struct bpf_map *map)
{
	bool st_prog = prog->type == BPF_PROG_TYPE_STRUCT_OPS;
	struct bpf_prog_aux *aux = prog->aux;
	struct bpf_map *cur;
	int err = 0;

	mutex_lock(&aux->st_ops_assoc_mutex);
	cur = st_assoc_locked(aux);
	if (cur == map)
		goto unlock;
	if (cur) {
		if (st_prog)
			rcu_assign_pointer(aux->st_ops_assoc, BPF_PTR_POISON);
		else
			err = -EBUSY;
		goto unlock;
	}
	if (!st_prog)
		bpf_map_inc(map);
	rcu_assign_pointer(aux->st_ops_assoc, map);
unlock:
	mutex_unlock(&aux->st_ops_assoc_mutex);
	return err;
}

/**
 * bpf_prog_disassoc_struct_ops() - end a prog's association, at prog free
 * @prog: the prog
 *
 * Drops the map reference a prog associated through
 * BPF_PROG_ASSOC_STRUCT_OPS holds.
 */
void bpf_prog_disassoc_struct_ops(struct bpf_prog *prog)
{
	struct bpf_prog_aux *aux = prog->aux;
	struct bpf_map *map;

	mutex_lock(&aux->st_ops_assoc_mutex);
	map = st_assoc_locked(aux);
	if (map == BPF_PTR_POISON)
		map = NULL;
	RCU_INIT_POINTER(aux->st_ops_assoc, NULL);
	mutex_unlock(&aux->st_ops_assoc_mutex);

	if (map && prog->type != BPF_PROG_TYPE_STRUCT_OPS)
		bpf_map_put(map);
}

/**
 * bpf_prog_get_assoc_struct_ops() - the struct a prog is associated with
 * @aux: the calling prog's aux, as a "__prog" kfunc argument passes it
 *
 * For kfuncs: call it from the prog's context (under RCU or RCU tasks
 * trace).  The struct is not necessarily registered; the map may never
 * have been updated, or been detached from its subsystem.
 *
 * Return: the kernel struct (kvalue.data) of the associated map, or NULL
 * when there is none or the association is ambiguous.
 */
void *bpf_prog_get_assoc_struct_ops(const struct bpf_prog_aux *aux)
{
	struct bpf_map *map;

	map = rcu_dereference_check(aux->st_ops_assoc,
				    rcu_read_lock_any_held() ||
				    rcu_read_lock_trace_held());
	if (!map || map == BPF_PTR_POISON)
		return NULL;
	return to_st_map(map)->kvalue.data;
}
EXPORT_SYMBOL_GPL(bpf_prog_get_assoc_struct_ops);

/* ------------------------------------------------------------------------
 * struct_ops links (BPF_LINK_CREATE with attach_type BPF_STRUCT_OPS)
 */

/* A struct_ops link attaches one map at a time to its subsystem. */
struct bpf_struct_ops_link {
	struct bpf_link link;
	/* woken with EPOLLHUP on detach */
	wait_queue_head_t wait_hup;
	/* the attached map; NULL once detached */
	struct bpf_map __rcu *map;
};

static struct bpf_struct_ops_link *to_st_link(const struct bpf_link *link)
{
	return container_of(link, struct bpf_struct_ops_link, link);
}

/* A link can take a BPF_F_LINK struct_ops map once its update is done. */
static bool st_map_can_attach(struct bpf_map *map)
{
	if (map->map_type != BPF_MAP_TYPE_STRUCT_OPS ||
	    !(map->map_flags & BPF_F_LINK))
		return false;
	/* Pairs with smp_store_release() in st_map_register(). */
	return smp_load_acquire(&to_st_map(map)->kvalue.common.state) ==
	       BPF_STRUCT_OPS_STATE_READY;
}

static void st_link_dealloc(struct bpf_link *link)
{
	struct bpf_struct_ops_link *st_link = to_st_link(link);
	struct bpf_map *map;

	/* Last reference to the link: nothing else can reach ->map. */
	map = rcu_dereference_protected(st_link->map, true);
	if (map) {
		st_map_unreg(map, link);
		bpf_map_put(map);
	}
	kfree(st_link);
}

/* Id of the attached map, or 0 once the link is detached. */
static u32 st_link_map_id(const struct bpf_link *link)
{
	struct bpf_struct_ops_link *st_link = to_st_link(link);
	struct bpf_map *map;
	u32 id = 0;

	rcu_read_lock();
	map = rcu_dereference(st_link->map);
	if (map)
		id = map->id;
	rcu_read_unlock();
	return id;
}

static void st_link_show_fdinfo(const struct bpf_link *link, struct seq_file *seq)
{
	u32 id = st_link_map_id(link);

	if (id)
		seq_printf(seq, "map_id:\t%u\n", id);
}

static int st_link_fill_info(const struct bpf_link *link, struct bpf_link_info *info)
{
	u32 id = st_link_map_id(link);

	if (id)
		info->struct_ops.map_id = id;
	return 0;
}

/* Hand the link over from @old_map to @new_map.  Under st_link_mutex. */
static int st_link_switch(struct bpf_struct_ops_link *st_link,
			  struct bpf_map *old_map, struct bpf_map *new_map)
{
	struct bpf_struct_ops_map *old_st = to_st_map(old_map);
	struct bpf_struct_ops_map *new_st = to_st_map(new_map);
	int err;

	lockdep_assert_held(&st_link_mutex);

	/* Only a map of the same struct_ops type can take over. */
	if (new_st->st_ops_desc != old_st->st_ops_desc)
		return -EINVAL;

	err = st_ops_of(new_st)->update(new_st->kvalue.data, old_st->kvalue.data,
					&st_link->link);
	if (err)
		return err;

	bpf_map_inc(new_map);
	rcu_assign_pointer(st_link->map, new_map);
	bpf_map_put(old_map);
	return 0;
}

static int st_link_update_map(struct bpf_link *link, struct bpf_map *new_map,
			      struct bpf_map *expected_old_map)
{
	struct bpf_struct_ops_link *st_link = to_st_link(link);
	struct bpf_map *old_map;
	int err;

	if (!st_map_can_attach(new_map))
		return -EINVAL;
	if (!st_ops_of(to_st_map(new_map))->update)
		return -EOPNOTSUPP;

	mutex_lock(&st_link_mutex);
	old_map = rcu_dereference_protected(st_link->map,
					    lockdep_is_held(&st_link_mutex));
	if (!old_map)
		err = -ENOLINK;
	else if (expected_old_map && old_map != expected_old_map)
		err = -EPERM;
	else if (new_map == old_map)
		/*
		 * Nothing to switch.  ->update() must not see one struct as
		 * both old and new: tcp_update_congestion_control() would
		 * add the struct to its list a second time.
		 */
		err = 0;
	else
		err = st_link_switch(st_link, old_map, new_map);
	mutex_unlock(&st_link_mutex);

	return err;
}

/* Detaching twice, or after the subsystem detached, is a no-op. */
static int st_link_detach(struct bpf_link *link)
{
	struct bpf_struct_ops_link *st_link = to_st_link(link);
	struct bpf_map *map;

	mutex_lock(&st_link_mutex);
	map = rcu_dereference_protected(st_link->map,
					lockdep_is_held(&st_link_mutex));
	if (map) {
		st_map_unreg(map, link);
		RCU_INIT_POINTER(st_link->map, NULL);
		/* The reference taken by link create or link update. */
		bpf_map_put(map);
	}
	mutex_unlock(&st_link_mutex);

	if (map)
		wake_up_interruptible_poll(&st_link->wait_hup, EPOLLHUP);
	return 0;
}

/* EPOLLHUP tells userspace the link has been detached. */
static __poll_t st_link_poll(struct file *file, struct poll_table_struct *pts)
{
	struct bpf_struct_ops_link *st_link = file->private_data;

	poll_wait(file, &st_link->wait_hup, pts);
	return rcu_access_pointer(st_link->map) ? 0 : EPOLLHUP;
}

static const struct bpf_link_ops st_link_lops = {
	.dealloc	= st_link_dealloc,
	.detach		= st_link_detach,
	.show_fdinfo	= st_link_show_fdinfo,
	.fill_link_info	= st_link_fill_info,
	.update_map	= st_link_update_map,
	.poll		= st_link_poll,
};

/**
 * bpf_struct_ops_link_create() - BPF_LINK_CREATE for a struct_ops map
 * @attr: attributes; link_create.map_fd names a READY BPF_F_LINK map
 *
 * Registers the map's struct with its subsystem on behalf of a new link.
 * On success the link owns the map reference taken here.
 *
 * Return: the link's fd, or a negative errno.
 */
int bpf_struct_ops_link_create(union bpf_attr *attr)
{
	struct bpf_struct_ops_link *st_link;
	struct bpf_struct_ops_map *st_map;
	struct bpf_link_primer primer;
	int err;
	struct bpf_map *map;

	map = bpf_map_get(attr->link_create.map_fd);
	if (IS_ERR(map))
		return PTR_ERR(map);
	if (!st_map_can_attach(map)) {
		err = -EINVAL;
		goto put_map;
	}

	st_link = kzalloc(sizeof(*st_link), GFP_USER);
	if (!st_link) {
		err = -ENOMEM;
		goto put_map;
	}
	bpf_link_init(&st_link->link, BPF_LINK_TYPE_STRUCT_OPS, &st_link_lops, NULL);
	init_waitqueue_head(&st_link->wait_hup);
	err = bpf_link_prime(&st_link->link, &primer);
	if (err) {
		kfree(st_link);
		goto put_map;
	}

	/*
	 * Hold st_link_mutex across ->reg() so that a detach requested by the
	 * subsystem cannot run before ->map is set.
	 */
	st_map = to_st_map(map);
	mutex_lock(&st_link_mutex);
	err = st_ops_of(st_map)->reg(st_map->kvalue.data, &st_link->link);
	if (!err)
		RCU_INIT_POINTER(st_link->map, map);
	mutex_unlock(&st_link_mutex);
	if (err) {
		/* Frees st_link through st_link_dealloc(); ->map is NULL. */
		bpf_link_cleanup(&primer);
		goto put_map;
	}
	return bpf_link_settle(&primer);

put_map:
	bpf_map_put(map);
	return err;
}

/* ------------------------------------------------------------------------
 * BPF_PROG_TYPE_STRUCT_OPS
 */

/* BPF_PROG_TEST_RUN is served by bpf_dummy_ops (net/bpf). */
const struct bpf_prog_ops bpf_struct_ops_prog_ops = {
#ifdef CONFIG_NET
	.test_run = bpf_struct_ops_test_run,
#endif
};

/* Prog-type hooks are per struct_ops type, in st_ops->verifier_ops. */
const struct bpf_verifier_ops bpf_struct_ops_verifier_ops = {
};
