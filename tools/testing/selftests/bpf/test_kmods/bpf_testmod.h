/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Upstream keeps the test modules in test_kmods/; in 6.12 they are in
 * bpf_testmod/.  Selftests written against upstream include
 * "../test_kmods/bpf_testmod.h" and build here unchanged.
 */
#include "../bpf_testmod/bpf_testmod.h"
