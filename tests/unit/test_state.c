/*
 * The daemon's state file (daemon/state.h): round trip, atomic
 * replacement, refusal of damaged files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/state.h"

static char dir[] = "/tmp/test_state.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_state.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_missing_file_is_empty(void **state)
{
	struct state st;
	char err[256];

	(void)state;
	assert_int_equal(state_load(dir, &st, err, sizeof(err)), 0);
	assert_int_equal(st.n, 0);
	state_free(&st);
}

static void
test_round_trip(void **state)
{
	struct state st = { 0 }, back;
	struct state_entry *e;
	char err[256];

	(void)state;
	e = state_get(&st, "home", NULL, 1);
	e->start = 1700000000;
	e->end = 1700000042;
	e->result = RUN_OK;
	e = state_get(&st, "home", "backup1", 1);
	e->start = 1700000001;
	e->result = RUN_RETRY;
	state_set_error(e, "connect: refused\nsecond line");
	e = state_get(&st, "var", NULL, 1);
	e->start = 5;
	e->result = RUN_RUNNING;
	assert_non_null(state_get(&st, "home", NULL, 0));
	assert_null(state_get(&st, "other", NULL, 0));
	assert_int_equal(st.n, 3);
	assert_int_equal(state_save(dir, &st, err, sizeof(err)), 0);

	assert_int_equal(state_load(dir, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 3);
	e = state_get(&back, "home", NULL, 0);
	assert_non_null(e);
	assert_int_equal(e->start, 1700000000);
	assert_int_equal(e->end, 1700000042);
	assert_int_equal(e->result, RUN_OK);
	assert_string_equal(e->error, "");
	e = state_get(&back, "home", "backup1", 0);
	assert_non_null(e);
	assert_int_equal(e->result, RUN_RETRY);
	assert_string_equal(e->error, "connect: refused second line");
	e = state_get(&back, "var", NULL, 0);
	assert_non_null(e);
	assert_int_equal(e->result, RUN_RUNNING);
	assert_int_equal(e->start, 5);
	state_free(&st);
	state_free(&back);
}

static void
test_save_replaces_and_leaves_no_temporary(void **state)
{
	struct state st = { 0 }, back;
	struct dirent *de;
	char err[256];
	int files = 0;
	DIR *d;

	(void)state;
	state_get(&st, "a", NULL, 1)->result = RUN_FAILED;
	assert_int_equal(state_save(dir, &st, err, sizeof(err)), 0);
	state_get(&st, "a", NULL, 0)->result = RUN_OK;
	assert_int_equal(state_save(dir, &st, err, sizeof(err)), 0);
	assert_int_equal(state_load(dir, &back, err, sizeof(err)), 0);
	assert_int_equal(state_get(&back, "a", NULL, 0)->result, RUN_OK);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			files++;
	closedir(d);
	assert_int_equal(files, 1);
	state_free(&st);
	state_free(&back);
}

static void
test_save_into_missing_dir_fails(void **state)
{
	struct state st = { 0 };
	char err[256] = "", path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/absent", dir);
	assert_int_equal(state_save(path, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absent/state"));
}

static void
test_damaged_files_refused(void **state)
{
	struct state st;
	char err[256];

	(void)state;
	write_file("something else\n");
	assert_int_equal(state_load(dir, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a btrsend state file"));

	write_file("btrsend-state 1\njob - 1 2 ok \njob - x 2 ok\n");
	assert_int_equal(state_load(dir, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":3: malformed"));

	write_file("btrsend-state 1\njob - 1 2 sideways \n");
	assert_int_equal(state_load(dir, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: malformed"));

	write_file("btrsend-state 1\njob - -1 2 ok \n");
	assert_int_equal(state_load(dir, &st, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_file_is_empty,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_save_replaces_and_leaves_no_temporary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_into_missing_dir_fails,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_files_refused,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
