// SPDX-License-Identifier: GPL-2.0
/*
 * The syscall contract of BPF_MAP_TYPE_STRUCT_OPS maps and of their links,
 * driven with raw bpf() commands on tcp_congestion_ops, and on bpf_testmod's
 * bpf_testmod_ops where a module or a second struct_ops type is needed.
 *
 * Every expected errno is the one the 6.12 code paths return
 * (kernel/bpf/bpf_struct_ops.c, kernel/bpf/syscall.c, net/ipv4/bpf_tcp_ca.c
 * and net/ipv4/tcp_cong.c), so the test fails on a kernel that returns
 * another one.
 */
#include <test_progs.h>
#include <limits.h>
#include <sys/epoll.h>
#include <bpf/btf.h>
#include "struct_ops_testmod_refcnt.h"

#ifndef ENOTSUPP
#define ENOTSUPP		524
#endif

#define TCP_CA_NAME_MAX		16
#define TCP_CONG_NON_RESTRICTED	0x1
#define TCP_CONG_NEEDS_ECN	0x2
#define KSYM_PREFIX		"bpf__tcp_congestion_ops_"
#define WAIT_MS			30000
#define FREE_LOOPS		50

/* enum bpf_struct_ops_state, as BPF_MAP_LOOKUP_ELEM reports it */
enum {
	ST_INIT,
	ST_INUSE,
	ST_TOBEFREE,
	ST_READY,
};

/* struct bpf_struct_ops_common_value, at the start of every value */
struct st_common {
	__u32 refcnt;
	__u32 state;
};

/* A struct_ops type as its BTF describes it */
struct st_type {
	const struct btf *btf;
	int obj_fd;		/* module BTF object; 0 for vmlinux */
	__u32 obj_id;		/* id of the kernel BTF object */
	__u32 type_id;		/* struct <name> */
	__u32 value_id;		/* struct bpf_struct_ops_<name> */
	__u32 value_size;
	__u32 data_off;		/* offset of the ops struct in the value */
	__u32 size;		/* size of the ops struct */
};

enum {
	P_SSTHRESH,
	P_CONG_AVOID,
	P_UNDO_CWND,
	P_CONG_CONTROL,
	NR_TCP_PROGS,
};

static const char * const tcp_members[NR_TCP_PROGS] = {
	"ssthresh", "cong_avoid", "undo_cwnd", "cong_control",
};

/* Offsets of some members of struct tcp_congestion_ops */
struct tcp_layout {
	__u32 slot[NR_TCP_PROGS];
	__u32 name;
	__u32 list;
	__u32 key;
	__u32 flags;
	__u32 last_end;		/* where the last member ends */
};

static struct {
	struct btf *vmlinux;
	struct btf *mod;
	int vmlinux_fd;		/* the vmlinux BTF object */
	int user_btf_fd;	/* BPF_MAP_CREATE wants a user BTF in btf_fd */
	__u32 user_btf_id;
	struct st_type tcp;
	struct st_type tmod;
	struct st_type kd;	/* bpf_testmod_kdata_ops: has ->update() */
	struct tcp_layout lay;
	int tcp_prog[NR_TCP_PROGS];
	__u32 tcp_prog_id[NR_TCP_PROGS];
	int tmod_prog;		/* bpf_testmod_ops.test_1 */
	int sock_prog;		/* a socket filter */
	int array_map;		/* a map that is not a struct_ops map */
} ctx;

/* Helpers: BTF, programs, maps */

static int member_idx(const struct st_type *st, const char *name, __u32 *off)
{
	const struct btf_type *t = btf__type_by_id(st->btf, st->type_id);
	const struct btf_member *m = btf_members(t);
	int i;

	for (i = 0; i < btf_vlen(t); i++, m++) {
		if (strcmp(btf__name_by_offset(st->btf, m->name_off), name))
			continue;
		if (off)
			*off = btf_member_bit_offset(t, i) / 8;
		return i;
	}
	return -ENOENT;
}

static bool init_st_type(struct st_type *st, const struct btf *btf,
			 const char *name)
{
	const struct btf_type *vt;
	char vname[128];
	int id;

	st->btf = btf;
	id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);
	if (!ASSERT_GT(id, 0, name))
		return false;
	st->type_id = id;
	st->size = btf__type_by_id(btf, id)->size;

	snprintf(vname, sizeof(vname), "bpf_struct_ops_%s", name);
	id = btf__find_by_name_kind(btf, vname, BTF_KIND_STRUCT);
	if (!ASSERT_GT(id, 0, vname))
		return false;
	vt = btf__type_by_id(btf, id);
	if (!ASSERT_EQ(btf_vlen(vt), 2, "value type members"))
		return false;
	st->value_id = id;
	st->value_size = vt->size;
	st->data_off = btf_member_bit_offset(vt, 1) / 8;
	return ASSERT_GT(st->data_off, sizeof(struct st_common), "value hole");
}

static bool init_tcp_layout(void)
{
	const struct st_type *st = &ctx.tcp;
	struct tcp_layout *lay = &ctx.lay;
	const struct btf_type *t = btf__type_by_id(st->btf, st->type_id);
	const struct btf_member *last = btf_members(t) + btf_vlen(t) - 1;
	int i, sz;

	for (i = 0; i < NR_TCP_PROGS; i++)
		if (!ASSERT_GE(member_idx(st, tcp_members[i], &lay->slot[i]), 0,
			       tcp_members[i]))
			return false;
	if (!ASSERT_GE(member_idx(st, "name", &lay->name), 0, "name") ||
	    !ASSERT_GE(member_idx(st, "list", &lay->list), 0, "list") ||
	    !ASSERT_GE(member_idx(st, "key", &lay->key), 0, "key") ||
	    !ASSERT_GE(member_idx(st, "flags", &lay->flags), 0, "flags"))
		return false;
	sz = btf__resolve_size(st->btf, last->type);
	if (!ASSERT_GT(sz, 0, "last member size"))
		return false;
	lay->last_end = btf_member_bit_offset(t, btf_vlen(t) - 1) / 8 + sz;
	return true;
}

/* A kernel BTF object by name ("vmlinux", a module): its fd and id */
static int kern_btf_fd(const char *name, __u32 *id)
{
	struct bpf_btf_info info;
	char buf[64];
	__u32 len;
	int fd;

	*id = 0;
	while (!bpf_btf_get_next_id(*id, id)) {
		fd = bpf_btf_get_fd_by_id(*id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		info.name = ptr_to_u64(buf);
		info.name_len = sizeof(buf);
		len = sizeof(info);
		if (!bpf_btf_get_info_by_fd(fd, &info, &len) &&
		    info.kernel_btf && !strcmp(buf, name))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/* "return 0" for member @idx of type @btf_id in BTF object @obj_fd */
static int load_st_prog_at(__u32 btf_id, int obj_fd, __u32 idx,
			   const char *license, __u32 flags)
{
	const struct bpf_insn insns[] = {
		BPF_MOV64_IMM(BPF_REG_0, 0),
		BPF_EXIT_INSN(),
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .attach_btf_id = btf_id,
		    .attach_btf_obj_fd = obj_fd,
		    .expected_attach_type = idx,
		    .prog_flags = flags);

	return bpf_prog_load(BPF_PROG_TYPE_STRUCT_OPS, NULL, license, insns,
			     ARRAY_SIZE(insns), &opts);
}

static int load_st_prog(const struct st_type *st, const char *member)
{
	int idx = member_idx(st, member, NULL);

	if (idx < 0)
		return idx;
	return load_st_prog_at(st->type_id, st->obj_fd, idx, "GPL", 0);
}

static int load_sock_prog(void)
{
	const struct bpf_insn insns[] = {
		BPF_MOV64_IMM(BPF_REG_0, 0),
		BPF_EXIT_INSN(),
	};

	return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", insns,
			     ARRAY_SIZE(insns), NULL);
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_prog_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static void map_opts(struct bpf_map_create_opts *o, const struct st_type *st,
		     __u32 flags)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->btf_fd = ctx.user_btf_fd;
	o->btf_vmlinux_value_type_id = st->value_id;
	o->map_flags = flags;
	if (st->obj_fd) {
		o->map_flags |= BPF_F_VTYPE_BTF_OBJ_FD;
		o->value_type_btf_obj_fd = st->obj_fd;
	}
}

static int create_map(const struct st_type *st, __u32 flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);

	map_opts(&o, st, flags);
	return bpf_map_create(BPF_MAP_TYPE_STRUCT_OPS, NULL, sizeof(__u32),
			      st->value_size, 1, &o);
}

/* 0 when a map was created (and closed again), else the error */
static int try_create(enum bpf_map_type type, __u32 key_size,
		      __u32 value_size, __u32 max_entries,
		      const struct bpf_map_create_opts *o)
{
	int fd;

	fd = bpf_map_create(type, NULL, key_size, value_size, max_entries, o);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int map_update(int fd, const void *v)
{
	__u32 key = 0;

	return bpf_map_update_elem(fd, &key, v, 0);
}

static int map_lookup(int fd, void *v)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(fd, &key, v);
}

static int map_delete(int fd)
{
	__u32 key = 0;

	return bpf_map_delete_elem(fd, &key);
}

/* Unregister the map if it is registered, then close it */
static void put_map(int fd)
{
	if (fd < 0)
		return;
	map_delete(fd);
	close(fd);
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* The value's state, or the lookup's error */
static int map_state(int fd, const struct st_type *st)
{
	struct st_common *com = calloc(1, st->value_size);
	int err;

	if (!com)
		return -ENOMEM;
	err = map_lookup(fd, com);
	if (!err)
		err = com->state;
	free(com);
	return err;
}

/* Offset of the first byte where a and b differ, -1 if they do not */
static int first_diff(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			return i;
	return -1;
}

static int first_nonzero(const void *a, size_t n)
{
	const unsigned char *x = a;
	size_t i;

	for (i = 0; i < n; i++)
		if (x[i])
			return i;
	return -1;
}

/* Values of tcp_congestion_ops */

static void *tcp_field(void *v, __u32 off)
{
	return v + ctx.tcp.data_off + off;
}

static void set_slot(void *v, int p, long fd)
{
	__u64 x = fd;

	memcpy(tcp_field(v, ctx.lay.slot[p]), &x, sizeof(x));
}

static void set_name(void *v, const char *name)
{
	char *dst = tcp_field(v, ctx.lay.name);

	memset(dst, 0, TCP_CA_NAME_MAX);
	memcpy(dst, name, strnlen(name, TCP_CA_NAME_MAX));
}

static void set_u32(void *v, __u32 off, __u32 x)
{
	memcpy(tcp_field(v, off), &x, sizeof(x));
}

/* The smallest valid value: ssthresh, cong_avoid, undo_cwnd and a name */
static void tcp_value(void *v, const char *name)
{
	int p;

	memset(v, 0, ctx.tcp.value_size);
	for (p = P_SSTHRESH; p <= P_UNDO_CWND; p++)
		set_slot(v, p, ctx.tcp_prog[p]);
	set_name(v, name);
}

/* What a lookup must give back for v: prog ids in place of fds */
static void tcp_expect(void *exp, const void *v, __u32 refcnt, __u32 state)
{
	struct st_common *com = exp;
	__u64 x;
	int p;

	memcpy(exp, v, ctx.tcp.value_size);
	for (p = 0; p < NR_TCP_PROGS; p++) {
		memcpy(&x, tcp_field(exp, ctx.lay.slot[p]), sizeof(x));
		if (x == (__u64)ctx.tcp_prog[p])
			x = ctx.tcp_prog_id[p];
		memcpy(tcp_field(exp, ctx.lay.slot[p]), &x, sizeof(x));
	}
	com->refcnt = refcnt;
	com->state = state;
}

/* Files: fdinfo, kallsyms, sysfs */

static int read_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
		len += n;
	}
	buf[len] = 0;
	close(fd);
	return len;
}

/* The number after "key:" in /proc/self/fdinfo/<fd>, -ENOENT if absent */
static long long fdinfo_val(int fd, const char *key)
{
	size_t klen = strlen(key);
	char path[64], buf[2048];
	char *line;
	int n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	for (line = buf; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, key, klen) && line[klen] == ':')
			return strtoll(line + klen + 1, NULL, 10);
	}
	return -ENOENT;
}

/*
 * Count the trampoline symbols of tcp_congestion_ops in /proc/kallsyms:
 * cnt[p] for the members of tcp_members[]; returns all of them.
 */
static int tcp_ksyms(int cnt[NR_TCP_PROGS])
{
	char line[512], *sym, *end;
	int p, total = 0;
	FILE *f;

	memset(cnt, 0, NR_TCP_PROGS * sizeof(*cnt));
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		sym = strstr(line, " " KSYM_PREFIX);
		if (!sym)
			continue;
		sym += strlen(" " KSYM_PREFIX);
		end = sym + strcspn(sym, " \t\n");
		*end = 0;
		total++;
		for (p = 0; p < NR_TCP_PROGS; p++)
			if (!strcmp(sym, tcp_members[p]))
				cnt[p]++;
	}
	fclose(f);
	return total;
}

/* Map free is deferred: wait (bounded) until no such symbol is left */
static int wait_tcp_ksyms_gone(void)
{
	__u64 end = st_now_ms() + WAIT_MS;
	int cnt[NR_TCP_PROGS], n;

	while ((n = tcp_ksyms(cnt)) > 0 && st_now_ms() < end)
		usleep(200000);
	return n;
}

/* Subtests */

static void test_map_create(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	const struct st_type *tcp = &ctx.tcp, *tmod = &ctx.tmod;
	const enum bpf_map_type so = BPF_MAP_TYPE_STRUCT_OPS;
	const __u32 vsz = tcp->value_size;
	struct bpf_map_info info;
	__u32 len;
	int fd, id;

	map_opts(&o, tcp, 0);
	ASSERT_EQ(try_create(so, 8, vsz, 1, &o), -EINVAL, "key_size 8");
	ASSERT_EQ(try_create(so, 0, vsz, 1, &o), -EINVAL, "key_size 0");
	ASSERT_EQ(try_create(so, 4, vsz, 2, &o), -EINVAL, "max_entries 2");
	ASSERT_EQ(try_create(so, 4, vsz, 0, &o), -EINVAL, "max_entries 0");
	ASSERT_EQ(try_create(so, 4, vsz - 1, 1, &o), -EINVAL, "value_size - 1");
	ASSERT_EQ(try_create(so, 4, vsz + 8, 1, &o), -EINVAL, "value_size + 8");

	o.map_flags = BPF_F_NO_PREALLOC;
	ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -EINVAL, "BPF_F_NO_PREALLOC");
	o.map_flags = BPF_F_RDONLY_PROG;
	ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -EINVAL, "BPF_F_RDONLY_PROG");
	o.map_flags = BPF_F_RDONLY | BPF_F_WRONLY;
	ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -EINVAL, "RDONLY|WRONLY");

	map_opts(&o, tcp, 0);
	o.btf_vmlinux_value_type_id = 0;
	ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -EINVAL, "value type id 0");
	o.btf_vmlinux_value_type_id = tcp->type_id;
	ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -ENOTSUPP,
		  "value type id of the ops struct");
	o.btf_vmlinux_value_type_id = INT_MAX;
	ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -ENOTSUPP, "huge value type id");
	id = btf__find_by_name_kind(ctx.vmlinux, "bpf_struct_ops_bpf_dummy_ops",
				    BTF_KIND_STRUCT);
	if (ASSERT_GT(id, 0, "bpf_struct_ops_bpf_dummy_ops")) {
		o.btf_vmlinux_value_type_id = id;
		ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -EINVAL,
			  "another type's value with this value_size");
	}

	map_opts(&o, tcp, 0);
	o.btf_key_type_id = 1;
	ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -EINVAL, "btf_key_type_id");
	map_opts(&o, tcp, 0);
	ASSERT_EQ(try_create(BPF_MAP_TYPE_HASH, 4, vsz, 1, &o), -EINVAL,
		  "vmlinux value type on a hash map");
	o.btf_fd = ctx.vmlinux_fd;
	ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -EACCES, "btf_fd of vmlinux");
	o.btf_fd = ctx.sock_prog;
	ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -EINVAL, "btf_fd not a BTF");

	map_opts(&o, tcp, BPF_F_VTYPE_BTF_OBJ_FD);
	o.value_type_btf_obj_fd = -1;
	ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -EBADF, "btf obj fd -1");
	o.value_type_btf_obj_fd = ctx.sock_prog;
	ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -EINVAL, "btf obj fd not a BTF");
	o.value_type_btf_obj_fd = ctx.vmlinux_fd;
	ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -EINVAL, "btf obj fd of vmlinux");
	o.value_type_btf_obj_fd = tmod->obj_fd;
	ASSERT_EQ(try_create(so, 4, vsz, 1, &o), -ENOTSUPP,
		  "vmlinux value type in a module's BTF");

	fd = create_map(tcp, 0);
	if (ASSERT_OK_FD(fd, "tcp map")) {
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		ASSERT_OK(bpf_map_get_info_by_fd(fd, &info, &len), "map info");
		ASSERT_EQ(info.type, BPF_MAP_TYPE_STRUCT_OPS, "info.type");
		ASSERT_EQ(info.key_size, 4, "info.key_size");
		ASSERT_EQ(info.value_size, vsz, "info.value_size");
		ASSERT_EQ(info.max_entries, 1, "info.max_entries");
		ASSERT_EQ(info.map_flags, 0, "info.map_flags");
		ASSERT_EQ(info.btf_id, ctx.user_btf_id, "info.btf_id");
		ASSERT_EQ(info.btf_vmlinux_value_type_id, tcp->value_id,
			  "info.btf_vmlinux_value_type_id");
		ASSERT_EQ(info.btf_vmlinux_id, tcp->obj_id, "info.btf_vmlinux_id");
		close(fd);
	}

	fd = create_map(tcp, BPF_F_LINK);
	if (ASSERT_OK_FD(fd, "tcp link map")) {
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		ASSERT_OK(bpf_map_get_info_by_fd(fd, &info, &len), "map info");
		ASSERT_EQ(info.map_flags, BPF_F_LINK, "link map flags");
		close(fd);
	}

	fd = create_map(tmod, 0);
	if (ASSERT_OK_FD(fd, "bpf_testmod_ops map")) {
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		ASSERT_OK(bpf_map_get_info_by_fd(fd, &info, &len), "map info");
		ASSERT_EQ(info.value_size, tmod->value_size, "module value_size");
		ASSERT_EQ(info.map_flags, BPF_F_VTYPE_BTF_OBJ_FD, "module map flags");
		ASSERT_EQ(info.btf_vmlinux_value_type_id, tmod->value_id,
			  "module value type id");
		ASSERT_EQ(info.btf_vmlinux_id, tmod->obj_id, "module BTF id");
		close(fd);
	}
}

enum bad_case {
	BAD_REFCNT,
	BAD_STATE,
	BAD_HOLE,
	BAD_TAIL,
	BAD_KEY,
	BAD_LIST,
	BAD_FLAGS,
	BAD_NAME_EMPTY,
	BAD_NAME_SPACE,
	BAD_NAME_DASH,
	BAD_NAME_FULL,
	BAD_FD_NEG,
	BAD_FD_CLOSED,
	BAD_FD_NOT_PROG,
	BAD_PROG_MEMBER,
	BAD_PROG_TYPE,
	BAD_PROG_BTF,
	NO_SSTHRESH,
	NO_UNDO_CWND,
	NO_CONG_AVOID,
	DUP_BUILTIN,
	DUP_OURS,
	NR_BAD_CASES,
};

static const struct {
	const char *what;
	int err;
} bad_cases[NR_BAD_CASES] = {
	[BAD_REFCNT]		= { "common.refcnt != 0", -EINVAL },
	[BAD_STATE]		= { "common.state != 0", -EINVAL },
	[BAD_HOLE]		= { "padding before data", -EINVAL },
	[BAD_TAIL]		= { "padding after the last member", -EINVAL },
	[BAD_KEY]		= { "non-zero key member", -EINVAL },
	[BAD_LIST]		= { "non-zero list member", -EINVAL },
	[BAD_FLAGS]		= { "flags outside TCP_CONG_MASK", -EINVAL },
	[BAD_NAME_EMPTY]	= { "empty name", -EINVAL },
	[BAD_NAME_SPACE]	= { "name with a space", -EINVAL },
	[BAD_NAME_DASH]		= { "name with a dash", -EINVAL },
	[BAD_NAME_FULL]		= { "name without NUL", -EINVAL },
	[BAD_FD_NEG]		= { "prog fd -1", -EBADF },
	[BAD_FD_CLOSED]		= { "prog fd not open", -EBADF },
	[BAD_FD_NOT_PROG]	= { "prog fd is a BTF", -EINVAL },
	[BAD_PROG_MEMBER]	= { "prog of another member", -EINVAL },
	[BAD_PROG_TYPE]		= { "prog of another type", -EINVAL },
	[BAD_PROG_BTF]		= { "prog of another struct_ops", -EINVAL },
	[NO_SSTHRESH]		= { "no ssthresh", -EINVAL },
	[NO_UNDO_CWND]		= { "no undo_cwnd", -EINVAL },
	[NO_CONG_AVOID]		= { "no cong_avoid/cong_control", -EINVAL },
	[DUP_BUILTIN]		= { "name of reno", -EEXIST },
	[DUP_OURS]		= { "name of a registered map", -EEXIST },
};

static void apply_bad(enum bad_case c, void *v)
{
	struct st_common *com = v;
	__u64 one = 1;

	switch (c) {
	case BAD_REFCNT:
		com->refcnt = 1;
		break;
	case BAD_STATE:
		com->state = ST_INUSE;
		break;
	case BAD_HOLE:
		((char *)v)[ctx.tcp.data_off - 1] = 1;
		break;
	case BAD_TAIL:
		((char *)v)[ctx.tcp.data_off + ctx.tcp.size - 1] = 1;
		break;
	case BAD_KEY:
		set_u32(v, ctx.lay.key, 1);
		break;
	case BAD_LIST:
		memcpy(tcp_field(v, ctx.lay.list), &one, sizeof(one));
		break;
	case BAD_FLAGS:
		set_u32(v, ctx.lay.flags, TCP_CONG_NEEDS_ECN << 1);
		break;
	case BAD_NAME_EMPTY:
		set_name(v, "");
		break;
	case BAD_NAME_SPACE:
		set_name(v, "sctr rej");
		break;
	case BAD_NAME_DASH:
		set_name(v, "sctr-rej");
		break;
	case BAD_NAME_FULL:
		memset(tcp_field(v, ctx.lay.name), 'x', TCP_CA_NAME_MAX);
		break;
	case BAD_FD_NEG:
		set_slot(v, P_SSTHRESH, -1);
		break;
	case BAD_FD_CLOSED:
		set_slot(v, P_SSTHRESH, INT_MAX);
		break;
	case BAD_FD_NOT_PROG:
		set_slot(v, P_SSTHRESH, ctx.user_btf_fd);
		break;
	case BAD_PROG_MEMBER:
		set_slot(v, P_SSTHRESH, ctx.tcp_prog[P_CONG_AVOID]);
		break;
	case BAD_PROG_TYPE:
		set_slot(v, P_SSTHRESH, ctx.sock_prog);
		break;
	case BAD_PROG_BTF:
		set_slot(v, P_SSTHRESH, ctx.tmod_prog);
		break;
	case NO_SSTHRESH:
		set_slot(v, P_SSTHRESH, 0);
		break;
	case NO_UNDO_CWND:
		set_slot(v, P_UNDO_CWND, 0);
		break;
	case NO_CONG_AVOID:
		set_slot(v, P_CONG_AVOID, 0);
		break;
	case DUP_BUILTIN:
		set_name(v, "reno");
		break;
	case DUP_OURS:
		set_name(v, "sctr_hold");
		break;
	default:
		break;
	}
}

/* A failed update leaves the map in INIT: its lookup is all zero */
static bool check_rolled_back(int fd, const char *what)
{
	void *got = malloc(ctx.tcp.value_size);
	bool ok;

	if (!got)
		return false;
	memset(got, 0xa5, ctx.tcp.value_size);
	ok = ASSERT_OK(map_lookup(fd, got), what) &&
	     ASSERT_EQ(first_nonzero(got, ctx.tcp.value_size), -1, what);
	free(got);
	return ok;
}

/* Update v, then expect INUSE and unregister again */
static void check_good_update(int fd, const void *v, const char *what)
{
	if (!ASSERT_OK(map_update(fd, v), what))
		return;
	ASSERT_EQ(map_state(fd, &ctx.tcp), ST_INUSE, what);
	ASSERT_OK(map_delete(fd), what);
}

static void test_update_reject(void)
{
	void *v = calloc(1, ctx.tcp.value_size);
	int fd = -1, hold = -1, err;
	char what[96];
	__u32 key;
	int c;

	if (!ASSERT_OK_PTR(v, "value"))
		return;
	/* the holes the cases below write into exist */
	ASSERT_LT(ctx.lay.last_end, ctx.tcp.size, "tail padding");
	ASSERT_EQ(member_idx(&ctx.tmod, "test_1", NULL),
		  member_idx(&ctx.tcp, "ssthresh", NULL), "same member index");

	/* Bad arguments of the command itself */
	fd = create_map(&ctx.tcp, 0);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	tcp_value(v, "sctr_rej");
	key = 1;
	ASSERT_EQ(bpf_map_update_elem(fd, &key, v, 0), -E2BIG, "key 1");
	key = 0;
	ASSERT_EQ(bpf_map_update_elem(fd, &key, v, BPF_NOEXIST), -EINVAL,
		  "BPF_NOEXIST");
	ASSERT_EQ(bpf_map_update_elem(fd, &key, v, BPF_EXIST), -EINVAL,
		  "BPF_EXIST");
	ASSERT_EQ(bpf_map_update_elem(fd, &key, v, BPF_F_LOCK), -EINVAL,
		  "BPF_F_LOCK");
	check_rolled_back(fd, "after bad key/flags");
	check_good_update(fd, v, "after bad key/flags");
	close(fd);
	fd = -1;

	/* A registered map whose name DUP_OURS reuses */
	hold = create_map(&ctx.tcp, 0);
	if (!ASSERT_OK_FD(hold, "holder map"))
		goto out;
	tcp_value(v, "sctr_hold");
	if (!ASSERT_OK(map_update(hold, v), "holder update"))
		goto out;

	/* Bad values: each on a fresh map, then corrected on the same map */
	for (c = 0; c < NR_BAD_CASES; c++) {
		fd = create_map(&ctx.tcp, 0);
		if (!ASSERT_OK_FD(fd, "create"))
			goto out;
		tcp_value(v, "sctr_rej");
		apply_bad(c, v);
		err = map_update(fd, v);
		ASSERT_EQ(err, bad_cases[c].err, bad_cases[c].what);

		snprintf(what, sizeof(what), "%s: rolled back", bad_cases[c].what);
		check_rolled_back(fd, what);
		snprintf(what, sizeof(what), "%s: corrected", bad_cases[c].what);
		tcp_value(v, "sctr_rej");
		check_good_update(fd, v, what);
		put_map(fd);
		fd = -1;
	}
out:
	put_map(fd);
	put_map(hold);
	free(v);
}

static void test_update_busy(void)
{
	void *v = calloc(1, ctx.tcp.value_size);
	void *got = calloc(1, ctx.tcp.value_size);
	int fd = -1, lfd = -1;

	if (!ASSERT_OK_PTR(v, "value") || !ASSERT_OK_PTR(got, "value"))
		goto out;

	fd = create_map(&ctx.tcp, 0);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	tcp_value(v, "sctr_busy");
	if (!ASSERT_OK(map_update(fd, v), "first update"))
		goto out;
	ASSERT_EQ(map_update(fd, v), -EBUSY, "same value again");
	tcp_value(v, "sctr_busy2");
	ASSERT_EQ(map_update(fd, v), -EBUSY, "other value");
	ASSERT_OK(map_lookup(fd, got), "lookup");
	ASSERT_STREQ(tcp_field(got, ctx.lay.name), "sctr_busy", "name kept");
	ASSERT_OK(map_delete(fd), "delete");
	ASSERT_EQ(map_update(fd, v), -EBUSY, "after delete (TOBEFREE)");

	lfd = create_map(&ctx.tcp, BPF_F_LINK);
	if (!ASSERT_OK_FD(lfd, "create link map"))
		goto out;
	tcp_value(v, "sctr_busy3");
	if (!ASSERT_OK(map_update(lfd, v), "link map update"))
		goto out;
	ASSERT_EQ(map_update(lfd, v), -EBUSY, "link map again (READY)");
out:
	put_map(fd);
	close_fd(lfd);
	free(got);
	free(v);
}

static void test_lookup(void)
{
	const __u32 vsz = ctx.tcp.value_size;
	void *v = calloc(1, vsz), *got = calloc(1, vsz), *exp = calloc(1, vsz);
	int fd = -1, lfd = -1, link = -1;
	__u32 key, next;

	if (!ASSERT_OK_PTR(v, "v") || !ASSERT_OK_PTR(got, "got") ||
	    !ASSERT_OK_PTR(exp, "exp"))
		goto out;

	fd = create_map(&ctx.tcp, 0);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	memset(got, 0xa5, vsz);
	ASSERT_OK(map_lookup(fd, got), "lookup before update");
	ASSERT_EQ(first_nonzero(got, vsz), -1, "all zero before update");
	key = 1;
	ASSERT_EQ(bpf_map_lookup_elem(fd, &key, got), -ENOENT, "lookup key 1");
	next = 7;
	ASSERT_OK(bpf_map_get_next_key(fd, NULL, &next), "first key");
	ASSERT_EQ(next, 0, "first key is 0");
	key = 0;
	ASSERT_EQ(bpf_map_get_next_key(fd, &key, &next), -ENOENT, "no key after 0");

	/* Every func slot filled in, flags set: all of it comes back */
	tcp_value(v, "sctr_lookup");
	set_slot(v, P_CONG_CONTROL, ctx.tcp_prog[P_CONG_CONTROL]);
	set_u32(v, ctx.lay.flags, TCP_CONG_NON_RESTRICTED | TCP_CONG_NEEDS_ECN);
	if (!ASSERT_OK(map_update(fd, v), "update"))
		goto out;
	tcp_expect(exp, v, 1, ST_INUSE);
	ASSERT_OK(map_lookup(fd, got), "lookup INUSE");
	ASSERT_EQ(first_diff(got, exp, vsz), -1, "INUSE value differs at");
	ASSERT_EQ(((struct st_common *)got)->state, ST_INUSE, "state INUSE");
	ASSERT_STREQ(tcp_field(got, ctx.lay.name), "sctr_lookup", "name");

	/* A link map with cong_control instead of cong_avoid */
	lfd = create_map(&ctx.tcp, BPF_F_LINK);
	if (!ASSERT_OK_FD(lfd, "create link map"))
		goto out;
	tcp_value(v, "sctr_lookup2");
	set_slot(v, P_CONG_AVOID, 0);
	set_slot(v, P_CONG_CONTROL, ctx.tcp_prog[P_CONG_CONTROL]);
	if (!ASSERT_OK(map_update(lfd, v), "link map update"))
		goto out;
	tcp_expect(exp, v, 0, ST_READY);
	ASSERT_OK(map_lookup(lfd, got), "lookup READY");
	ASSERT_EQ(first_diff(got, exp, vsz), -1, "READY value differs at");
	ASSERT_EQ(((struct st_common *)got)->state, ST_READY, "state READY");

	/* refcnt counts the references beyond the fds: here the link */
	link = bpf_link_create(lfd, 0, BPF_STRUCT_OPS, NULL);
	if (!ASSERT_OK_FD(link, "link"))
		goto out;
	ASSERT_OK(map_lookup(lfd, got), "lookup linked");
	ASSERT_EQ(((struct st_common *)got)->refcnt, 1, "refcnt linked");
	ASSERT_EQ(((struct st_common *)got)->state, ST_READY, "state linked");
	close(link);
	link = -1;
	ASSERT_OK(map_lookup(lfd, got), "lookup unlinked");
	ASSERT_EQ(((struct st_common *)got)->refcnt, 0, "refcnt unlinked");
out:
	close_fd(link);
	close_fd(lfd);
	put_map(fd);
	free(exp);
	free(got);
	free(v);
}

static void test_delete(void)
{
	void *v = calloc(1, ctx.tcp.value_size);
	void *got = calloc(1, ctx.tcp.value_size);
	int fd = -1, fd2 = -1, lfd = -1;
	struct st_common *com = got;

	if (!ASSERT_OK_PTR(v, "v") || !ASSERT_OK_PTR(got, "got"))
		goto out;

	fd = create_map(&ctx.tcp, 0);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	ASSERT_EQ(map_delete(fd), -ENOENT, "delete before update");
	tcp_value(v, "sctr_del");
	if (!ASSERT_OK(map_update(fd, v), "update"))
		goto out;
	ASSERT_OK(map_delete(fd), "delete INUSE");
	ASSERT_EQ(map_delete(fd), -EINPROGRESS, "delete again");
	ASSERT_OK(map_lookup(fd, got), "lookup after delete");
	ASSERT_EQ(com->state, ST_TOBEFREE, "state TOBEFREE");
	ASSERT_EQ(com->refcnt, 0, "refcnt after delete");
	ASSERT_STREQ(tcp_field(got, ctx.lay.name), "sctr_del", "name kept");

	/* The name was unregistered: another map can take it */
	fd2 = create_map(&ctx.tcp, 0);
	if (!ASSERT_OK_FD(fd2, "create second"))
		goto out;
	ASSERT_OK(map_update(fd2, v), "same name again");
	ASSERT_OK(map_delete(fd2), "delete second");

	lfd = create_map(&ctx.tcp, BPF_F_LINK);
	if (!ASSERT_OK_FD(lfd, "create link map"))
		goto out;
	ASSERT_EQ(map_delete(lfd), -EOPNOTSUPP, "link map, INIT");
	if (!ASSERT_OK(map_update(lfd, v), "link map update"))
		goto out;
	ASSERT_EQ(map_delete(lfd), -EOPNOTSUPP, "link map, READY");
	ASSERT_EQ(map_state(lfd, &ctx.tcp), ST_READY, "still READY");
out:
	close_fd(lfd);
	put_map(fd2);
	put_map(fd);
	free(got);
	free(v);
}

static void test_freeze(void)
{
	void *v = calloc(1, ctx.tcp.value_size);
	int fd = -1, lfd = -1;

	if (!ASSERT_OK_PTR(v, "v"))
		return;
	fd = create_map(&ctx.tcp, 0);
	lfd = create_map(&ctx.tcp, BPF_F_LINK);
	if (!ASSERT_OK_FD(fd, "create") || !ASSERT_OK_FD(lfd, "create link map"))
		goto out;

	ASSERT_EQ(bpf_map_freeze(fd), -ENOTSUPP, "freeze INIT");
	ASSERT_EQ(bpf_map_freeze(lfd), -ENOTSUPP, "freeze link map INIT");
	/* not frozen: updates still work */
	tcp_value(v, "sctr_frz");
	ASSERT_OK(map_update(fd, v), "update after freeze");
	tcp_value(v, "sctr_frz2");
	ASSERT_OK(map_update(lfd, v), "link map update after freeze");
	ASSERT_EQ(bpf_map_freeze(fd), -ENOTSUPP, "freeze INUSE");
	ASSERT_EQ(bpf_map_freeze(lfd), -ENOTSUPP, "freeze READY");
	/* and a registered map can still be unregistered */
	ASSERT_OK(map_delete(fd), "delete after freeze");
out:
	close_fd(lfd);
	put_map(fd);
	free(v);
}

static void test_pin_read(void)
{
	void *v = calloc(1, ctx.tcp.value_size);
	char path[64], buf[8192], *line, *nl;
	int fd = -1, fd2 = -1, n, entries = 0;

	if (!ASSERT_OK_PTR(v, "v"))
		return;
	snprintf(path, sizeof(path), "/sys/fs/bpf/sctr_pin_%d", getpid());
	unlink(path);

	fd = create_map(&ctx.tcp, 0);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	tcp_value(v, "sctr_pin");
	if (!ASSERT_OK(map_update(fd, v), "update"))
		goto out;
	if (!ASSERT_OK(bpf_obj_pin(fd, path), "pin"))
		goto out;

	/*
	 * The text format is btf_show's and not promised ("# WARNING!!
	 * The output format will change" heads it): only check that the
	 * read works and shows one line for the one key, after the "#"
	 * comment lines.
	 */
	n = read_file(path, buf, sizeof(buf));
	if (ASSERT_GT(n, 0, "read pinned map")) {
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1)
			entries += *line != '#';
		ASSERT_EQ(entries, 1, "lines that are not comments");
		ASSERT_EQ(*line, 0, "ends with a newline");
	}

	fd2 = bpf_obj_get(path);
	if (ASSERT_OK_FD(fd2, "obj_get"))
		ASSERT_EQ(st_map_id(fd2), st_map_id(fd), "same map");
	ASSERT_OK(unlink(path), "unlink");
out:
	close_fd(fd2);
	put_map(fd);
	free(v);
}

static void test_link_create(void)
{
	void *v = calloc(1, ctx.tcp.value_size);
	int lfd = -1, lfd2 = -1, fd = -1, link = -1;
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (!ASSERT_OK_PTR(v, "v"))
		return;
	lfd = create_map(&ctx.tcp, BPF_F_LINK);
	if (!ASSERT_OK_FD(lfd, "create link map"))
		goto out;
	ASSERT_EQ(bpf_link_create(lfd, 0, BPF_STRUCT_OPS, NULL), -EINVAL,
		  "link before update");
	tcp_value(v, "sctr_lnk");
	if (!ASSERT_OK(map_update(lfd, v), "update"))
		goto out;

	fd = create_map(&ctx.tcp, 0);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	tcp_value(v, "sctr_lnk_plain");
	if (!ASSERT_OK(map_update(fd, v), "update non-link map"))
		goto out;
	ASSERT_EQ(bpf_link_create(fd, 0, BPF_STRUCT_OPS, NULL), -EINVAL,
		  "link on a non-link map");
	ASSERT_EQ(bpf_link_create(ctx.sock_prog, 0, BPF_STRUCT_OPS, NULL),
		  -EINVAL, "link on a prog fd");
	ASSERT_EQ(bpf_link_create(ctx.array_map, 0, BPF_STRUCT_OPS, NULL),
		  -EINVAL, "link on an array map");
	ASSERT_EQ(bpf_link_create(-1, 0, BPF_STRUCT_OPS, NULL), -EBADF,
		  "link on fd -1");

	link = bpf_link_create(lfd, 0, BPF_STRUCT_OPS, NULL);
	if (!ASSERT_OK_FD(link, "link"))
		goto out;
	/* reg() again with the same tcp_congestion_ops: name taken */
	ASSERT_EQ(bpf_link_create(lfd, 0, BPF_STRUCT_OPS, NULL), -EEXIST,
		  "second link on the same map");
	lfd2 = create_map(&ctx.tcp, BPF_F_LINK);
	if (ASSERT_OK_FD(lfd2, "create second link map")) {
		tcp_value(v, "sctr_lnk");
		ASSERT_OK(map_update(lfd2, v), "update with a linked name");
		ASSERT_EQ(bpf_link_create(lfd2, 0, BPF_STRUCT_OPS, NULL),
			  -EEXIST, "link with a linked name");
	}

	ASSERT_OK(bpf_link_get_info_by_fd(link, &info, &len), "link info");
	ASSERT_EQ(info.type, BPF_LINK_TYPE_STRUCT_OPS, "link type");
	ASSERT_EQ(info.prog_id, 0, "link prog_id");
	ASSERT_EQ(info.struct_ops.map_id, st_map_id(lfd), "link map_id");
	ASSERT_EQ(fdinfo_val(link, "map_id"), st_map_id(lfd), "fdinfo map_id");
	ASSERT_EQ(map_state(lfd, &ctx.tcp), ST_READY, "linked map state");
out:
	close_fd(link);
	close_fd(lfd2);
	close_fd(lfd);
	put_map(fd);
	free(v);
}

static void test_link_update(void)
{
	LIBBPF_OPTS(bpf_link_update_opts, opts);
	void *v = calloc(1, ctx.tcp.value_size);
	void *tv = calloc(1, ctx.tmod.value_size);
	void *kv = calloc(1, ctx.kd.value_size);
	int a = -1, b = -1, other = -1, plain = -1, unready = -1;
	int tm = -1, link = -1, tlink = -1, kd = -1, kdlink = -1;

	if (!ASSERT_OK_PTR(v, "v") || !ASSERT_OK_PTR(tv, "tv") ||
	    !ASSERT_OK_PTR(kv, "kv"))
		goto out;

	/* a and b: the same name, as tcp_update_congestion_control wants */
	a = create_map(&ctx.tcp, BPF_F_LINK);
	b = create_map(&ctx.tcp, BPF_F_LINK);
	other = create_map(&ctx.tcp, BPF_F_LINK);
	plain = create_map(&ctx.tcp, 0);
	unready = create_map(&ctx.tcp, BPF_F_LINK);
	tm = create_map(&ctx.tmod, BPF_F_LINK);
	kd = create_map(&ctx.kd, BPF_F_LINK);
	if (!ASSERT_OK_FD(a, "a") || !ASSERT_OK_FD(b, "b") ||
	    !ASSERT_OK_FD(other, "other") || !ASSERT_OK_FD(plain, "plain") ||
	    !ASSERT_OK_FD(unready, "unready") || !ASSERT_OK_FD(tm, "testmod") ||
	    !ASSERT_OK_FD(kd, "kdata_ops"))
		goto out;
	tcp_value(v, "sctr_upd");
	if (!ASSERT_OK(map_update(a, v), "update a") ||
	    !ASSERT_OK(map_update(b, v), "update b"))
		goto out;
	tcp_value(v, "sctr_upd_other");
	if (!ASSERT_OK(map_update(other, v), "update other"))
		goto out;
	tcp_value(v, "sctr_upd_plain");
	if (!ASSERT_OK(map_update(plain, v), "update plain"))
		goto out;
	if (!ASSERT_OK(map_update(tm, tv), "update testmod"))
		goto out;

	link = bpf_link_create(a, 0, BPF_STRUCT_OPS, NULL);
	if (!ASSERT_OK_FD(link, "link a"))
		goto out;

	/* plain update, then back with BPF_F_REPLACE */
	ASSERT_OK(bpf_link_update(link, b, NULL), "a -> b");
	ASSERT_EQ(st_link_map_id(link), st_map_id(b), "map_id b");
	opts.flags = BPF_F_REPLACE;
	opts.old_map_fd = a;
	ASSERT_EQ(bpf_link_update(link, a, &opts), -EPERM, "replace, wrong old");
	ASSERT_EQ(st_link_map_id(link), st_map_id(b), "still b");
	opts.old_map_fd = b;
	ASSERT_OK(bpf_link_update(link, a, &opts), "replace b -> a");
	ASSERT_EQ(st_link_map_id(link), st_map_id(a), "map_id a");
	opts.old_map_fd = -1;
	ASSERT_EQ(bpf_link_update(link, b, &opts), -EBADF, "replace, old fd -1");

	/* bad arguments */
	opts.flags = 0;
	opts.old_map_fd = b;
	ASSERT_EQ(bpf_link_update(link, b, &opts), -EINVAL,
		  "old map without BPF_F_REPLACE");
	opts.flags = BPF_F_REPLACE << 1;
	opts.old_map_fd = 0;
	ASSERT_EQ(bpf_link_update(link, b, &opts), -EINVAL, "unknown flag");
	ASSERT_EQ(bpf_link_update(link, -1, NULL), -EBADF, "new map fd -1");
	ASSERT_EQ(bpf_link_update(link, ctx.sock_prog, NULL), -EINVAL,
		  "new map fd is a prog");
	ASSERT_EQ(bpf_link_update(link, ctx.array_map, NULL), -EINVAL,
		  "new map is an array");

	/* new maps it cannot take */
	ASSERT_EQ(bpf_link_update(link, plain, NULL), -EINVAL, "to a non-link map");
	ASSERT_EQ(bpf_link_update(link, unready, NULL), -EINVAL, "to an unready map");
	ASSERT_EQ(bpf_link_update(link, other, NULL), -EINVAL, "to another name");
	/* bpf_testmod_ops has no ->update() */
	ASSERT_EQ(bpf_link_update(link, tm, NULL), -EOPNOTSUPP,
		  "to bpf_testmod_ops");
	tlink = bpf_link_create(tm, 0, BPF_STRUCT_OPS, NULL);
	if (ASSERT_OK_FD(tlink, "link testmod"))
		ASSERT_EQ(bpf_link_update(tlink, b, NULL), -EINVAL,
			  "bpf_testmod_ops link to tcp_congestion_ops");
	/* both types have ->update(): the type check refuses */
	if (ASSERT_OK(map_update(kd, kv), "update kdata_ops")) {
		ASSERT_EQ(bpf_link_update(link, kd, NULL), -EINVAL,
			  "tcp_congestion_ops link to bpf_testmod_kdata_ops");
		kdlink = bpf_link_create(kd, 0, BPF_STRUCT_OPS, NULL);
		if (ASSERT_OK_FD(kdlink, "link kdata_ops"))
			ASSERT_EQ(bpf_link_update(kdlink, b, NULL), -EINVAL,
				  "bpf_testmod_kdata_ops link to tcp_congestion_ops");
		ASSERT_EQ(st_link_map_id(kdlink), st_map_id(kd), "kdata_ops link kept");
	}

	/* none of that moved the link or unregistered a */
	ASSERT_EQ(st_link_map_id(link), st_map_id(a), "still a");
	ASSERT_EQ(bpf_link_create(b, 0, BPF_STRUCT_OPS, NULL), -EEXIST,
		  "name still registered");
out:
	close_fd(kdlink);
	close_fd(kd);
	close_fd(tlink);
	close_fd(link);
	close_fd(tm);
	close_fd(unready);
	put_map(plain);
	close_fd(other);
	close_fd(b);
	close_fd(a);
	free(kv);
	free(tv);
	free(v);
}

static void test_link_detach(void)
{
	void *v = calloc(1, ctx.tcp.value_size);
	void *got = calloc(1, ctx.tcp.value_size);
	int a = -1, b = -1, link = -1, link2 = -1, efd = -1;
	struct epoll_event ev = {};

	if (!ASSERT_OK_PTR(v, "v") || !ASSERT_OK_PTR(got, "got"))
		goto out;
	a = create_map(&ctx.tcp, BPF_F_LINK);
	b = create_map(&ctx.tcp, BPF_F_LINK);
	if (!ASSERT_OK_FD(a, "a") || !ASSERT_OK_FD(b, "b"))
		goto out;
	tcp_value(v, "sctr_det");
	if (!ASSERT_OK(map_update(a, v), "update a") ||
	    !ASSERT_OK(map_update(b, v), "update b"))
		goto out;
	link = bpf_link_create(a, 0, BPF_STRUCT_OPS, NULL);
	if (!ASSERT_OK_FD(link, "link"))
		goto out;
	ASSERT_EQ(st_link_map_id(link), st_map_id(a), "map_id before detach");

	efd = epoll_create1(EPOLL_CLOEXEC);
	if (!ASSERT_OK_FD(efd, "epoll_create1"))
		goto out;
	ev.events = EPOLLHUP;
	ev.data.fd = link;
	if (!ASSERT_OK(epoll_ctl(efd, EPOLL_CTL_ADD, link, &ev), "epoll_ctl"))
		goto out;
	ASSERT_EQ(epoll_wait(efd, &ev, 1, 0), 0, "no event while attached");

	ASSERT_OK(bpf_link_detach(link), "detach");
	memset(&ev, 0, sizeof(ev));
	ASSERT_EQ(epoll_wait(efd, &ev, 1, 1000), 1, "event after detach");
	ASSERT_EQ(ev.events, EPOLLHUP, "EPOLLHUP");
	ASSERT_EQ(ev.data.fd, link, "event fd");
	ASSERT_OK(bpf_link_detach(link), "detach again");

	ASSERT_EQ(bpf_link_update(link, b, NULL), -ENOLINK, "update after detach");
	ASSERT_EQ(st_link_map_id(link), 0, "map_id after detach");
	ASSERT_EQ(fdinfo_val(link, "map_id"), -ENOENT, "fdinfo map_id");
	ASSERT_OK(map_lookup(a, got), "lookup a");
	ASSERT_EQ(((struct st_common *)got)->refcnt, 0, "a released");
	ASSERT_EQ(((struct st_common *)got)->state, ST_READY, "a still READY");

	/* the name is free again, and a can be linked again */
	link2 = bpf_link_create(b, 0, BPF_STRUCT_OPS, NULL);
	ASSERT_OK_FD(link2, "link b with the same name");
	close_fd(link2);
	link2 = bpf_link_create(a, 0, BPF_STRUCT_OPS, NULL);
	ASSERT_OK_FD(link2, "link a again");
out:
	close_fd(efd);
	close_fd(link2);
	close_fd(link);
	close_fd(b);
	close_fd(a);
	free(got);
	free(v);
}

/* BPF_PROG_LOAD of struct_ops progs: what check_struct_ops_btf_id refuses */
static void test_prog_load(void)
{
	const struct st_type *tcp = &ctx.tcp, *tmod = &ctx.tmod;
	const struct btf_type *t;
	int id, idx, fd;

	ASSERT_EQ(load_st_prog_at(0, 0, 0, "GPL", 0), -ENOTSUPP,
		  "attach_btf_id 0");
	id = btf__find_by_name_kind(ctx.vmlinux, "sock", BTF_KIND_STRUCT);
	if (ASSERT_GT(id, 0, "struct sock"))
		ASSERT_EQ(load_st_prog_at(id, 0, 0, "GPL", 0), -ENOTSUPP,
			  "not a struct_ops type");
	t = btf__type_by_id(tcp->btf, tcp->type_id);
	ASSERT_EQ(load_st_prog_at(tcp->type_id, 0, btf_vlen(t), "GPL", 0),
		  -EINVAL, "member index past the last member");
	idx = member_idx(tcp, "name", NULL);
	if (ASSERT_GE(idx, 0, "tcp_congestion_ops.name"))
		ASSERT_EQ(load_st_prog_at(tcp->type_id, 0, idx, "GPL", 0),
			  -EINVAL, "member that is not a function pointer");
	idx = member_idx(tcp, "ssthresh", NULL);
	ASSERT_EQ(load_st_prog_at(tcp->type_id, 0, idx, "Dual MIT/GPL", 0) >= 0,
		  true, "a GPL compatible license");
	ASSERT_EQ(load_st_prog_at(tcp->type_id, 0, idx, "MIT", 0), -EINVAL,
		  "a license that is not GPL compatible");
	idx = member_idx(tmod, "unsupported_ops", NULL);
	if (ASSERT_GE(idx, 0, "bpf_testmod_ops.unsupported_ops"))
		ASSERT_EQ(load_st_prog_at(tmod->type_id, tmod->obj_fd, idx,
					  "GPL", 0),
			  -ENOTSUPP, "member whose cfi stub is NULL");

	/* bpf_dummy_ops' ->check_member() allows sleepable progs on test_sleepable only */
	id = btf__find_by_name_kind(ctx.vmlinux, "bpf_dummy_ops", BTF_KIND_STRUCT);
	if (!ASSERT_GT(id, 0, "struct bpf_dummy_ops"))
		return;
	ASSERT_EQ(load_st_prog_at(id, 0, 0, "GPL", BPF_F_SLEEPABLE), -EINVAL,
		  "check_member refuses a sleepable test_1");
	fd = load_st_prog_at(id, 0, 0, "GPL", 0);
	ASSERT_OK_FD(fd, "test_1");
	close_fd(fd);
}

/* The fd's access mode is checked before the struct_ops map sees the call */
static void test_fd_access(void)
{
	LIBBPF_OPTS(bpf_get_fd_by_id_opts, o);
	void *v = calloc(1, ctx.tcp.value_size);
	int fd = -1, ro = -1, wo = -1;
	__u32 key = 0;

	if (!ASSERT_OK_PTR(v, "v"))
		return;
	fd = create_map(&ctx.tcp, BPF_F_LINK);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	o.open_flags = BPF_F_RDONLY;
	ro = bpf_map_get_fd_by_id_opts(st_map_id(fd), &o);
	o.open_flags = BPF_F_WRONLY;
	wo = bpf_map_get_fd_by_id_opts(st_map_id(fd), &o);
	if (!ASSERT_OK_FD(ro, "read-only fd") || !ASSERT_OK_FD(wo, "write-only fd"))
		goto out;

	tcp_value(v, "sctr_fd");
	ASSERT_EQ(map_update(ro, v), -EPERM, "update through a read-only fd");
	ASSERT_EQ(map_state(fd, &ctx.tcp), ST_INIT, "still INIT");
	ASSERT_EQ(bpf_map_lookup_elem(wo, &key, v), -EPERM,
		  "lookup through a write-only fd");
	tcp_value(v, "sctr_fd");
	ASSERT_OK(map_update(wo, v), "update through a write-only fd");
	ASSERT_EQ(map_state(ro, &ctx.tcp), ST_READY, "lookup through a read-only fd");
out:
	close_fd(wo);
	close_fd(ro);
	close_fd(fd);
	free(v);
}

/* A registered plain map outlives its fds until it is deleted */
static void test_inuse_closed(void)
{
	void *v = calloc(1, ctx.tcp.value_size);
	int fd, id, other = -1;

	if (!ASSERT_OK_PTR(v, "v"))
		return;
	fd = create_map(&ctx.tcp, 0);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	tcp_value(v, "sctr_closed");
	if (!ASSERT_OK(map_update(fd, v), "update")) {
		close(fd);
		goto out;
	}
	id = st_map_id(fd);
	close(fd);
	/* the registration holds the map: give a free time to happen */
	usleep(200000);
	fd = bpf_map_get_fd_by_id(id);
	if (!ASSERT_OK_FD(fd, "map still there"))
		goto out;
	ASSERT_EQ(map_state(fd, &ctx.tcp), ST_INUSE, "still INUSE");
	other = create_map(&ctx.tcp, 0);
	if (ASSERT_OK_FD(other, "create another"))
		ASSERT_EQ(map_update(other, v), -EEXIST, "name still registered");
	ASSERT_OK(map_delete(fd), "delete");
	close(fd);
	ASSERT_OK(wait_map_gone(id), "freed after delete");
	ASSERT_OK(map_update(other, v), "name free after delete");
	put_map(other);
out:
	free(v);
}

static void test_kallsyms(void)
{
	void *v = calloc(1, ctx.tcp.value_size);
	int cnt[NR_TCP_PROGS], fd = -1, p;

	if (!ASSERT_OK_PTR(v, "v"))
		return;
	/* maps of the earlier subtests may still be on their way out */
	if (!ASSERT_EQ(wait_tcp_ksyms_gone(), 0, "no tcp trampolines at start"))
		goto out;

	fd = create_map(&ctx.tcp, 0);
	if (!ASSERT_OK_FD(fd, "create"))
		goto out;
	ASSERT_EQ(tcp_ksyms(cnt), 0, "none before update");
	tcp_value(v, "sctr_ksym");
	set_slot(v, P_UNDO_CWND, 0);
	ASSERT_EQ(map_update(fd, v), -EINVAL, "failed update");
	ASSERT_EQ(tcp_ksyms(cnt), 0, "none after a failed update");

	tcp_value(v, "sctr_ksym");
	if (!ASSERT_OK(map_update(fd, v), "update"))
		goto out;
	ASSERT_EQ(tcp_ksyms(cnt), 3, "trampolines");
	for (p = P_SSTHRESH; p <= P_UNDO_CWND; p++)
		ASSERT_EQ(cnt[p], 1, tcp_members[p]);
	ASSERT_EQ(cnt[P_CONG_CONTROL], 0, tcp_members[P_CONG_CONTROL]);

	ASSERT_OK(map_delete(fd), "delete");
	close(fd);
	fd = -1;
	ASSERT_EQ(wait_tcp_ksyms_gone(), 0, "gone after free");
out:
	put_map(fd);
	free(v);
}

static void test_free_loop(void)
{
	void *v = calloc(1, ctx.tcp.value_size);
	int i, fd, err = 0;

	if (!ASSERT_OK_PTR(v, "v"))
		return;
	tcp_value(v, "sctr_loop");
	for (i = 0; i < FREE_LOOPS && !err; i++) {
		fd = create_map(&ctx.tcp, 0);
		if (fd < 0) {
			err = fd;
			break;
		}
		err = map_update(fd, v);
		if (!err)
			err = map_delete(fd);
		close(fd);
	}
	ASSERT_OK(err, "create/update/delete/close");
	ASSERT_EQ(i, FREE_LOOPS, "loops");

	fd = create_map(&ctx.tcp, 0);
	if (ASSERT_OK_FD(fd, "create after the loop")) {
		ASSERT_OK(map_update(fd, v), "register after the loop");
		ASSERT_EQ(map_state(fd, &ctx.tcp), ST_INUSE, "INUSE");
		put_map(fd);
	}
	free(v);
}

static void test_module_refcnt(void)
{
	int before, fd;

	before = settled_testmod_refcnt(20);
	if (!ASSERT_GE(before, 0, "bpf_testmod refcnt"))
		return;
	fd = create_map(&ctx.tmod, 0);
	if (!ASSERT_OK_FD(fd, "create"))
		return;
	ASSERT_EQ(testmod_refcnt(), before + 1, "refcnt with a map");
	close(fd);
	ASSERT_EQ(wait_testmod_refcnt(before), before, "refcnt after free");
}

/* Setup: BTF, the programs every subtest shares */

static bool setup(void)
{
	int p;

	ctx.vmlinux_fd = -1;
	ctx.user_btf_fd = -1;
	ctx.tmod_prog = -1;
	ctx.sock_prog = -1;
	ctx.array_map = -1;
	for (p = 0; p < NR_TCP_PROGS; p++)
		ctx.tcp_prog[p] = -1;

	ctx.vmlinux = btf__load_vmlinux_btf();
	if (!ASSERT_OK_PTR(ctx.vmlinux, "vmlinux BTF")) {
		ctx.vmlinux = NULL;
		return false;
	}
	if (!init_st_type(&ctx.tcp, ctx.vmlinux, "tcp_congestion_ops") ||
	    !init_tcp_layout())
		return false;
	ctx.vmlinux_fd = kern_btf_fd("vmlinux", &ctx.tcp.obj_id);
	if (!ASSERT_OK_FD(ctx.vmlinux_fd, "vmlinux BTF object"))
		return false;

	ctx.tmod.obj_fd = kern_btf_fd("bpf_testmod", &ctx.tmod.obj_id);
	if (!ASSERT_OK_FD(ctx.tmod.obj_fd, "bpf_testmod BTF object")) {
		ctx.tmod.obj_fd = 0;
		return false;
	}
	ctx.mod = btf__load_from_kernel_by_id_split(ctx.tmod.obj_id, ctx.vmlinux);
	if (!ASSERT_OK_PTR(ctx.mod, "bpf_testmod BTF")) {
		ctx.mod = NULL;
		return false;
	}
	if (!init_st_type(&ctx.tmod, ctx.mod, "bpf_testmod_ops") ||
	    !init_st_type(&ctx.kd, ctx.mod, "bpf_testmod_kdata_ops"))
		return false;
	ctx.kd.obj_fd = ctx.tmod.obj_fd;
	ctx.kd.obj_id = ctx.tmod.obj_id;

	ctx.user_btf_fd = st_user_btf_fd(&ctx.user_btf_id);
	if (!ASSERT_OK_FD(ctx.user_btf_fd, "user BTF"))
		return false;

	for (p = 0; p < NR_TCP_PROGS; p++) {
		ctx.tcp_prog[p] = load_st_prog(&ctx.tcp, tcp_members[p]);
		if (!ASSERT_OK_FD(ctx.tcp_prog[p], tcp_members[p]))
			return false;
		ctx.tcp_prog_id[p] = prog_id(ctx.tcp_prog[p]);
	}
	ctx.tmod_prog = load_st_prog(&ctx.tmod, "test_1");
	ctx.sock_prog = load_sock_prog();
	ctx.array_map = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, sizeof(__u32),
				       ctx.tcp.value_size, 1, NULL);
	return ASSERT_OK_FD(ctx.tmod_prog, "bpf_testmod_ops.test_1") &&
	       ASSERT_OK_FD(ctx.sock_prog, "socket filter") &&
	       ASSERT_OK_FD(ctx.array_map, "array map");
}

static void teardown(void)
{
	int p;

	for (p = 0; p < NR_TCP_PROGS; p++)
		close_fd(ctx.tcp_prog[p]);
	close_fd(ctx.tmod_prog);
	close_fd(ctx.sock_prog);
	close_fd(ctx.array_map);
	close_fd(ctx.user_btf_fd);
	close_fd(ctx.vmlinux_fd);
	if (ctx.tmod.obj_fd > 0)
		close(ctx.tmod.obj_fd);
	btf__free(ctx.mod);
	btf__free(ctx.vmlinux);
	memset(&ctx, 0, sizeof(ctx));
}

void serial_test_struct_ops_contract(void)
{
	if (!setup())
		goto out;

	/* first: no map of bpf_testmod_ops of ours is being freed yet */
	if (test__start_subtest("module_refcnt"))
		test_module_refcnt();
	if (test__start_subtest("map_create"))
		test_map_create();
	if (test__start_subtest("update_reject"))
		test_update_reject();
	if (test__start_subtest("update_busy"))
		test_update_busy();
	if (test__start_subtest("lookup"))
		test_lookup();
	if (test__start_subtest("delete"))
		test_delete();
	if (test__start_subtest("freeze"))
		test_freeze();
	if (test__start_subtest("pin_read"))
		test_pin_read();
	if (test__start_subtest("link_create"))
		test_link_create();
	if (test__start_subtest("link_update"))
		test_link_update();
	if (test__start_subtest("link_detach"))
		test_link_detach();
	if (test__start_subtest("prog_load"))
		test_prog_load();
	if (test__start_subtest("fd_access"))
		test_fd_access();
	if (test__start_subtest("inuse_closed"))
		test_inuse_closed();
	if (test__start_subtest("free_loop"))
		test_free_loop();
	/* last: it waits for the earlier tcp maps to be freed */
	if (test__start_subtest("kallsyms"))
		test_kallsyms();
out:
	teardown();
}
