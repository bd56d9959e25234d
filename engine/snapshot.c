#include <btrfsutil.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/snapshot.h"

#define SNAP_SEQ_MAX 999

int
snap_name_format(char *buf, size_t len, const char *job, int64_t t,
    unsigned seq)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char ts[SNAP_TS_LEN + 1];
	int n;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm) != SNAP_TS_LEN)
		return -1;
	if (seq > 1)
		n = snprintf(buf, len, "%s.%s.%u", job, ts, seq);
	else
		n = snprintf(buf, len, "%s.%s", job, ts);
	if (n < 0 || (size_t)n >= len || n > SNAP_NAME_MAX)
		return -1;
	return 0;
}

static int
snap_parse_digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

static int
snap_parse_ts(const char *s, int64_t *t)
{
	struct tm tm;
	int y, mo, d, h, mi, se;
	time_t tt;

	if (snap_parse_digits(s, 4, &y) || snap_parse_digits(s + 4, 2, &mo) ||
	    snap_parse_digits(s + 6, 2, &d) || s[8] != 'T' ||
	    snap_parse_digits(s + 9, 2, &h) || snap_parse_digits(s + 11, 2, &mi) ||
	    snap_parse_digits(s + 13, 2, &se) || s[15] != 'Z')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	tt = timegm(&tm);
	/* timegm normalizes 20260231 to March; such a name is not ours. */
	if (tt == (time_t)-1 || tm.tm_year != y - 1900 || tm.tm_mon != mo - 1 ||
	    tm.tm_mday != d || tm.tm_hour != h || tm.tm_min != mi ||
	    tm.tm_sec != se)
		return -1;
	*t = tt;
	return 0;
}

int
snap_name_parse(const char *name, const char *job, int64_t *t, unsigned *seq)
{
	size_t jl = strlen(job);
	const char *p;
	char *end;
	unsigned long v;

	if (jl == 0 || strncmp(name, job, jl) != 0 || name[jl] != '.')
		return -1;
	p = name + jl + 1;
	if (strlen(p) < SNAP_TS_LEN || snap_parse_ts(p, t) == -1)
		return -1;
	p += SNAP_TS_LEN;
	*seq = 1;
	if (*p == '\0')
		return 0;
	if (*p != '.' || p[1] < '1' || p[1] > '9')
		return -1;
	errno = 0;
	v = strtoul(p + 1, &end, 10);
	if (*end != '\0' || errno != 0 || v < 2 || v > SNAP_SEQ_MAX)
		return -1;
	*seq = (unsigned)v;
	return 0;
}

int
snap_info_cmp(const struct snap_info *a, const struct snap_info *b)
{
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

static void
snap_err(char *err, size_t errlen, const char *fmt, const char *a,
    const char *why)
{
	char what[512];

	snprintf(what, sizeof(what), fmt, a);
	snprintf(err, errlen, "%s: %s", what, why);
}

int
snapshot_create(const char *source, const char *dir, const char *job,
    int64_t now, char *name_out, size_t name_len, char *err, size_t errlen)
{
	enum btrfs_util_error e;
	char name[SNAP_NAME_MAX + 1], path[PATH_MAX];
	unsigned seq;

	for (seq = 1; seq <= SNAP_SEQ_MAX; seq++) {
		if (snap_name_format(name, sizeof(name), job, now, seq) == -1 ||
		    snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    (int)sizeof(path)) {
			snap_err(err, errlen, "job %s", job, "snapshot name too long");
			return -1;
		}
		/* The ioctl never replaces an existing name: EEXIST, next seq. */
		e = btrfs_util_create_snapshot(source, path,
		    BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY, NULL, NULL);
		if (e == BTRFS_UTIL_OK)
			break;
		if (errno != EEXIST) {
			snprintf(err, errlen, "snapshot of %s as %s: %s: %s", source,
			    path, btrfs_util_strerror(e), strerror(errno));
			return -1;
		}
	}
	if (seq > SNAP_SEQ_MAX) {
		snap_err(err, errlen, "job %s", job,
		    "too many snapshots in the same second");
		return -1;
	}
	if (strlen(name) >= name_len) {
		snap_err(err, errlen, "job %s", job, "name buffer too small");
		return -1;
	}
	strcpy(name_out, name);
	return 0;
}

int
snapshot_info(const char *path, struct snap_info *info, char *err,
    size_t errlen)
{
	struct btrfs_util_subvolume_info si;
	enum btrfs_util_error e;
	bool ro;

	e = btrfs_util_subvolume_info(path, 0, &si);
	if (e == BTRFS_UTIL_OK)
		e = btrfs_util_get_subvolume_read_only(path, &ro);
	if (e != BTRFS_UTIL_OK) {
		snprintf(err, errlen, "%s: %s%s%s", path, btrfs_util_strerror(e),
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	info->id = si.id;
	memcpy(info->uuid, si.uuid, 16);
	memcpy(info->parent_uuid, si.parent_uuid, 16);
	memcpy(info->received_uuid, si.received_uuid, 16);
	info->ctransid = si.ctransid;
	info->otransid = si.otransid;
	info->generation = si.generation;
	info->stransid = si.stransid;
	info->rtransid = si.rtransid;
	info->otime = si.otime;
	info->read_only = ro;
	return 0;
}

static int
snap_qsort_cmp(const void *a, const void *b)
{
	return snap_info_cmp(a, b);
}

int
snapshot_list(const char *dir, const char *job, struct snap_info **out,
    size_t *n, char *err, size_t errlen)
{
	struct snap_info *v = NULL, *nv, s;
	struct dirent *de;
	char path[PATH_MAX];
	size_t cap = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		snap_err(err, errlen, "snapshot directory %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		memset(&s, 0, sizeof(s));
		if (snap_name_parse(de->d_name, job, &s.time, &s.seq) == -1)
			continue;
		snprintf(s.name, sizeof(s.name), "%s", de->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (snapshot_info(path, &s, err, errlen) == -1)
			goto fail;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				snap_err(err, errlen, "%s", dir, strerror(ENOMEM));
				goto fail;
			}
			v = nv;
		}
		v[(*n)++] = s;
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), snap_qsort_cmp);
	*out = v;
	return 0;
fail:
	closedir(d);
	free(v);
	*n = 0;
	return -1;
}

int
snapshot_delete(const char *dir, const char *name, int wait, char *err,
    size_t errlen)
{
	enum btrfs_util_error e;
	char path[PATH_MAX];

	if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0) {
		snap_err(err, errlen, "snapshot name %s", name, "not a plain name");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	e = btrfs_util_delete_subvolume(path, 0);
	if (e == BTRFS_UTIL_OK && wait)
		e = btrfs_util_sync(dir);
	if (e != BTRFS_UTIL_OK) {
		snprintf(err, errlen, "delete %s: %s: %s", path,
		    btrfs_util_strerror(e), strerror(errno));
		return -1;
	}
	return 0;
}
