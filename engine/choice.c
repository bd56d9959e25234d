#include <string.h>

#include "engine/snapshot.h"

static const uint8_t snap_zero_uuid[16];

static int
snap_is_held(const struct snap_info *s, const uint8_t (*held)[16],
    size_t nheld)
{
	const uint8_t *key;
	size_t i;

	key = memcmp(s->received_uuid, snap_zero_uuid, 16) != 0 ?
	    s->received_uuid : s->uuid;
	for (i = 0; i < nheld; i++)
		if (memcmp(held[i], key, 16) == 0)
			return 1;
	return 0;
}

int
snap_choose(const struct snap_info *local, size_t nlocal, size_t send_idx,
    const uint8_t (*held)[16], size_t nheld, size_t *parent, size_t *clones,
    size_t max_clones, size_t *nclones)
{
	const struct snap_info *cur = &local[send_idx];
	size_t i, best = nlocal;

	*nclones = 0;
	for (i = 0; i < nlocal; i++) {
		if (i == send_idx || snap_info_cmp(&local[i], cur) >= 0)
			continue;
		if (!snap_is_held(&local[i], held, nheld))
			continue;
		if (best == nlocal || snap_info_cmp(&local[i], &local[best]) > 0)
			best = i;
	}
	if (best == nlocal)
		return 0;
	*parent = best;
	/* Clone sources: the other common ones, newest first. */
	while (*nclones < max_clones) {
		size_t next = nlocal;

		for (i = 0; i < nlocal; i++) {
			if (i == best || i == send_idx ||
			    snap_info_cmp(&local[i], cur) >= 0 ||
			    !snap_is_held(&local[i], held, nheld))
				continue;
			if (*nclones > 0 &&
			    snap_info_cmp(&local[i], &local[clones[*nclones - 1]]) >= 0)
				continue;
			if (next == nlocal ||
			    snap_info_cmp(&local[i], &local[next]) > 0)
				next = i;
		}
		if (next == nlocal)
			break;
		clones[(*nclones)++] = next;
	}
	return 1;
}

void
snap_pin_held(const struct snap_info *local, size_t nlocal,
    const uint8_t (*held)[16], size_t nheld, int *pinned)
{
	size_t i, best = nlocal;

	for (i = 0; i < nlocal; i++) {
		if (!snap_is_held(&local[i], held, nheld))
			continue;
		if (best == nlocal || snap_info_cmp(&local[i], &local[best]) > 0)
			best = i;
	}
	if (best < nlocal)
		pinned[best] = 1;
}
