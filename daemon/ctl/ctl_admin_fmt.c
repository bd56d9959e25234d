/*
 * btrsendctl admin output: times, durations, progress bars (80 columns,
 * colour only on a terminal without NO_COLOR) and the JSON pieces shared
 * by status, history, snapshots and monitor (docs/control.md).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/ctl/ctl.h"
#include "daemon/ctl/ctl_admin.h"
#include "proto/base/fmt.h"
#include "proto/base/log.h"

#define BAR_WIDTH	12

int
admin_colour(void)
{
	static int c = -1;

	if (c == -1)
		c = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	return c;
}

/* The escape that starts a result's colour; "" without colour. */
const char *
admin_result_colour(uint8_t result)
{
	if (!admin_colour())
		return "";
	switch (result) {
	case RUN_OK:
		return "\033[32m";
	case RUN_RETRY:
	case RUN_RUNNING:
		return "\033[33m";
	case RUN_FAILED:
		return "\033[31m";
	}
	return "";
}

/* 19 characters in the local zone, or "-" for 0. */
void
admin_time(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || localtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* At most 7 characters: "999d23h". */
void
admin_duration(char *buf, size_t len, int64_t s)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s >= 1000 * 86400)
		snprintf(buf, len, ">999d");
	else if (s >= 100 * 3600)
		snprintf(buf, len, "%lldd%02lldh", (long long)(s / 86400),
		    (long long)(s / 3600 % 24));
	else if (s < 60)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", (long long)(s / 60),
		    (long long)(s % 60));
	else
		snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600),
		    (long long)(s / 60 % 60));
}

int
admin_percent(const struct ctl_live *l)
{
	if (l->total == 0)
		return -1;
	if (l->done >= l->total)
		return 100;
	return (int)((unsigned __int128)l->done * 100 / l->total);
}

int64_t
admin_eta(const struct ctl_live *l)
{
	uint64_t left, secs;

	if (l->total == 0 || l->rate == 0)
		return -1;
	if (l->done >= l->total)
		return 0;
	left = l->total - l->done;
	secs = left / l->rate + (left % l->rate != 0);
	return secs > INT64_MAX ? INT64_MAX : (int64_t)secs;
}

static const char *
total_word(uint8_t src)
{
	switch (src) {
	case TOTAL_ESTIMATE:
		return "(estimate)";
	case TOTAL_PREVIOUS:
		return "(previous run)";
	}
	return "(total unknown)";
}

size_t
admin_fit(char *dst, size_t len, const char *src, size_t columns)
{
	size_t used = 0, cols = 0, n;
	int coloured = 0;

	while (*src != '\0' && used + 1 < len) {
		if (*src == '\033') {
			/* An escape sequence takes no column: copy it whole. */
			n = strcspn(src, "m") + 1;
			if (src[n - 1] != 'm' || used + n + 1 >= len)
				break;
			coloured = strncmp(src, "\033[0m", n) != 0;
			memcpy(dst + used, src, n);
			used += n;
			src += n;
			continue;
		}
		/* UTF-8 continuation bytes share their character's column. */
		if (((unsigned char)*src & 0xc0) != 0x80) {
			if (cols == columns)
				break;
			cols++;
		}
		dst[used++] = *src++;
	}
	if (coloured && used + 5 < len) {
		memcpy(dst + used, "\033[0m", 4);
		used += 4;
	}
	dst[used] = '\0';
	return cols;
}

void
admin_line(const char *fmt, ...)
{
	char buf[1024], out[1024];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	admin_fit(out, sizeof(out), buf, ADMIN_COLUMNS);
	n = strlen(out);
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
	printf("%s\n", out);
}

/* "  [###.........]  25%  1.2G/4.8G  34.0M/s  ETA 1m45s  (estimate)" */
void
admin_progress(FILE *f, const struct ctl_live *l)
{
	char bar[BAR_WIDTH + 1], done[16], total[16], rate[16], eta[16];
	char pcts[16], line[256], out[256];
	int pct = admin_percent(l), fill, i;
	int64_t e = admin_eta(l);

	fill = pct < 0 ? 0 : pct * BAR_WIDTH / 100;
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	fmt_size(done, sizeof(done), l->done, FMT_SIZE_SHORT);
	fmt_size(total, sizeof(total), l->total, FMT_SIZE_SHORT);
	fmt_size(rate, sizeof(rate), l->rate, FMT_SIZE_SHORT);
	admin_duration(eta, sizeof(eta), e);
	if (pct < 0)
		snprintf(pcts, sizeof(pcts), "   ?%%");
	else
		snprintf(pcts, sizeof(pcts), "%3d%%", pct);
	snprintf(line, sizeof(line), "  [%s%s%s] %s  %s/%s  %s/s  ETA %s  %s",
	    admin_colour() ? "\033[36m" : "", bar,
	    admin_colour() ? "\033[0m" : "", pcts, done,
	    l->total ? total : "?", rate, eta, total_word(l->total_src));
	admin_fit(out, sizeof(out), line, ADMIN_COLUMNS);
	fprintf(f, "%s\n", out);
}

void
admin_json_time(struct json *j, const char *name, int64_t t)
{
	if (t == 0)
		json_null(j, name);
	else
		json_int(j, name, t);
}

void
admin_json_live(struct json *j, const char *name, const struct ctl_live *l)
{
	int pct = admin_percent(l);
	int64_t eta = admin_eta(l);

	json_object(j, name);
	json_uint(j, "id", l->id);
	json_string(j, "job", l->job);
	json_string(j, "phase", l->phase);
	json_string(j, "target", l->target);
	json_string(j, "snapshot", l->snapshot);
	admin_json_time(j, "start", l->start);
	json_uint(j, "bytes_done", l->done);
	if (l->total)
		json_uint(j, "bytes_total", l->total);
	else
		json_null(j, "bytes_total");
	json_string(j, "total_source", total_source_name(l->total_src));
	json_uint(j, "rate", l->rate);
	if (pct < 0)
		json_null(j, "percent");
	else
		json_int(j, "percent", pct);
	if (eta < 0)
		json_null(j, "eta");
	else
		json_int(j, "eta", eta);
	json_uint(j, "resumed_at", l->resumed_at);
	json_uint(j, "resumes", l->resumes);
	json_end(j);
}

void
admin_json_run(struct json *j, const char *name, const struct ctl_run *r)
{
	json_object(j, name);
	json_uint(j, "id", r->id);
	json_string(j, "job", r->job);
	json_string(j, "target", r->target);
	json_string(j, "snapshot", r->snapshot);
	json_string(j, "parent", r->parent);
	admin_json_time(j, "start", r->start);
	admin_json_time(j, "end", r->end);
	json_int(j, "duration", r->end >= r->start ? r->end - r->start : 0);
	json_string(j, "result", run_result_name(r->result));
	json_uint(j, "bytes", r->bytes);
	json_uint(j, "resumes", r->resumes);
	json_string(j, "error", r->error);
	json_end(j);
}

void
admin_json_target(struct json *j, const struct ctl_target *t)
{
	json_object(j, NULL);
	json_string(j, "name", t->target);
	admin_json_time(j, "start", t->start);
	admin_json_time(j, "end", t->end);
	json_string(j, "result", run_result_name(t->result));
	json_string(j, "error", t->error);
	admin_json_time(j, "last_success", t->last_success);
	admin_json_time(j, "held_reported", t->held_when);
	if (t->held_when == 0)
		json_null(j, "held_count");
	else
		json_uint(j, "held_count", t->nheld);
	json_end(j);
}

void
admin_json_recv(struct json *j, const struct ctl_recv *r)
{
	json_object(j, NULL);
	json_string(j, "client", r->client);
	json_string(j, "job", r->job);
	if (r->last[0] == '\0')
		json_null(j, "last");
	else
		json_string(j, "last", r->last);
	admin_json_time(j, "last_time", r->last_time);
	json_uint(j, "snapshots", r->snapshots);
	json_uint(j, "partials", r->partials);
	admin_json_time(j, "oldest_partial_time", r->partial_oldest);
	json_uint(j, "stale_after", r->stale_after);
	json_bool(j, "stale", r->stale);
	admin_json_time(j, "scanned", r->scanned);
	json_end(j);
}

int
admin_json_finish(struct json *j)
{
	if (json_finish(j) == 0)
		return CTL_OK;
	log_warn("writing JSON to standard output");
	return CTL_FAILED;
}
