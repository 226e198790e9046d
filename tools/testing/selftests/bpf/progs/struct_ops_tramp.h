/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by prog_tests/struct_ops_tramp.c and progs/struct_ops_tramp.c */
#ifndef __STRUCT_OPS_TRAMP_H
#define __STRUCT_OPS_TRAMP_H

/* probe()'s answer: one bit per thing it saw */
#define SEEN_MIGRATION	1	/* migration_disabled one above the caller's */
#define SEEN_RCU	2	/* the RCU nesting one above the caller's */
#define SEEN_RUN_CTX	4	/* current->bpf_ctx set */
#define SEEN_MOVED	8	/* another CPU during the loops */
#define SEEN_ALL	(SEEN_MIGRATION | SEEN_RCU | SEEN_RUN_CTX)

#define TRAMP_STACK_DEPTH	32

#endif /* __STRUCT_OPS_TRAMP_H */
