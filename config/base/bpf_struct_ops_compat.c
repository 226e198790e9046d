
/*
 * ./vmtest.sh --base: appended to the base's bpf_struct_ops.c, which
 * predates struct_ops map ids and prog association, so that the rest of
 * the series (syscall.c, core.c, bpf_testmod) links against it.  The base
 * never associates a struct_ops prog at map update, and frees maps
 * without looking at associations; only BPF_PROG_ASSOC_STRUCT_OPS
 * associates, and that prog holds the map.  config/base/
 * expected-failures.list names the tests this makes fail.
 */
#include <linux/rcupdate_trace.h>

static struct bpf_struct_ops_map *compat_st_map(const void *kdata)
{
	struct bpf_struct_ops_value *kvalue;

	kvalue = container_of(kdata, struct bpf_struct_ops_value, data);
	return container_of(kvalue, struct bpf_struct_ops_map, kvalue);
}

u32 bpf_struct_ops_id(const void *kdata)
{
	return compat_st_map(kdata)->map.id;
}
EXPORT_SYMBOL_GPL(bpf_struct_ops_id);

int bpf_struct_ops_for_each_prog(const void *kdata,
				 int (*cb)(struct bpf_prog *prog, void *data),
				 void *data)
{
	struct bpf_struct_ops_map *st_map = compat_st_map(kdata);
	u32 i;
	int err;

	for (i = 0; i < st_map->funcs_cnt && st_map->links[i]; i++) {
		err = cb(st_map->links[i]->prog, data);
		if (err)
			return err;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(bpf_struct_ops_for_each_prog);

int bpf_prog_assoc_struct_ops(struct bpf_prog *prog, struct bpf_map *map)
{
	struct bpf_prog_aux *aux = prog->aux;
	struct bpf_map *cur;
	int err = 0;

	mutex_lock(&aux->st_ops_assoc_mutex);
	cur = rcu_dereference_protected(aux->st_ops_assoc,
					lockdep_is_held(&aux->st_ops_assoc_mutex));
	if (cur && cur != map) {
		err = -EBUSY;
	} else if (!cur) {
		bpf_map_inc(map);
		rcu_assign_pointer(aux->st_ops_assoc, map);
	}
	mutex_unlock(&aux->st_ops_assoc_mutex);
	return err;
}

void bpf_prog_disassoc_struct_ops(struct bpf_prog *prog)
{
	struct bpf_prog_aux *aux = prog->aux;
	struct bpf_map *map;

	mutex_lock(&aux->st_ops_assoc_mutex);
	map = rcu_dereference_protected(aux->st_ops_assoc,
					lockdep_is_held(&aux->st_ops_assoc_mutex));
	RCU_INIT_POINTER(aux->st_ops_assoc, NULL);
	mutex_unlock(&aux->st_ops_assoc_mutex);
	if (map)
		bpf_map_put(map);
}

void *bpf_prog_get_assoc_struct_ops(const struct bpf_prog_aux *aux)
{
	struct bpf_map *map;

	map = rcu_dereference_check(aux->st_ops_assoc,
				    rcu_read_lock_any_held() ||
				    rcu_read_lock_trace_held());
	return map ? container_of(map, struct bpf_struct_ops_map, map)->kvalue.data : NULL;
}
EXPORT_SYMBOL_GPL(bpf_prog_get_assoc_struct_ops);
