/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by prog_tests/struct_ops_ident.c and progs/struct_ops_ident*.c */
#ifndef __STRUCT_OPS_IDENT_H
#define __STRUCT_OPS_IDENT_H

/* What test_1 of each map answers */
#define IDENT_MAGIC_A	0x1a1a
#define IDENT_MAGIC_B	0x2b2b
#define IDENT_MAGIC_C	0x3c3c
#define IDENT_MAGIC_T	0x4d4d

/* The kfuncs' answer when there is no such map */
#define IDENT_NONE	(-1)

#endif /* __STRUCT_OPS_IDENT_H */
