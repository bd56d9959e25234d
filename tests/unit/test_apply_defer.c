/*
 * The records of a partial's flags file (engine/apply_defer.c): what the
 * check accepts on resume and where it stops.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/fs.h>
#include <stdint.h>
#include <string.h>

#include "engine/apply.h"
#include "proto/stream/stream.h"

#define REC APPLY_DEFER_REC

static void
put(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
rec(uint8_t *b, uint64_t index, uint64_t ino, uint32_t gen, uint32_t flags)
{
	put(b, index, 8);
	put(b + 8, ino, 8);
	put(b + 16, gen, 4);
	put(b + 20, flags, 4);
	memcpy(b + 24, "BSF1", 4);
	put(b + 28, stream_crc32c(0, b, 28), 4);
}

static size_t
check(const uint8_t *b, size_t len, uint64_t limit, const char **why)
{
	uint64_t prev = 0;

	return apply_defer_check(b, len, &prev, limit, why);
}

static void
test_valid(void **state)
{
	uint8_t b[3 * REC];
	const char *why;
	uint64_t prev = 0;

	(void)state;
	rec(b, 4, 256, 1, FS_IMMUTABLE_FL);
	rec(b + REC, 4, 300, 9, FS_APPEND_FL | FS_NOATIME_FL);
	rec(b + 2 * REC, 7, 301, 9, FS_IMMUTABLE_FL | FS_APPEND_FL);
	assert_int_equal(apply_defer_check(b, sizeof(b), &prev, 8, &why),
	    sizeof(b));
	assert_null(why);
	assert_int_equal(prev, 7);
	assert_int_equal(check(b, 0, 8, &why), 0);
	assert_null(why);
}

/* Records of commands at or after the resume point end the prefix. */
static void
test_limit(void **state)
{
	uint8_t b[2 * REC];
	const char *why;

	(void)state;
	rec(b, 4, 300, 1, FS_IMMUTABLE_FL);
	rec(b + REC, 7, 301, 1, FS_IMMUTABLE_FL);
	assert_int_equal(check(b, sizeof(b), 7, &why), REC);
	assert_non_null(why);
	assert_int_equal(check(b, sizeof(b), 4, &why), 0);
}

static void
test_refused(void **state)
{
	uint8_t b[2 * REC];
	const char *why;

	(void)state;
	rec(b, 4, 300, 1, FS_IMMUTABLE_FL);
	rec(b + REC, 3, 301, 1, FS_IMMUTABLE_FL);       /* goes back */
	assert_int_equal(check(b, sizeof(b), 100, &why), REC);
	assert_non_null(strstr(why, "back"));
	rec(b + REC, 5, 255, 1, FS_IMMUTABLE_FL);       /* below the root */
	assert_int_equal(check(b, sizeof(b), 100, &why), REC);
	rec(b + REC, 5, 301, 1, FS_NOATIME_FL);         /* nothing blocking */
	assert_int_equal(check(b, sizeof(b), 100, &why), REC);
	rec(b + REC, 5, 301, 1, FS_IMMUTABLE_FL | 0x80000000u);
	assert_int_equal(check(b, sizeof(b), 100, &why), REC);
	rec(b + REC, 5, 301, 1, FS_IMMUTABLE_FL);
	b[REC + 9] ^= 1;                                /* checksum */
	assert_int_equal(check(b, sizeof(b), 100, &why), REC);
	assert_non_null(strstr(why, "checksum"));
	rec(b + REC, 5, 301, 1, FS_IMMUTABLE_FL);
	b[REC + 24] = 'X';                              /* magic */
	assert_int_equal(check(b, sizeof(b), 100, &why), REC);
	assert_int_equal(check(b, REC + 5, 100, &why), REC);    /* torn */
	assert_non_null(strstr(why, "short"));
	memset(b, 0, sizeof(b));                        /* zeros */
	assert_int_equal(check(b, sizeof(b), 100, &why), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
