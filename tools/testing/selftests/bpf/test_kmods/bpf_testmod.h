/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Upstream keeps the test modules in test_kmods/; in 6.12 they are in
 * bpf_testmod/.  Selftests written against upstream include
 * "../test_kmods/bpf_testmod.h" and build here unchanged.
 */
#include "../bpf_testmod/bpf_testmod.h"

#ifdef __bpf__
#include <bpf/bpf_helpers.h>

/*
 * Upstream's BPF selftests may call a kernel kfunc without declaring it:
 * pahole 1.27 and later tag kfuncs in the BTF (decl_tag_kfuncs) and
 * bpftool then declares them in vmlinux.h.  Debian 12's pahole 1.24 does
 * not, so the ones such tests call are declared here, as bpftool would
 * (weak, in .ksyms).
 */
void bpf_task_release(struct task_struct *p) __weak __ksym;
#endif
