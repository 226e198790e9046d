// SPDX-License-Identifier: GPL-2.0
/*
 * insn_count - a QEMU TCG plugin that counts guest instructions between
 * markers, for ./vmtest.sh bench.
 *
 * Every executed instruction adds one to a counter (the bench VM has one
 * vCPU, so one counter is that vCPU's count).  The marker is the 8-byte
 * "nopl disp32(%rax,%rax,1)" of struct_ops_bench/bench_ops.h: its
 * displacement BENCH_MARK_START opens a window, BENCH_MARK_STOP closes it
 * and writes the instructions in between as one line to out=FILE.
 *
 * Built against the qemu-plugin.h of Debian's QEMU source, the version the
 * host's qemu-system-x86_64 loads:
 *   gcc -shared -fPIC -O2 -I<qemu>/include/qemu -o insn_count.so insn_count.c
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MARK_START	0x5ee1b000u
#define MARK_STOP	0x5ee1b001u

static const unsigned char mark_prefix[4] = { 0x0f, 0x1f, 0x84, 0x00 };
static uint64_t insns;
static uint64_t window_start;
static int window_open;
static unsigned long windows;
static FILE *out;

static void on_start(unsigned int vcpu, void *udata)
{
	window_start = insns;
	window_open = 1;
}

static void on_stop(unsigned int vcpu, void *udata)
{
	if (!window_open)
		return;
	window_open = 0;
	windows++;
	fprintf(out, "%" PRIu64 "\n", insns - window_start);
	fflush(out);
}

/* The marker id of @insn, or 0 */
static uint32_t marker_of(const struct qemu_plugin_insn *insn)
{
	const unsigned char *p = qemu_plugin_insn_data(insn);
	uint32_t id;

	if (qemu_plugin_insn_size(insn) != 8 || memcmp(p, mark_prefix, 4))
		return 0;
	memcpy(&id, p + 4, sizeof(id));
	return id;
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint32_t mark = marker_of(insn);

		/* Count before the marker's callback runs. */
		qemu_plugin_register_vcpu_insn_exec_inline(insn,
				QEMU_PLUGIN_INLINE_ADD_U64, &insns, 1);
		if (mark == MARK_START)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start,
					QEMU_PLUGIN_CB_NO_REGS, NULL);
		else if (mark == MARK_STOP)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_stop,
					QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

static void on_exit(qemu_plugin_id_t id, void *p)
{
	fprintf(out, "# %lu windows, %" PRIu64 " instructions in all\n",
		windows, insns);
	fclose(out);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *path = NULL;
	int i;

	for (i = 0; i < argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			path = argv[i] + 4;
	if (!path) {
		fprintf(stderr, "insn_count: out=FILE is required\n");
		return -1;
	}
	out = fopen(path, "w");
	if (!out) {
		perror(path);
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
	qemu_plugin_register_atexit_cb(id, on_exit, NULL);
	return 0;
}
