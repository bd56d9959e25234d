/*
 * The names of a partial (engine/partial.c): what they are on disk,
 * which partial an entry belongs to, and which partials are stale once a
 * snapshot is complete.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine/partial.h"
#include "engine/snapshot.h"

static bool
stale(const char *ent, const char *done, char *name)
{
	return partial_stale(ent, "home", done, name);
}

/*
 * Every file of the partial of snapshot n, as the apply engine names them
 * on disk (a format: spelled out, not taken from partial_name).
 */
static void
partial_files(const char *n, char ents[6][300])
{
	snprintf(ents[0], 300, ".btrsend-partial.%s", n);
	snprintf(ents[1], 300, ".btrsend-partial.%s.state", n);
	snprintf(ents[2], 300, ".btrsend-partial.%s.progress", n);
	snprintf(ents[3], 300, ".btrsend-partial.%s.flags", n);
	snprintf(ents[4], 300, ".btrsend-ckpt.0.%s", n);
	snprintf(ents[5], 300, ".btrsend-ckpt.1.%s", n);
}

static void
test_stale(void **state)
{
	const int64_t t = 1767312000;   /* 2026-01-02 00:00:00 UTC */
	char done[64], older[64], newer[64], same2[64], same3[64], other[64];
	char ents[6][300], name[300], ent[300];
	int i;

	(void)state;
	assert_int_equal(snap_name_format(done, sizeof(done), "home", t, 2), 0);
	assert_int_equal(snap_name_format(older, sizeof(older), "home",
	    t - 86400, 1), 0);
	assert_int_equal(snap_name_format(newer, sizeof(newer), "home",
	    t + 1, 1), 0);
	assert_int_equal(snap_name_format(same2, sizeof(same2), "home", t, 1), 0);
	assert_int_equal(snap_name_format(same3, sizeof(same3), "home", t, 3), 0);
	assert_int_equal(snap_name_format(other, sizeof(other), "work",
	    t - 86400, 1), 0);

	/* every piece of an older partial, with its snapshot's name */
	partial_files(older, ents);
	for (i = 0; i < 6; i++) {
		memset(name, 0, sizeof(name));
		assert_true(stale(ents[i], done, name));
		assert_string_equal(name, older);
	}
	/* an earlier one of the same second (seq 1 before seq 2) too */
	partial_files(same2, ents);
	for (i = 0; i < 6; i++) {
		assert_true(stale(ents[i], done, name));
		assert_string_equal(name, same2);
	}
	/* never the completed one, a later one of its second, a newer one */
	partial_files(done, ents);
	for (i = 0; i < 6; i++)
		assert_false(stale(ents[i], done, name));
	partial_files(same3, ents);
	for (i = 0; i < 6; i++)
		assert_false(stale(ents[i], done, name));
	partial_files(newer, ents);
	for (i = 0; i < 6; i++)
		assert_false(stale(ents[i], done, name));
	/* nor another job's, nor a complete snapshot, nor foreign entries */
	partial_files(other, ents);
	for (i = 0; i < 6; i++)
		assert_false(stale(ents[i], done, name));
	assert_false(stale(older, done, name));
	snprintf(ent, sizeof(ent), ".btrsend-ckpt.2.%s", older);
	assert_false(stale(ent, done, name));
	snprintf(ent, sizeof(ent), ".btrsend-partial.%s.tmp", older);
	assert_false(stale(ent, done, name));
	assert_false(stale(".btrsend-partial.", done, name));
	assert_false(stale(".btrsend-partial.home.junk", done, name));
	/* a completed name that is no snapshot name of the job: nothing */
	partial_files(older, ents);
	assert_false(stale(ents[0], "manual-copy", name));
	assert_false(stale(ents[0], other, name));
}

/* partial_name makes exactly the names partial_files spells out. */
static void
test_names(void **state)
{
	static const enum partial_part parts[6] = { PARTIAL_STAGING,
	    PARTIAL_STATE, PARTIAL_PROGRESS, PARTIAL_FLAGS, PARTIAL_CKPT0,
	    PARTIAL_CKPT1 };
	char ents[6][300], out[NAME_MAX + 1], name[NAME_MAX + 1], big[300];
	int i;

	(void)state;
	partial_files("home.20260102T000000Z", ents);
	for (i = 0; i < 6; i++) {
		assert_int_equal(partial_name("home.20260102T000000Z", parts[i],
		    out), 0);
		assert_string_equal(out, ents[i]);
		assert_int_equal(partial_owner(ents[i], name), (int)parts[i]);
		assert_string_equal(name, "home.20260102T000000Z");
		assert_memory_equal(out, PARTIAL_RESERVED_PREFIX,
		    strlen(PARTIAL_RESERVED_PREFIX));
	}
	/* a name that fits as a snapshot but not with the longest suffix */
	memset(big, 'x', NAME_MAX - 20);
	big[NAME_MAX - 20] = '\0';
	assert_int_equal(partial_name(big, PARTIAL_STAGING, out), 0);
	assert_int_equal(partial_name(big, PARTIAL_PROGRESS, out), -1);
	/* not ours */
	assert_int_equal(partial_owner("home.20260102T000000Z", name), -1);
	assert_int_equal(partial_owner(".btrsend-partial.", name), -1);
	/* a suffix alone is a name, not a suffix */
	assert_int_equal(partial_owner(".btrsend-partial..state", name),
	    PARTIAL_STAGING);
	assert_string_equal(name, ".state");
	assert_int_equal(partial_owner(".btrsend-ckpt.2.x", name), -1);
	assert_int_equal(partial_owner(".btrsend-ckpt.0x", name), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_stale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
