/*
 * btrsendctl's admin output (daemon/ctl_admin_fmt.c): sizes, durations,
 * percent and ETA arithmetic, JSON string escaping, and the 80-column
 * bound of every human line, progress bars at extreme values included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/ctl/ctl_admin.h"
#include "proto/base/fmt.h"

static void
test_sizes_and_durations(void **state)
{
	char b[32];

	(void)state;
	fmt_size(b, sizeof(b), 0, FMT_SIZE_SHORT);
	assert_string_equal(b, "0B");
	fmt_size(b, sizeof(b), 1023, FMT_SIZE_SHORT);
	assert_string_equal(b, "1023B");
	fmt_size(b, sizeof(b), 1536, FMT_SIZE_SHORT);
	assert_string_equal(b, "1.5K");
	fmt_size(b, sizeof(b), 5ull << 30, FMT_SIZE_SHORT);
	assert_string_equal(b, "5.0G");
	fmt_size(b, sizeof(b), UINT64_MAX, FMT_SIZE_SHORT);
	assert_string_equal(b, "16.0E");
	admin_duration(b, sizeof(b), 59);
	assert_string_equal(b, "59s");
	admin_duration(b, sizeof(b), 61);
	assert_string_equal(b, "1m01s");
	admin_duration(b, sizeof(b), 3 * 3600 + 5 * 60);
	assert_string_equal(b, "3h05m");
	admin_duration(b, sizeof(b), 5 * 86400 + 2 * 3600);
	assert_string_equal(b, "5d02h");
	admin_duration(b, sizeof(b), INT64_MAX);
	assert_string_equal(b, ">999d");
	admin_duration(b, sizeof(b), -1);
	assert_string_equal(b, "-");
}

static void
test_percent_and_eta(void **state)
{
	struct ctl_live l = { .done = 250, .total = 1000, .rate = 100 };

	(void)state;
	assert_int_equal(admin_percent(&l), 25);
	/* 750 bytes left at 100/s: 7.5 s, shown as 8 (never too early). */
	assert_int_equal(admin_eta(&l), 8);
	l.rate = 0;
	assert_int_equal(admin_eta(&l), -1);
	l.total = 0;
	assert_int_equal(admin_percent(&l), -1);
	/* A total that proves too small is 100%, not more. */
	l.total = 100;
	l.rate = 5;
	assert_int_equal(admin_percent(&l), 100);
	assert_int_equal(admin_eta(&l), 0);
	/* No overflow at the top of the range. */
	l.done = UINT64_MAX / 2;
	l.total = UINT64_MAX;
	assert_int_equal(admin_percent(&l), 49);
}

static char *
capture(void (*fn)(FILE *, const void *), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, arg);
	fclose(f);
	return buf;
}

static void
str_fn(FILE *f, const void *s)
{
	struct json j;

	json_start(&j, f);
	json_string(&j, NULL, s);
}

static void
test_json_escaping(void **state)
{
	char *out;

	(void)state;
	out = capture(str_fn, "a\"b\\c\nd\te\001f\x7fg\xc3\xa9");
	/* RFC 8259: quote, backslash and controls escaped; UTF-8 as is. */
	assert_string_equal(out,
	    "\"a\\\"b\\\\c\\nd\\u0009e\\u0001f\\u007fg\xc3\xa9\"");
	free(out);
}

static void
progress_fn(FILE *f, const void *l)
{
	admin_progress(f, l);
}

/* Columns of a line, escapes not counted. */
static size_t
columns(const char *s)
{
	size_t n = 0;

	while (*s != '\0' && *s != '\n') {
		if (*s == '\033') {
			s += strcspn(s, "m") + 1;
			continue;
		}
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
		s++;
	}
	return n;
}

static void
test_progress_fits_80_columns(void **state)
{
	struct ctl_live l = {
		.done = UINT64_MAX / 3, .total = UINT64_MAX, .rate = 1,
		.total_src = TOTAL_PREVIOUS,
	};
	struct ctl_live u = { .done = 12345, .total_src = TOTAL_UNKNOWN };
	struct ctl_live h = {
		.done = 1 << 20, .total = 4 << 20, .rate = 1 << 20,
		.total_src = TOTAL_ESTIMATE,
	};
	char *out;

	(void)state;
	out = capture(progress_fn, &l);
	assert_true(columns(out) <= 80);
	assert_non_null(strstr(out, "(previous run)"));
	assert_non_null(strstr(out, "ETA >999d"));
	free(out);
	out = capture(progress_fn, &u);
	assert_true(columns(out) <= 80);
	assert_non_null(strstr(out, "?%"));
	assert_non_null(strstr(out, "(total unknown)"));
	free(out);
	out = capture(progress_fn, &h);
	assert_string_equal(out, "  [###.........]  25%  1.0M/4.0M  1.0M/s  "
	    "ETA 3s  (estimate)\n");
	free(out);
}

static void
test_fit_keeps_escapes_and_resets(void **state)
{
	char src[300], dst[400];
	size_t cols;

	(void)state;
	memset(src, 'x', 200);
	src[200] = '\0';
	assert_int_equal(admin_fit(dst, sizeof(dst), src, 80), 80);
	assert_int_equal(strlen(dst), 80);
	/* A colour open at the cut is reset; escapes take no column. */
	snprintf(src, sizeof(src), "ab\033[31m%0100d", 0);
	cols = admin_fit(dst, sizeof(dst), src, 10);
	assert_int_equal(cols, 10);
	assert_string_equal(dst, "ab\033[31m00000000\033[0m");
	/* A short line is untouched. */
	snprintf(src, sizeof(src), "\033[32mok\033[0m done");
	admin_fit(dst, sizeof(dst), src, 80);
	assert_string_equal(dst, src);
	/* Multibyte characters count once. */
	admin_fit(dst, sizeof(dst), "\xc3\xa9\xc3\xa9\xc3\xa9", 2);
	assert_string_equal(dst, "\xc3\xa9\xc3\xa9");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_and_durations),
		cmocka_unit_test(test_percent_and_eta),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_progress_fits_80_columns),
		cmocka_unit_test(test_fit_keeps_escapes_and_resets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
