// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops_bench - the guest side of ./vmtest.sh bench.
 *
 *   struct_ops_bench dispatch OBJ CALLS REPS
 *   struct_ops_bench register OBJ REPS
 *   struct_ops_bench memory OBJ MAPS
 *   struct_ops_bench pages OBJ MAP [PREFIX]
 *   struct_ops_bench mark start|stop
 *
 * Every measurement is printed as one JSON object per line.  Each stretch
 * of code between a BENCH_MARK_START and a BENCH_MARK_STOP (here or in the
 * bpf_bench_ops module) is announced first by a {"window": ...} line; the
 * TCG plugin reports the guest instructions of the windows in the same
 * order, and the host pairs them up.
 *
 * Wall-clock numbers come from CLOCK_MONOTONIC (or ktime in the module).
 * Under TCG they are emulated time: compare them only as ratios.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/elf.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

typedef __u64 u64;
#include "bench_ops.h"

#define DEBUGFS_FILE	"/sys/kernel/debug/bpf_bench_ops"
#define LAYOUT_FILE	"/sys/kernel/debug/bpf_bench_ops_layout"
#define STATS_SYSCTL	"/proc/sys/kernel/bpf_stats_enabled"
#define RELEASE_CAP_MS	20000
#define MAX_SLOTS	40
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "struct_ops_bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void print_window(const char *metric, const char *name, unsigned long n)
{
	printf("{\"window\": \"%s\", \"case\": \"%s\", \"n\": %lu}\n",
	       metric, name, n);
	fflush(stdout);
}

/* {"metric": M, "case": C, "unit": U, "values": [...]} */
static void print_values(const char *metric, const char *name,
			 const char *unit, const double *v, int n)
{
	int i;

	printf("{\"metric\": \"%s\", \"case\": \"%s\", \"unit\": \"%s\", \"values\": [",
	       metric, name, unit);
	for (i = 0; i < n; i++)
		printf("%s%.3f", i ? ", " : "", v[i]);
	printf("]}\n");
	fflush(stdout);
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	n = write(fd, s, strlen(s));
	if (n != (ssize_t)strlen(s))
		die("write '%s' to %s: %s", s, path, n < 0 ? strerror(errno) : "short");
	close(fd);
}

static struct bpf_object *open_obj(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);

	if (!obj)
		die("open %s: %s", path, strerror(errno));
	if (bpf_object__load(obj))
		die("load %s: %s", path, strerror(errno));
	return obj;
}

/* dispatch: N calls of one member, native and BPF, from the module */

/* One run in the module; returns the ns it took. */
static double dispatch_once(const char *impl, const char *op, const char *ctx,
			    unsigned long n)
{
	char cmd[64], res[64];
	unsigned long long ns;
	int fd;
	ssize_t len;

	snprintf(cmd, sizeof(cmd), "%s %s %lu %s", impl, op, n, ctx);
	write_file(DEBUGFS_FILE, cmd);
	fd = open(DEBUGFS_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", DEBUGFS_FILE, strerror(errno));
	len = read(fd, res, sizeof(res) - 1);
	close(fd);
	if (len <= 0)
		die("read %s", DEBUGFS_FILE);
	res[len] = '\0';
	errno = 0;
	ns = strtoull(res, NULL, 10);
	if (errno || !isdigit(res[0]))
		die("bad result '%s'", res);
	return ns;
}

/*
 * One case: "IMPL/OP[@CTX][/stats]", the context left out when it is irq
 * (the case names of the first version of the bench).
 */
static void dispatch_case(const char *impl, const char *op, const char *ctx,
			  int stats, unsigned long calls, int reps)
{
	double ns[64];
	char name[64];
	int i;

	snprintf(name, sizeof(name), "%s/%s%s%s%s", impl, op,
		 strcmp(ctx, "irq") ? "@" : "", strcmp(ctx, "irq") ? ctx : "",
		 stats ? "/stats" : "");
	write_file(STATS_SYSCTL, stats ? "1" : "0");
	/* The empty loop first: the window's fixed cost. */
	for (i = 0; i < 3; i++) {
		print_window("dispatch", name, 0);
		dispatch_once(impl, op, ctx, 0);
	}
	for (i = 0; i < reps; i++) {
		print_window("dispatch", name, calls);
		ns[i] = dispatch_once(impl, op, ctx, calls) / calls;
	}
	print_values("dispatch_wall", name, "ns/call", ns, reps);
	write_file(STATS_SYSCTL, "0");
}

/*
 * The length of the trampolines of opsx, from the addresses its members
 * point to: each one's is the distance to the next when both are on one
 * page (what the image was advanced by, padding included).
 */
static void tramp_lengths(void)
{
	static const char * const kinds[] = {
		"no argument", "one argument", "one argument, sleepable",
		"one argument, calls a helper",
	};
	unsigned long long addr[ARRAY_SIZE(kinds) + 1];
	char line[64];
	size_t i, n = 0;
	FILE *f = fopen(LAYOUT_FILE, "re");

	if (!f)
		die("%s: %s", LAYOUT_FILE, strerror(errno));
	while (n < ARRAY_SIZE(addr) && fgets(line, sizeof(line), f))
		addr[n++] = strtoull(line, NULL, 16);
	fclose(f);
	if (n != ARRAY_SIZE(addr))
		die("%s: %zu addresses", LAYOUT_FILE, n);
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		double len = addr[i + 1] - addr[i];

		if (addr[i] >> 12 != addr[i + 1] >> 12)
			die("%s: trampolines %zu and %zu on two pages", LAYOUT_FILE, i, i + 1);
		print_values("tramp_bytes", kinds[i], "bytes", &len, 1);
	}
}

static int cmd_dispatch(const char *path, unsigned long calls, int reps)
{
	struct bpf_object *obj = open_obj(path);
	static const char * const ops[] = { "empty", "trivial" };
	static const char * const ctxs[] = { "preempt", "task" };
	struct bpf_link *link;
	int i;

	if (reps > 64)
		reps = 64;
	link = bpf_map__attach_struct_ops(bpf_object__find_map_by_name(obj, "opsx"));
	if (!link)
		die("attach opsx: %s", strerror(errno));
	tramp_lengths();
	/* (a) interrupts off, RCU held; (f) the same with stats */
	for (i = 0; i < 2; i++) {
		dispatch_case("native", ops[i], "irq", 0, calls, reps);
		dispatch_case("bpf", ops[i], "irq", 0, calls, reps);
		dispatch_case("bpf", ops[i], "irq", 1, calls, reps);
	}
	/* (b) preemption off and (c) a preemptible task, RCU not held */
	for (i = 0; i < 2; i++) {
		dispatch_case("native", "trivial", ctxs[i], 0, calls, reps);
		dispatch_case("bpf", "trivial", ctxs[i], 0, calls, reps);
	}
	/* (d) a sleepable prog; (e) a prog that calls a helper */
	dispatch_case("bpf", "sleepable", "task", 0, calls, reps);
	dispatch_case("bpf", "helper", "irq", 0, calls, reps);
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return 0;
}

/* bpf_jit_current, read through /proc/kcore at its kallsyms address */
static struct {
	int fd;
	u64 addr;
	long long idle;		/* the value with no map of ours alive */
	struct elf64_phdr ph[64];
	int phnum;
} kcore = { .fd = -1 };

static long long jit_current(void);

static void kcore_init(void)
{
	char line[256], sym[128], type;
	unsigned long long addr;
	struct elf64_hdr eh;
	FILE *f;

	f = fopen("/proc/kallsyms", "re");
	if (!f)
		die("/proc/kallsyms: %s", strerror(errno));
	while (!kcore.addr && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %127s", &addr, &type, sym) == 3 &&
		    !strcmp(sym, "bpf_jit_current"))
			kcore.addr = addr;
	fclose(f);
	if (!kcore.addr)
		die("no bpf_jit_current in /proc/kallsyms");
	kcore.fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
	if (kcore.fd < 0 || pread(kcore.fd, &eh, sizeof(eh), 0) != sizeof(eh))
		die("/proc/kcore: %s", strerror(errno));
	kcore.phnum = eh.e_phnum < 64 ? eh.e_phnum : 64;
	if (pread(kcore.fd, kcore.ph, kcore.phnum * sizeof(kcore.ph[0]), eh.e_phoff) < 0)
		die("/proc/kcore program headers: %s", strerror(errno));
	kcore.idle = jit_current();
}

static long long jit_current(void)
{
	long long val;
	int i;

	for (i = 0; i < kcore.phnum; i++) {
		const struct elf64_phdr *p = &kcore.ph[i];

		if (p->p_type != PT_LOAD || kcore.addr < p->p_vaddr ||
		    kcore.addr + sizeof(val) > p->p_vaddr + p->p_filesz)
			continue;
		if (pread(kcore.fd, &val, sizeof(val),
			  p->p_offset + kcore.addr - p->p_vaddr) != sizeof(val))
			break;
		return val;
	}
	die("cannot read bpf_jit_current from /proc/kcore");
	return 0;
}

/* ms until bpf_jit_current is back at @want, or -1 after the cap */
static double wait_released(long long want, u64 t0)
{
	while (jit_current() > want) {
		if (now_ns() - t0 > RELEASE_CAP_MS * 1000000ULL)
			return -1;
		usleep(1000);
	}
	return (now_ns() - t0) / 1e6;
}

/* Wait until the maps of earlier steps are freed: none of them is counted. */
static void wait_idle(void)
{
	if (wait_released(kcore.idle, now_ns()) < 0)
		die("earlier maps not released after %d ms", RELEASE_CAP_MS);
}

/* A struct_ops type as the runner builds its maps: after a libbpf map. */
struct st_type {
	const char *map;		/* the libbpf map it copies */
	const char *prefix;		/* slot programs: PREFIX<member name> */
	int nr_slots;			/* func slots; 0: as many as the type has */
	char slot_name[MAX_SLOTS][32];
	int name_off;			/* of a "name" string member, or -1 */
	__u32 value_size, value_type_id;
	int btf_fd;			/* module BTF of the type, -1 for vmlinux */
	int obj_btf_fd;			/* BTF of bench_ops.bpf.o: a map needs one */
	__u32 slot_off[MAX_SLOTS];	/* offset of each func slot in the value */
	int prog_fd[MAX_SLOTS];
	char value[1024];
};

static struct st_type types[] = {
	{ .map = "ops1", .nr_slots = 1 },
	{ .map = "ops10", .nr_slots = 10 },
	{ .map = "ops40", .nr_slots = 40 },
};

/* The program of slot @i of @t, as bench_ops.bpf.c assigns them */
static void slot_prog_name(const struct st_type *t, int i, char *buf, size_t sz)
{
	if (t->prefix)
		snprintf(buf, sz, "%s%s", t->prefix, t->slot_name[i]);
	else if (t->nr_slots == 1)
		snprintf(buf, sz, "bench1_op0");
	else if (t->nr_slots == 40)
		snprintf(buf, sz, "bench40_op%d", i);
	else if (i < 2)
		snprintf(buf, sz, i ? "bench_trivial" : "bench_empty");
	else
		snprintf(buf, sz, "bench_op%d", i);
}

/* Whether member type @id is a function pointer */
static int is_func_ptr(const struct btf *btf, __u32 id)
{
	const struct btf_type *t = btf__type_by_id(btf, btf__resolve_type(btf, id));

	return t && btf_is_ptr(t) &&
	       btf_is_func_proto(btf__type_by_id(btf, btf__resolve_type(btf, t->type)));
}

/*
 * Offset of every func slot: the struct's offset in the value type + its
 * member's; and of a "name" member, which some types require.
 */
static void type_layout(struct st_type *t, __u32 btf_obj_id)
{
	struct btf *vmlinux = btf__load_vmlinux_btf(), *btf;
	const struct btf_type *vt, *st = NULL;
	const struct btf_member *m;
	__u32 data_off = 0;
	int i, n = 0;

	btf = vmlinux ? btf__load_from_kernel_by_id_split(btf_obj_id, vmlinux) : NULL;
	if (!btf)
		die("%s: BTF object %u: %s", t->map, btf_obj_id, strerror(errno));
	vt = btf__type_by_id(btf, t->value_type_id);
	for (i = 0, m = btf_members(vt); i < btf_vlen(vt); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), "data")) {
			data_off = m->offset / 8;
			st = btf__type_by_id(btf, m->type);
		}
	if (!st)
		die("%s: unexpected value type layout", t->map);
	t->name_off = -1;
	for (i = 0, m = btf_members(st); i < btf_vlen(st); i++, m++) {
		const char *mname = btf__name_by_offset(btf, m->name_off);

		if (!is_func_ptr(btf, m->type)) {
			if (!strcmp(mname, "name"))
				t->name_off = data_off + m->offset / 8;
			continue;
		}
		if (n == MAX_SLOTS)
			die("%s: more than %d func members", t->map, MAX_SLOTS);
		t->slot_off[n] = data_off + m->offset / 8;
		snprintf(t->slot_name[n++], sizeof(t->slot_name[0]), "%s", mname);
	}
	if (t->nr_slots && n != t->nr_slots)
		die("%s: %d func members, not %d", t->map, n, t->nr_slots);
	t->nr_slots = n;
	btf__free(btf);
	btf__free(vmlinux);
}

static int btf_is_vmlinux(int btf_fd)
{
	struct bpf_btf_info info = {};
	__u32 len = sizeof(info);
	char name[64] = "";

	info.name = (__u64)(unsigned long)name;
	info.name_len = sizeof(name);
	if (bpf_btf_get_info_by_fd(btf_fd, &info, &len))
		die("BTF info: %s", strerror(errno));
	return !strcmp(name, "vmlinux");
}

static void type_init(struct st_type *t, struct bpf_object *obj)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, t->map);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char name[32];
	int i;

	if (!map || bpf_map_get_info_by_fd(bpf_map__fd(map), &info, &len))
		die("map %s: %s", t->map, strerror(errno));
	if (info.value_size > sizeof(t->value))
		die("%s: value of %u bytes", t->map, info.value_size);
	t->value_size = info.value_size;
	t->value_type_id = info.btf_vmlinux_value_type_id;
	t->btf_fd = bpf_btf_get_fd_by_id(info.btf_vmlinux_id);
	if (t->btf_fd < 0)
		die("%s: BTF fd: %s", t->map, strerror(errno));
	if (btf_is_vmlinux(t->btf_fd)) {
		/* a map names only a module's BTF */
		close(t->btf_fd);
		t->btf_fd = -1;
	}
	t->obj_btf_fd = bpf_object__btf_fd(obj);
	type_layout(t, info.btf_vmlinux_id);
	memset(t->value, 0, sizeof(t->value));
	for (i = 0; i < t->nr_slots; i++) {
		struct bpf_program *prog;

		slot_prog_name(t, i, name, sizeof(name));
		prog = bpf_object__find_program_by_name(obj, name);
		if (!prog || bpf_program__fd(prog) < 0)
			die("%s: no program %s", t->map, name);
		t->prog_fd[i] = bpf_program__fd(prog);
		*(__u64 *)(t->value + t->slot_off[i]) = t->prog_fd[i];
	}
	if (t->name_off >= 0)
		memcpy(t->value + t->name_off, "bench", sizeof("bench"));
}

/* A new BPF_F_LINK map of type @t; with @update, its value written */
static int map_new(const struct st_type *t, int update)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts,
		    .btf_fd = t->obj_btf_fd,
		    .btf_vmlinux_value_type_id = t->value_type_id,
		    .map_flags = BPF_F_LINK);
	int fd, zero = 0;

	if (t->btf_fd >= 0) {
		opts.value_type_btf_obj_fd = t->btf_fd;
		opts.map_flags |= BPF_F_VTYPE_BTF_OBJ_FD;
	}

	fd = bpf_map_create(BPF_MAP_TYPE_STRUCT_OPS, t->map, sizeof(int),
			    t->value_size, 1, &opts);
	if (fd < 0)
		die("create %s map: %s", t->map, strerror(errno));
	if (update && bpf_map_update_elem(fd, &zero, t->value, 0))
		die("update %s map: %s", t->map, strerror(errno));
	return fd;
}

static double ms_since(u64 t0)
{
	return (now_ns() - t0) / 1e6;
}

/* register: BPF_MAP_UPDATE_ELEM per type, link create and update, release */

static void bench_update(struct st_type *t, int reps)
{
	double ms[64];
	int i, zero = 0;

	for (i = 0; i < reps; i++) {
		int fd = map_new(t, 0), err;
		u64 t0;

		print_window("map_update", t->map, 1);
		t0 = now_ns();
		bench_mark_start();
		err = bpf_map_update_elem(fd, &zero, t->value, 0);
		bench_mark_stop();
		ms[i] = ms_since(t0);
		if (err)
			die("update %s: %s", t->map, strerror(errno));
		close(fd);
	}
	print_values("map_update_wall", t->map, "ms", ms, reps);
}

static void bench_links(struct st_type *t, int reps)
{
	double create[64], update[64];
	int i;

	for (i = 0; i < reps; i++) {
		int a = map_new(t, 1), b = map_new(t, 1), link, err;
		u64 t0;

		print_window("link_create", t->map, 1);
		t0 = now_ns();
		bench_mark_start();
		link = bpf_link_create(a, 0, BPF_STRUCT_OPS, NULL);
		bench_mark_stop();
		create[i] = ms_since(t0);
		if (link < 0)
			die("link %s: %s", t->map, strerror(errno));

		print_window("link_update", t->map, 1);
		t0 = now_ns();
		bench_mark_start();
		err = bpf_link_update(link, b, NULL);
		bench_mark_stop();
		update[i] = ms_since(t0);
		if (err)
			die("link update %s: %s", t->map, strerror(errno));
		close(link);
		close(a);
		close(b);
	}
	print_values("link_create_wall", t->map, "ms", create, reps);
	print_values("link_update_wall", t->map, "ms", update, reps);
}

/* From the close of a map's last fd until its trampoline pages are uncharged */
static void bench_release(struct st_type *t, int reps)
{
	double ms[64];
	int i;

	for (i = 0; i < reps; i++) {
		long long before;
		int fd;
		u64 t0;

		wait_idle();
		before = jit_current();
		fd = map_new(t, 1);
		if (jit_current() <= before)
			die("%s: no trampoline pages charged", t->map);
		t0 = now_ns();
		close(fd);
		ms[i] = wait_released(before, t0);
		if (ms[i] < 0)
			die("%s: pages not released after %d ms", t->map, RELEASE_CAP_MS);
	}
	print_values("release_wall", t->map, "ms", ms, reps);
}

static struct bpf_object *types_init(const char *path)
{
	struct bpf_object *obj = open_obj(path);
	size_t i;

	for (i = 0; i < ARRAY_SIZE(types); i++)
		type_init(&types[i], obj);
	return obj;
}

static int cmd_register(const char *path, int reps)
{
	struct bpf_object *obj = types_init(path);
	size_t i;

	if (reps > 64)
		reps = 64;
	kcore_init();
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		bench_update(&types[i], reps);
		bench_links(&types[i], reps);
		bench_release(&types[i], reps);
	}
	bpf_object__close(obj);
	return 0;
}

/* memory: what registered maps cost, by the kernel's accounting and in all */

static long long meminfo_kb(const char *field)
{
	char line[256];
	long long kb = -1;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		die("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			kb = atoll(line + n + 1);
	fclose(f);
	return kb;
}

/* The map's own accounting: memlock in its fdinfo (map_mem_usage) */
static long long fdinfo_memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "memlock:", 8))
			v = atoll(line + 8);
	fclose(f);
	return v;
}

static void one_value(const char *metric, const char *name, const char *unit,
		      double v)
{
	print_values(metric, name, unit, &v, 1);
}

static const char * const meminfo_fields[] = {
	"MemAvailable", "MemFree", "Slab", "VmallocUsed", "Percpu",
};

#define NR_FIELDS ARRAY_SIZE(meminfo_fields)

static void bench_memory(struct st_type *t, int nr)
{
	long long before[NR_FIELDS], jit0, jit1;
	struct rlimit rl = { nr + 256, nr + 256 };
	char name[64];
	int *fds, i;
	size_t f;
	u64 t0;

	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("RLIMIT_NOFILE %d: %s", nr + 256, strerror(errno));
	fds = calloc(nr, sizeof(*fds));
	if (!fds)
		die("out of memory");
	wait_idle();
	jit0 = jit_current();
	for (f = 0; f < NR_FIELDS; f++)
		before[f] = meminfo_kb(meminfo_fields[f]);
	for (i = 0; i < nr; i++)
		fds[i] = map_new(t, 1);
	jit1 = jit_current();
	for (f = 0; f < NR_FIELDS; f++) {
		long long d = meminfo_kb(meminfo_fields[f]) - before[f];

		/* free memory goes down: report what the maps took */
		if (!strncmp(meminfo_fields[f], "Mem", 3))
			d = -d;
		snprintf(name, sizeof(name), "%s/%s", t->map, meminfo_fields[f]);
		one_value("memory_meminfo", name, "bytes/map", d * 1024.0 / nr);
	}
	one_value("memory_jit_charge", t->map, "bytes/map", (double)(jit1 - jit0) / nr);
	one_value("memory_memlock", t->map, "bytes/map", fdinfo_memlock(fds[0]));

	t0 = now_ns();
	for (i = 0; i < nr; i++)
		close(fds[i]);
	snprintf(name, sizeof(name), "%s/%d", t->map, nr);
	one_value("release_all_wall", name, "ms", wait_released(jit0, t0));
	free(fds);
}

static int cmd_memory(const char *path, int nr)
{
	struct bpf_object *obj = types_init(path);
	size_t i;

	kcore_init();
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		/* forty trampolines a map: a tenth as many maps */
		int n = types[i].nr_slots > 10 ? (nr + 9) / 10 : nr;

		bench_memory(&types[i], n);
	}
	bpf_object__close(obj);
	return 0;
}

/* pages: the trampoline pages of one map with every func member set */
static int cmd_pages(const char *path, const char *map, const char *prefix)
{
	struct bpf_object *obj = open_obj(path);
	struct st_type *t = calloc(1, sizeof(*t));
	long long before;
	int fd;

	if (!t)
		die("out of memory");
	t->map = map;
	t->prefix = prefix;
	type_init(t, obj);
	kcore_init();
	before = jit_current();
	fd = map_new(t, 1);
	one_value("image_pages", map, "pages", (jit_current() - before) / 4096.0);
	close(fd);
	free(t);
	bpf_object__close(obj);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "mark") && argc == 3) {
		if (!strcmp(argv[2], "start"))
			bench_mark_start();
		else
			bench_mark_stop();
		return 0;
	}
	if (!strcmp(cmd, "dispatch") && argc == 5)
		return cmd_dispatch(argv[2], strtoul(argv[3], NULL, 0), atoi(argv[4]));
	if (!strcmp(cmd, "register") && argc == 4)
		return cmd_register(argv[2], atoi(argv[3]));
	if (!strcmp(cmd, "memory") && argc == 4)
		return cmd_memory(argv[2], atoi(argv[3]));
	if (!strcmp(cmd, "pages") && (argc == 4 || argc == 5))
		return cmd_pages(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	fprintf(stderr,
		"usage: %s dispatch OBJ CALLS REPS | register OBJ REPS |\n"
		"       %s memory OBJ MAPS | pages OBJ MAP [PREFIX] | mark start|stop\n",
		argv[0], argv[0]);
	return 2;
}
