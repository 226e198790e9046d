// SPDX-License-Identifier: GPL-2.0
/*
 * bpf_testmod_kdata_ops for struct_ops_kdata: one map registered with
 * BPF_MAP_UPDATE_ELEM, one through a link.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "../bpf_testmod/bpf_testmod.h"

char _license[] SEC("license") = "GPL";

SEC("struct_ops")
int BPF_PROG(kd_probe, int arg)
{
	return arg;
}

SEC(".struct_ops")
struct bpf_testmod_kdata_ops kd_plain = {
	.probe = (void *)kd_probe,
};

SEC(".struct_ops.link")
struct bpf_testmod_kdata_ops kd_link = {
	.probe = (void *)kd_probe,
};

SEC(".struct_ops.link")
struct bpf_testmod_kdata_ops kd_link2 = {
	.probe = (void *)kd_probe,
};
