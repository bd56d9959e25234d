/*
 * btrsendctl admin output: sizes, times, progress bars (80 columns,
 * colour only on a terminal without NO_COLOR) and the JSON pieces shared
 * by status, history, snapshots and monitor (docs/control.md).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/ctl/ctl_admin.h"

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

/* At most 7 characters: "1023.9G". */
void
admin_size(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u < sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 "B", bytes);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
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
	admin_size(done, sizeof(done), l->done);
	admin_size(total, sizeof(total), l->total);
	admin_size(rate, sizeof(rate), l->rate);
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
json_str(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Seconds since the epoch, or null for "never". */
void
json_time(FILE *f, int64_t t)
{
	if (t == 0)
		fputs("null", f);
	else
		fprintf(f, "%lld", (long long)t);
}

/* ,"key":value -- a member after the first. */
void
json_field_str(FILE *f, const char *key, const char *s)
{
	fprintf(f, ",\"%s\":", key);
	json_str(f, s);
}

void
json_field_time(FILE *f, const char *key, int64_t t)
{
	fprintf(f, ",\"%s\":", key);
	json_time(f, t);
}

void
json_live(FILE *f, const struct ctl_live *l)
{
	int pct = admin_percent(l);
	int64_t eta = admin_eta(l);

	fprintf(f, "{\"id\":%u,\"job\":", l->id);
	json_str(f, l->job);
	json_field_str(f, "phase", l->phase);
	json_field_str(f, "target", l->target);
	json_field_str(f, "snapshot", l->snapshot);
	json_field_time(f, "start", l->start);
	fprintf(f, ",\"bytes_done\":%" PRIu64 ",\"bytes_total\":", l->done);
	if (l->total)
		fprintf(f, "%" PRIu64, l->total);
	else
		fputs("null", f);
	fprintf(f, ",\"total_source\":\"%s\",\"rate\":%" PRIu64,
	    total_source_name(l->total_src), l->rate);
	if (pct < 0)
		fputs(",\"percent\":null", f);
	else
		fprintf(f, ",\"percent\":%d", pct);
	if (eta < 0)
		fputs(",\"eta\":null", f);
	else
		fprintf(f, ",\"eta\":%lld", (long long)eta);
	fprintf(f, ",\"resumed_at\":%" PRIu64 ",\"resumes\":%u}",
	    l->resumed_at, l->resumes);
}

void
json_run(FILE *f, const struct ctl_run *r)
{
	fprintf(f, "{\"id\":%u,\"job\":", r->id);
	json_str(f, r->job);
	json_field_str(f, "target", r->target);
	json_field_str(f, "snapshot", r->snapshot);
	json_field_str(f, "parent", r->parent);
	json_field_time(f, "start", r->start);
	json_field_time(f, "end", r->end);
	fprintf(f, ",\"duration\":%lld,\"result\":\"%s\",\"bytes\":%" PRIu64
	    ",\"resumes\":%u,\"error\":", (long long)(r->end >= r->start ?
	    r->end - r->start : 0), run_result_name(r->result), r->bytes,
	    r->resumes);
	json_str(f, r->error);
	fputc('}', f);
}

void
json_target(FILE *f, const struct ctl_target *t)
{
	fputs("{\"name\":", f);
	json_str(f, t->target);
	json_field_time(f, "start", t->start);
	json_field_time(f, "end", t->end);
	fprintf(f, ",\"result\":\"%s\",\"error\":", run_result_name(t->result));
	json_str(f, t->error);
	json_field_time(f, "last_success", t->last_success);
	json_field_time(f, "held_reported", t->held_when);
	if (t->held_when == 0)
		fputs(",\"held_count\":null}", f);
	else
		fprintf(f, ",\"held_count\":%u}", t->nheld);
}
