/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the struct_ops tests share: reading and writing a knob or
 * sysfs file, a kallsyms address, a user BTF object, waiting for a map
 * to be freed, and the JIT's module memory budget: bpf_jit_current, read
 * from /proc/kcore at its kallsyms address, and net.core.bpf_jit_limit.
 * Both are global: tests that use them are serial_test_*.
 */
#ifndef __STRUCT_OPS_COMMON_H
#define __STRUCT_OPS_COMMON_H

#include <test_progs.h>
#include <linux/elf.h>
#include <bpf/btf.h>

#define ST_WAIT_MS	20000
#define JIT_LIMIT	"/proc/sys/net/core/bpf_jit_limit"

static inline __u64 st_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Wait (bounded) until no map has this id: 0, else the last lookup */
static inline int wait_map_gone(__u32 id)
{
	__u64 end = st_now_ms() + ST_WAIT_MS;
	int fd;

	for (;;) {
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			return fd == -ENOENT ? 0 : fd;
		close(fd);
		if (st_now_ms() >= end)
			return 1;
		usleep(20000);
	}
}

/* Write @s to the file at @path: 0 or -errno (-EIO for a short write) */
static inline int st_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), n, err;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	err = n == (int)strlen(s) ? 0 : n < 0 ? -errno : -EIO;
	close(fd);
	return err;
}

/* Read the file at @path into @buf, NUL-terminated: 0 or -errno */
static inline int st_read_str(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sz - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/*
 * A user BTF object holding one "int", as BPF_MAP_CREATE takes in
 * btf_fd: its fd, or a negative value; its id in *@id unless @id is NULL.
 */
static inline int st_user_btf_fd(__u32 *id)
{
	struct bpf_btf_info info = {};
	__u32 len = sizeof(info);
	struct btf *btf;
	int fd = -1, err;

	btf = btf__new_empty();
	if (!btf)
		return -errno;
	if (btf__add_int(btf, "int", 4, BTF_INT_SIGNED) > 0 &&
	    !btf__load_into_kernel(btf))
		fd = dup(btf__fd(btf));
	btf__free(btf);
	if (fd < 0 || !id)
		return fd;
	if (bpf_btf_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	*id = info.id;
	return fd;
}

/* Address of the one kallsyms symbol @name, 0 if not exactly one */
static inline unsigned long long ksym_addr(const char *name)
{
	unsigned long long addr, found = 0;
	char line[256], sym[128];
	int n = 0;
	FILE *f;

	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %*s %127s", &addr, sym) == 2 &&
		    !strcmp(sym, name)) {
			found = addr;
			n++;
		}
	fclose(f);
	return n == 1 ? found : 0;
}

static struct {
	int kcore;
	__u64 addr;
	struct elf64_phdr *ph;
	int phnum;
} kc = { .kcore = -1 };

static inline bool kcore_open(void)
{
	char line[256], name[128], type;
	unsigned long long addr;
	struct elf64_hdr eh;
	size_t sz;
	FILE *f;

	f = fopen("/proc/kallsyms", "re");
	if (!ASSERT_OK_PTR(f, "kallsyms"))
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %127s", &addr, &type, name) == 3 &&
		    !strcmp(name, "bpf_jit_current")) {
			kc.addr = addr;
			break;
		}
	fclose(f);
	if (!ASSERT_NEQ(kc.addr, 0, "bpf_jit_current address"))
		return false;

	kc.kcore = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
	if (!ASSERT_OK_FD(kc.kcore, "/proc/kcore"))
		return false;
	if (!ASSERT_EQ(pread(kc.kcore, &eh, sizeof(eh), 0), sizeof(eh), "ELF header"))
		return false;
	sz = (size_t)eh.e_phnum * sizeof(*kc.ph);
	kc.ph = malloc(sz);
	if (!ASSERT_OK_PTR(kc.ph, "phdrs"))
		return false;
	kc.phnum = eh.e_phnum;
	return ASSERT_EQ(pread(kc.kcore, kc.ph, sz, eh.e_phoff), sz, "program headers");
}

static inline void kcore_close(void)
{
	if (kc.kcore >= 0)
		close(kc.kcore);
	free(kc.ph);
	memset(&kc, 0, sizeof(kc));
	kc.kcore = -1;
}

/* @len bytes of kernel memory at @addr, after kcore_open(): 0 or -errno */
static inline int kcore_read(__u64 addr, void *buf, size_t len)
{
	int i;

	for (i = 0; i < kc.phnum; i++) {
		struct elf64_phdr *p = &kc.ph[i];

		if (p->p_type != PT_LOAD || addr < p->p_vaddr ||
		    addr + len > p->p_vaddr + p->p_filesz)
			continue;
		if (pread(kc.kcore, buf, len, p->p_offset + addr - p->p_vaddr) != (ssize_t)len)
			return -errno;
		return 0;
	}
	return -ENOENT;
}

/* bpf_jit_current in bytes, or a negative errno */
static inline long long jit_current(void)
{
	long long val;
	int err = kcore_read(kc.addr, &val, sizeof(val));

	return err ?: val;
}

/* The value once it has not moved for 1s */
static inline long long settled_jit_current(void)
{
	long long last = jit_current(), cur;
	__u64 end = st_now_ms() + ST_WAIT_MS;
	int stable = 0;

	while (stable < 10 && st_now_ms() < end) {
		usleep(100000);
		cur = jit_current();
		stable = cur == last ? stable + 1 : 0;
		last = cur;
	}
	return last;
}

/* Wait (bounded) for bpf_jit_current to come back to @want */
static inline long long wait_jit_current(long long want)
{
	__u64 end = st_now_ms() + ST_WAIT_MS;
	long long cur;

	while ((cur = jit_current()) != want && st_now_ms() < end)
		usleep(20000);
	return cur;
}

static inline int write_jit_limit(long long val)
{
	char buf[32];
	int fd, n, err = 0;

	fd = open(JIT_LIMIT, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%lld\n", val);
	if (write(fd, buf, n) != n)
		err = -errno;
	close(fd);
	return err;
}

static inline long long read_jit_limit(void)
{
	char buf[32] = {};
	int fd, n;

	fd = open(JIT_LIMIT, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n <= 0 ? -EIO : atoll(buf);
}

/* The id of the map @fd refers to, 0 if it is none */
static inline __u32 st_map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_map_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* The map id of the struct_ops link @fd (0 once detached), or -errno */
static inline long long st_link_map_id(int fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_link_get_info_by_fd(fd, &info, &len))
		return -errno;
	return info.struct_ops.map_id;
}

/*
 * Create only the struct_ops map @name of @obj, and so load only its
 * progs: 0, -ENOENT if @obj has no such struct_ops map, or the error of
 * bpf_map__set_autocreate().  Each struct_ops map is set here because
 * libbpf 1.5 turns off only the first map of a "?.struct_ops.link"
 * section.
 */
static inline int st_only_map(struct bpf_object *obj, const char *name)
{
	struct bpf_map *map;
	bool found = false;
	int err;

	bpf_object__for_each_map(map, obj) {
		bool on = !strcmp(bpf_map__name(map), name);

		if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS)
			continue;
		err = bpf_map__set_autocreate(map, on);
		if (err)
			return err;
		found |= on;
	}
	return found ? 0 : -ENOENT;
}

#endif /* __STRUCT_OPS_COMMON_H */
