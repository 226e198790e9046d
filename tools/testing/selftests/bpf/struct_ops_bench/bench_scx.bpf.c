// SPDX-License-Identifier: GPL-2.0
/*
 * A sched_ext_ops map with every member set, for the bench's count of
 * trampoline pages.  The runner only creates and fills the map; it is never
 * attached, so the programs never run.  Each returns 0, which any member
 * accepts.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

#define SCX_PROG(name)	SEC("struct_ops") int BPF_PROG(bench_scx_##name) { return 0; }

SCX_PROG(select_cpu)
SCX_PROG(enqueue)
SCX_PROG(dequeue)
SCX_PROG(dispatch)
SCX_PROG(tick)
SCX_PROG(runnable)
SCX_PROG(running)
SCX_PROG(stopping)
SCX_PROG(quiescent)
SCX_PROG(yield)
SCX_PROG(core_sched_before)
SCX_PROG(set_weight)
SCX_PROG(set_cpumask)
SCX_PROG(update_idle)
SCX_PROG(cpu_acquire)
SCX_PROG(cpu_release)
SCX_PROG(init_task)
SCX_PROG(exit_task)
SCX_PROG(enable)
SCX_PROG(disable)
SCX_PROG(dump)
SCX_PROG(dump_cpu)
SCX_PROG(dump_task)
SCX_PROG(cgroup_init)
SCX_PROG(cgroup_exit)
SCX_PROG(cgroup_prep_move)
SCX_PROG(cgroup_move)
SCX_PROG(cgroup_cancel_move)
SCX_PROG(cgroup_set_weight)
SCX_PROG(cpu_online)
SCX_PROG(cpu_offline)
SCX_PROG(init)
SCX_PROG(exit)

#define SCX_SET(name)	.name = (void *)bench_scx_##name

SEC(".struct_ops.link")
struct sched_ext_ops scx_all = {
	SCX_SET(select_cpu),
	SCX_SET(enqueue),
	SCX_SET(dequeue),
	SCX_SET(dispatch),
	SCX_SET(tick),
	SCX_SET(runnable),
	SCX_SET(running),
	SCX_SET(stopping),
	SCX_SET(quiescent),
	SCX_SET(yield),
	SCX_SET(core_sched_before),
	SCX_SET(set_weight),
	SCX_SET(set_cpumask),
	SCX_SET(update_idle),
	SCX_SET(cpu_acquire),
	SCX_SET(cpu_release),
	SCX_SET(init_task),
	SCX_SET(exit_task),
	SCX_SET(enable),
	SCX_SET(disable),
	SCX_SET(dump),
	SCX_SET(dump_cpu),
	SCX_SET(dump_task),
	SCX_SET(cgroup_init),
	SCX_SET(cgroup_exit),
	SCX_SET(cgroup_prep_move),
	SCX_SET(cgroup_move),
	SCX_SET(cgroup_cancel_move),
	SCX_SET(cgroup_set_weight),
	SCX_SET(cpu_online),
	SCX_SET(cpu_offline),
	SCX_SET(init),
	SCX_SET(exit),
	.name = "bench_scx",
};
