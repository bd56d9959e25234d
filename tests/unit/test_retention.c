/* Retention rules (docs/retention.md). Times are built with timegm and
 * ISO weeks checked against strftime("%G-%V"), independent of the code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "engine/retention.h"

static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	    .tm_hour = h, .tm_min = mi, .tm_sec = s };

	return (int64_t)timegm(&tm);
}

static void
apply(const struct retention_policy *p, int64_t now,
    struct retention_item *it, const int64_t *times, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		it[i].time = times[i];
		it[i].pinned = 0;
	}
	retention_apply(p, now, it, n);
}

static void
test_empty_policy_keeps_all(void **state)
{
	struct retention_policy p = { 0 };
	struct retention_item it[3];
	int64_t t[3] = { 1000, 2000000, 3000000 };
	size_t i;

	(void)state;
	assert_true(retention_policy_empty(&p));
	apply(&p, 4000000000, it, t, 3);
	for (i = 0; i < 3; i++)
		assert_true(it[i].keep & RET_KEEP_NOPOLICY);
}

static void
test_hourly_newest_of_each_hour(void **state)
{
	struct retention_policy p = { .hourly = 3 };
	struct retention_item it[15];
	int64_t t[15], base = utc(2026, 3, 1, 10, 0, 0);
	size_t i;

	(void)state;
	/* Every 20 minutes from 10:00 to 14:40: hours 10..14, three each. */
	for (i = 0; i < 15; i++)
		t[i] = base + (int64_t)i * 1200;
	apply(&p, base + 5 * 3600, it, t, 15);
	for (i = 0; i < 15; i++) {
		/* The newest of hours 12, 13, 14 are at xx:40: i = 8, 11, 14. */
		int want = (i == 8 || i == 11 || i == 14);

		assert_int_equal(!!(it[i].keep & RET_KEEP_HOURLY), want);
		assert_int_equal(it[i].keep != 0, want);
	}
	assert_true(it[14].keep & RET_KEEP_NEWEST);
}

static void
test_day_boundary(void **state)
{
	struct retention_policy p = { .daily = 1 };
	struct retention_item it[2];
	int64_t t[2] = { utc(2026, 5, 1, 23, 59, 59), utc(2026, 5, 2, 0, 0, 0) };

	(void)state;
	apply(&p, t[1] + 10, it, t, 2);
	assert_int_equal(it[0].keep, 0);
	assert_true(it[1].keep & RET_KEEP_DAILY);
	p.daily = 2;
	apply(&p, t[1] + 10, it, t, 2);
	assert_true(it[0].keep & RET_KEEP_DAILY);
}

static void
test_iso_week_key_matches_strftime(void **state)
{
	int64_t t, prev_key = 0;
	char cur[16], prev[16] = "";
	struct tm tm;
	time_t tt;

	(void)state;
	/* Every 7 hours from 1999 to 2031 crosses many year ends. */
	for (t = utc(1999, 1, 1, 0, 0, 0); t < utc(2031, 1, 1, 0, 0, 0);
	    t += 7 * 3600 + 13) {
		int64_t key = retention_period_key(RET_WEEK, t);

		tt = (time_t)t;
		gmtime_r(&tt, &tm);
		strftime(cur, sizeof(cur), "%G-%V", &tm);
		if (prev[0] != '\0') {
			assert_int_equal(strcmp(cur, prev) == 0, key == prev_key);
			assert_true(key >= prev_key);
		}
		memcpy(prev, cur, sizeof(prev));
		prev_key = key;
	}
}

static void
test_iso_week_across_year_end(void **state)
{
	struct retention_policy p = { .weekly = 1 };
	struct retention_item it[3];
	/* 2020-12-31 Thu and 2021-01-03 Sun are both 2020-W53. */
	int64_t t[3] = { utc(2020, 12, 28, 0, 0, 0), utc(2020, 12, 31, 12, 0, 0),
	    utc(2021, 1, 3, 23, 59, 59) };

	(void)state;
	assert_int_equal(retention_period_key(RET_WEEK, t[0]),
	    retention_period_key(RET_WEEK, t[2]));
	assert_int_not_equal(retention_period_key(RET_WEEK, t[2]),
	    retention_period_key(RET_WEEK, utc(2021, 1, 4, 0, 0, 0)));
	assert_int_not_equal(retention_period_key(RET_WEEK, t[0]),
	    retention_period_key(RET_WEEK, t[0] - 1));
	apply(&p, t[2] + 86400 * 30, it, t, 3);
	assert_int_equal(it[0].keep, 0);
	assert_int_equal(it[1].keep, 0);
	assert_true(it[2].keep & RET_KEEP_WEEKLY);
}

static void
test_months_and_years(void **state)
{
	struct retention_policy p = { .monthly = 2, .yearly = 2 };
	struct retention_item it[6];
	int64_t t[6] = {
		utc(2024, 12, 31, 23, 59, 59),  /* year 2024 newest */
		utc(2025, 1, 1, 0, 0, 0),
		utc(2025, 1, 31, 23, 59, 59),   /* Jan newest */
		utc(2025, 2, 1, 0, 0, 0),
		utc(2025, 2, 28, 23, 59, 59),   /* Feb newest, year 2025 newest */
		utc(2024, 6, 1, 0, 0, 0),
	};

	(void)state;
	apply(&p, utc(2025, 6, 1, 0, 0, 0), it, t, 6);
	assert_int_equal(it[0].keep, RET_KEEP_YEARLY);
	assert_int_equal(it[1].keep, 0);
	assert_int_equal(it[2].keep, RET_KEEP_MONTHLY);
	assert_int_equal(it[3].keep, 0);
	assert_int_equal(it[4].keep,
	    RET_KEEP_MONTHLY | RET_KEEP_YEARLY | RET_KEEP_NEWEST);
	assert_int_equal(it[5].keep, 0);
}

static void
test_min_age_boundary(void **state)
{
	struct retention_policy p = { .min_age = 3600 };
	struct retention_item it[4];
	int64_t now = utc(2026, 1, 1, 12, 0, 0);
	int64_t t[4] = { now - 3601, now - 3600, now - 3599, now + 60 };

	(void)state;
	assert_false(retention_policy_empty(&p));
	apply(&p, now, it, t, 4);
	assert_int_equal(it[0].keep, 0);
	assert_int_equal(it[1].keep, 0);       /* exactly min-age old: not young */
	assert_int_equal(it[2].keep, RET_KEEP_YOUNG);
	assert_int_equal(it[3].keep, RET_KEEP_YOUNG | RET_KEEP_NEWEST);
}

static void
test_pinned_never_deleted(void **state)
{
	struct retention_policy p = { .daily = 1 };
	struct retention_item it[3];
	int64_t t[3] = { utc(2026, 1, 1, 1, 0, 0), utc(2026, 1, 1, 2, 0, 0),
	    utc(2026, 1, 1, 3, 0, 0) };

	(void)state;
	apply(&p, t[2] + 86400 * 100, it, t, 3);
	assert_int_equal(it[0].keep, 0);
	it[0].pinned = 1;
	retention_apply(&p, t[2] + 86400 * 100, it, 3);
	assert_int_equal(it[0].keep, RET_KEEP_PINNED);
	assert_int_equal(it[1].keep, 0);
}

static void
test_periods_without_snapshots_do_not_count(void **state)
{
	struct retention_policy p = { .daily = 3 };
	struct retention_item it[4];
	int64_t now = utc(2026, 7, 1, 0, 0, 0);
	int64_t t[4] = { now - 40 * 86400, now - 30 * 86400, now - 20 * 86400,
	    now - 10 * 86400 };

	(void)state;
	apply(&p, now, it, t, 4);
	assert_int_equal(it[0].keep, 0);
	assert_true(it[1].keep & RET_KEEP_DAILY);
	assert_true(it[2].keep & RET_KEEP_DAILY);
	assert_true(it[3].keep & RET_KEEP_DAILY);
}

static void
test_newest_kept_and_input_order_free(void **state)
{
	struct retention_policy p = { .min_age = 60 };
	struct retention_item it[3];
	int64_t t[3] = { 5000, 9000, 7000 };

	(void)state;
	apply(&p, 100000, it, t, 3);
	assert_int_equal(it[0].keep, 0);
	assert_int_equal(it[1].keep, RET_KEEP_NEWEST);
	assert_int_equal(it[2].keep, 0);
	retention_apply(&p, 100000, it, 0);    /* n == 0 is a no-op */
}

static void
test_hour_key_negative_time(void **state)
{
	(void)state;
	assert_int_equal(retention_period_key(RET_HOUR, -1), -1);
	assert_int_equal(retention_period_key(RET_HOUR, 0), 0);
	assert_int_equal(retention_period_key(RET_DAY, -86400), -1);
	assert_int_equal(retention_period_key(RET_DAY, 86399), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_policy_keeps_all),
		cmocka_unit_test(test_hourly_newest_of_each_hour),
		cmocka_unit_test(test_day_boundary),
		cmocka_unit_test(test_iso_week_key_matches_strftime),
		cmocka_unit_test(test_iso_week_across_year_end),
		cmocka_unit_test(test_months_and_years),
		cmocka_unit_test(test_min_age_boundary),
		cmocka_unit_test(test_pinned_never_deleted),
		cmocka_unit_test(test_periods_without_snapshots_do_not_count),
		cmocka_unit_test(test_newest_kept_and_input_order_free),
		cmocka_unit_test(test_hour_key_negative_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
