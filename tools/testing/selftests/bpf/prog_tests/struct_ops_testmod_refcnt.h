/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpf_testmod's module refcnt, for the tests that check what a
 * struct_ops map of a module type pins.  Maps freed by earlier tests
 * drop their reference from a work item, so a test first waits for the
 * count to settle.
 */
#ifndef __STRUCT_OPS_TESTMOD_REFCNT_H
#define __STRUCT_OPS_TESTMOD_REFCNT_H

#include "struct_ops_common.h"

/* bpf_testmod's module refcnt, or -errno (-ENOENT once unloaded) */
static inline int testmod_refcnt(void)
{
	char buf[32];
	int err;

	err = st_read_str("/sys/module/bpf_testmod/refcnt", buf, sizeof(buf));
	return err ?: atoi(buf);
}

/*
 * The refcnt once @rounds reads 100 ms apart saw it unchanged: frees of
 * earlier tests' maps are done (bounded by ST_WAIT_MS)
 */
static inline int settled_testmod_refcnt(int rounds)
{
	int last = testmod_refcnt(), cur, stable = 0;
	__u64 end = st_now_ms() + ST_WAIT_MS;

	while (stable < rounds && st_now_ms() < end) {
		usleep(100000);
		cur = testmod_refcnt();
		stable = cur == last ? stable + 1 : 0;
		last = cur;
	}
	return last;
}

/* Wait (bounded) for the refcnt to come to @want: the last value read */
static inline int wait_testmod_refcnt(int want)
{
	__u64 end = st_now_ms() + ST_WAIT_MS;
	int cur;

	while ((cur = testmod_refcnt()) != want && st_now_ms() < end)
		usleep(100000);
	return cur;
}

#endif /* __STRUCT_OPS_TESTMOD_REFCNT_H */
