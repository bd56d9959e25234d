/*
 * The state file (see state.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/base/file.h"
#include "proto/base/log.h"
#include "daemon/state.h"

#define STATE_MAGIC "btrsend-state 1"

_Static_assert(SNAP_NAME_MAX == 255, "the %255s of state_parse_line");

struct state_entry *
state_get(struct state *st, const char *job, const char *target, int create)
{
	struct state_entry *e;
	size_t i;

	if (target == NULL)
		target = "";
	for (i = 0; i < st->n; i++) {
		e = &st->e[i];
		if (strcmp(e->job, job) == 0 && strcmp(e->target, target) == 0)
			return e;
	}
	if (!create || strlen(job) > SNAP_NAME_MAX ||
	    strlen(target) > SNAP_NAME_MAX)
		return NULL;
	st->e = xrealloc(st->e, (st->n + 1) * sizeof(*st->e));
	e = &st->e[st->n++];
	memset(e, 0, sizeof(*e));
	strcpy(e->job, job);
	strcpy(e->target, target);
	return e;
}

/* One line per entry: no newlines, and a bounded length. */
void
state_set_error(struct state_entry *e, const char *error)
{
	size_t i;

	snprintf(e->error, sizeof(e->error), "%s", error ? error : "");
	for (i = 0; e->error[i] != '\0'; i++)
		if (e->error[i] == '\n' || e->error[i] == '\r')
			e->error[i] = ' ';
}

static int
state_parse_line(struct state *st, char *line)
{
	char job[SNAP_NAME_MAX + 1], target[SNAP_NAME_MAX + 1], res[16];
	struct state_entry *e;
	enum run_result r;
	int64_t start, end;
	int off = 0;

	if (sscanf(line, "%255s %255s %" SCNd64 " %" SCNd64 " %15s %n", job,
	    target, &start, &end, res, &off) != 5 || off == 0)
		return -1;
	if (run_result_parse(res, &r) == -1 || start < 0 || end < 0)
		return -1;
	e = state_get(st, job, strcmp(target, "-") == 0 ? NULL : target, 1);
	if (e == NULL)
		return -1;
	e->start = start;
	e->end = end;
	e->result = r;
	line[strcspn(line, "\n")] = '\0';
	state_set_error(e, line + off);
	return 0;
}

int
state_load(const char *dir, struct state *st, char *err, size_t errlen)
{
	char path[4096], line[1024];
	unsigned lineno = 1;
	FILE *f;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL ||
	    strcmp(line, STATE_MAGIC "\n") != 0) {
		snprintf(err, errlen, "%s:1: not a btrsend state file "
		    "(expected \"%s\")", path, STATE_MAGIC);
		goto fail;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (state_parse_line(st, line) == -1) {
			snprintf(err, errlen, "%s:%u: malformed entry", path,
			    lineno);
			goto fail;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	state_free(st);
	return -1;
}

static void
state_write(FILE *f, const struct state *st)
{
	const struct state_entry *e;
	size_t i;

	fprintf(f, "%s\n", STATE_MAGIC);
	for (i = 0; i < st->n; i++) {
		e = &st->e[i];
		fprintf(f, "%s %s %" PRId64 " %" PRId64 " %s %s\n", e->job,
		    e->target[0] ? e->target : "-", e->start, e->end,
		    run_result_name(e->result), e->error);
	}
}

int
state_save(const char *dir, const struct state *st, char *err, size_t errlen)
{
	char tmp[64], *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rv = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", STATE_FILE, (long)getpid());
	if ((f = open_memstream(&buf, &len)) != NULL) {
		state_write(f, st);
		if (fclose(f) == 0)
			rv = file_replace(dir, STATE_FILE, tmp, 0640, buf, len);
	}
	if (rv == -1)
		snprintf(err, errlen, "%s/%s: %s", dir, STATE_FILE,
		    strerror(errno));
	free(buf);
	return rv;
}

void
state_free(struct state *st)
{
	free(st->e);
	memset(st, 0, sizeof(*st));
}
