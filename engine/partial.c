/*
 * The names of a partial (see partial.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "engine/partial.h"
#include "engine/snapshot.h"

#define STAGING_PREFIX	".btrsend-partial."
#define CKPT_PREFIX	".btrsend-ckpt."	/* + slot + "." + name */

/* Indexed by enum partial_part, for the files beside the staging one. */
static const char *const partial_suffix[] = {
	"", ".state", ".progress", ".flags",
};

int
partial_name(const char *name, enum partial_part part,
    char out[NAME_MAX + 1])
{
	int n;

	if (part == PARTIAL_CKPT0 || part == PARTIAL_CKPT1)
		n = snprintf(out, NAME_MAX + 1, "%s%d.%s", CKPT_PREFIX,
		    part == PARTIAL_CKPT1, name);
	else
		n = snprintf(out, NAME_MAX + 1, "%s%s%s", STAGING_PREFIX, name,
		    partial_suffix[part]);
	return n < 0 || n > NAME_MAX ? -1 : 0;
}

int
partial_owner(const char *ent, char name[NAME_MAX + 1])
{
	const size_t cl = sizeof(CKPT_PREFIX) - 1;
	int part, i;
	size_t len, sl;

	if (strncmp(ent, STAGING_PREFIX, sizeof(STAGING_PREFIX) - 1) == 0) {
		ent += sizeof(STAGING_PREFIX) - 1;
		part = PARTIAL_STAGING;
	} else if (strncmp(ent, CKPT_PREFIX, cl) == 0 &&
	    (ent[cl] == '0' || ent[cl] == '1') && ent[cl + 1] == '.') {
		part = ent[cl] == '0' ? PARTIAL_CKPT0 : PARTIAL_CKPT1;
		ent += cl + 2;
	} else
		return -1;
	len = strlen(ent);
	for (i = PARTIAL_STATE; i <= PARTIAL_FLAGS; i++) {
		sl = strlen(partial_suffix[i]);
		if (len > sl && strcmp(ent + len - sl, partial_suffix[i]) == 0) {
			len -= sl;
			if (part == PARTIAL_STAGING)
				part = i;
			break;
		}
	}
	if (len == 0 || len > NAME_MAX)
		return -1;
	memcpy(name, ent, len);
	name[len] = '\0';
	return part;
}

bool
partial_stale(const char *ent, const char *job, const char *done,
    char name[NAME_MAX + 1])
{
	struct snap_info d, s;

	memset(&d, 0, sizeof(d));
	memset(&s, 0, sizeof(s));
	return snap_name_parse(done, job, &d.time, &d.seq) == 0 &&
	    partial_owner(ent, name) != -1 &&
	    snap_name_parse(name, job, &s.time, &s.seq) == 0 &&
	    snap_info_cmp(&s, &d) < 0;
}

int
partial_list_stale(int dirfd, const char *job, const char *done,
    char (**names)[NAME_MAX + 1], size_t *n)
{
	struct dirent *de;
	char name[NAME_MAX + 1];
	size_t cap = 0, i;
	DIR *d;
	int fd;

	*names = NULL;
	*n = 0;
	if ((fd = dup(dirfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!partial_stale(de->d_name, job, done, name))
			continue;
		for (i = 0; i < *n && strcmp((*names)[i], name) != 0; i++)
			;
		if (i < *n)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*names = xrealloc(*names, cap * sizeof(**names));
		}
		memcpy((*names)[(*n)++], name, sizeof(name));
	}
	closedir(d);
	return 0;
}
