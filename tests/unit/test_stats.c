/*
 * Run bookkeeping (daemon/stats.h): rate, history file bound and reload,
 * damaged history lines, held lists, counters, listeners.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/stats.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	/* tmpfs: the bound test fsyncs a couple of thousand times */
	strcpy(dir, "/dev/shm/test_stats.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	stats_close();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
open_stats(void)
{
	char err[256] = "";

	assert_int_equal(stats_open(dir, err, sizeof(err)), 0);
}

static char *
history_text(void)
{
	char path[128], *buf;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/%s", dir, STATS_HISTORY_FILE);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
append_file(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, STATS_HISTORY_FILE);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct stats_run
mkrun(const char *job, const char *target, enum run_result res,
    uint64_t bytes, int64_t end)
{
	struct stats_run r;

	memset(&r, 0, sizeof(r));
	snprintf(r.job, sizeof(r.job), "%s", job);
	snprintf(r.target, sizeof(r.target), "%s", target);
	snprintf(r.snapshot, sizeof(r.snapshot), "%s-snap", job);
	r.start = end - 10;
	r.end = end;
	r.result = res;
	r.bytes = bytes;
	return r;
}

/* One complete run of job to one target; its id. */
static uint32_t
one_run(const char *job, const char *target, enum run_result res,
    uint64_t bytes, int64_t end)
{
	struct stats_run r = mkrun(job, target, res, bytes, end);
	uint32_t id = stats_run_start(job, end - 10);

	stats_target_done(id, &r);
	r.target[0] = '\0';
	stats_run_end(id, &r);
	return id;
}

static void
progress(uint32_t id, const char *target, uint64_t done, int64_t now)
{
	struct stats_progress p = { "send", target, "s1", done, 10000,
	    TOTAL_PREVIOUS, 0, 0 };

	stats_run_progress(id, &p, now);
}

static void
test_rate(void **state)
{
	const struct stats_live *l;
	uint32_t id;

	(void)state;
	open_stats();
	id = stats_run_start("j", 100);
	progress(id, "t", 0, 100);
	l = stats_live_find(id);
	assert_non_null(l);
	assert_int_equal(l->rate, 0);
	/* several reports within the same second do not make a window */
	progress(id, "t", 500, 100);
	assert_int_equal(l->rate, 0);
	progress(id, "t", 1000, 101);		/* 1000 B in 1 s */
	assert_int_equal(l->rate, 1000);
	progress(id, "t", 7000, 103);		/* 3000 B/s; averaged */
	assert_int_equal(l->rate, (1000 + 3000) / 2);
	assert_int_equal(l->done, 7000);
	assert_int_equal(l->total, 10000);
	assert_int_equal(l->total_src, TOTAL_PREVIOUS);
	assert_string_equal(l->target, "t");
	assert_string_equal(l->phase, "send");
	/* another target starts over */
	progress(id, "u", 100, 104);
	assert_int_equal(l->rate, 0);
	progress(id, "u", 600, 105);
	assert_int_equal(l->rate, 500);
	/* so does a restart from an earlier offset (a resume) */
	progress(id, "u", 50, 106);
	assert_int_equal(l->rate, 0);
}

static void
test_unknown_total(void **state)
{
	struct stats_progress p = { "send", "t", "s", 10, 0,
	    TOTAL_ESTIMATE, 0, 0 };
	uint32_t id;

	(void)state;
	open_stats();
	id = stats_run_start("j", 1);
	stats_run_progress(id, &p, 2);
	assert_int_equal(stats_live_find(id)->total_src, TOTAL_UNKNOWN);
}

static void
test_live_list_and_end(void **state)
{
	const struct stats_live *l;
	struct stats_run r;
	uint32_t a, b;
	size_t n;

	(void)state;
	open_stats();
	a = stats_run_start("ja", 10);
	b = stats_run_start("jb", 11);
	assert_int_not_equal(a, b);
	l = stats_live_list(&n);
	assert_int_equal(n, 2);
	assert_string_equal(l[0].job, "ja");
	assert_string_equal(l[1].job, "jb");
	r = mkrun("ja", "", RUN_FAILED, 0, 20);
	snprintf(r.error, sizeof(r.error), "snapshot failed");
	stats_run_end(a, &r);
	assert_null(stats_live_find(a));
	assert_non_null(stats_live_find(b));
	l = stats_live_list(&n);
	assert_int_equal(n, 1);
	assert_int_equal(l[0].id, b);
	/* a run that sent nowhere is recorded once, as the job's outcome */
	stats_history(&n);
	assert_int_equal(n, 1);
	assert_string_equal(stats_history(&n)[0].error, "snapshot failed");
}

static void
test_counters_and_last_success(void **state)
{
	struct stats_counters c;
	const struct stats_jt *jt;
	size_t n, i, found = 0;

	(void)state;
	open_stats();
	one_run("j", "t1", RUN_OK, 1000, 50);
	one_run("j", "t1", RUN_RETRY, 300, 60);
	one_run("j", "t2", RUN_FAILED, 0, 70);
	one_run("j", "t1", RUN_OK, 2000, 80);
	stats_counters(&c);
	assert_int_equal(c.bytes, 3300);
	assert_int_equal(c.ok, 2);
	assert_int_equal(c.retry, 1);
	assert_int_equal(c.failed, 1);
	assert_int_equal(stats_last_success("j", "t1"), 80);
	assert_int_equal(stats_last_success("j", "t2"), 0);
	assert_int_equal(stats_last_success("nope", "t1"), 0);
	assert_int_equal(stats_last_bytes("j", "t1"), 2000);
	/* a resumed send sent less (or more) than its stream: not a size */
	{
		struct stats_run r = mkrun("j", "t1", RUN_OK, 700, 90);
		uint32_t id = stats_run_start("j", 85);

		r.resumes = 1;
		stats_target_done(id, &r);
		assert_int_equal(stats_last_bytes("j", "t1"), 2000);
		assert_int_equal(stats_last_success("j", "t1"), 90);
	}
	jt = stats_jt_list(&n);
	for (i = 0; i < n; i++) {
		if (strcmp(jt[i].job, "j") != 0 ||
		    strcmp(jt[i].target, "t1") != 0)
			continue;
		found++;
		assert_int_equal(jt[i].bytes, 3300 + 700);
		assert_int_equal(jt[i].ok, 3);
		assert_int_equal(jt[i].retry, 1);
		assert_int_equal(jt[i].resumes, 1);
	}
	assert_int_equal(found, 1);
}

static void
test_history_reload(void **state)
{
	const struct stats_run *h;
	struct stats_run r;
	struct stats_counters c;
	uint32_t id, id2;
	size_t n;

	(void)state;
	open_stats();
	id = stats_run_start("job one", 100);
	r = mkrun("job one", "tgt", RUN_FAILED, 42, 110);
	snprintf(r.parent, sizeof(r.parent), "-");
	snprintf(r.error, sizeof(r.error), "100%% bad\nsecond line \\ \"q\"");
	r.resumes = 3;
	stats_target_done(id, &r);
	r = mkrun("job one", "", RUN_FAILED, 0, 111);
	stats_run_end(id, &r);
	one_run("j2", "t", RUN_OK, 5, 200);
	stats_close();

	open_stats();
	h = stats_history(&n);
	assert_int_equal(n, 2);
	assert_int_equal(h[0].id, id);
	assert_string_equal(h[0].job, "job one");
	assert_string_equal(h[0].target, "tgt");
	assert_string_equal(h[0].snapshot, "job one-snap");
	assert_string_equal(h[0].parent, "-");
	assert_string_equal(h[0].error, "100% bad\nsecond line \\ \"q\"");
	assert_int_equal(h[0].start, 100);
	assert_int_equal(h[0].end, 110);
	assert_int_equal(h[0].result, RUN_FAILED);
	assert_int_equal(h[0].bytes, 42);
	assert_int_equal(h[0].resumes, 3);
	assert_string_equal(h[1].job, "j2");
	assert_int_equal(h[1].result, RUN_OK);
	/* last success survives the restart; counters do not */
	assert_int_equal(stats_last_success("j2", "t"), 200);
	assert_int_equal(stats_last_bytes("j2", "t"), 5);
	stats_counters(&c);
	assert_int_equal(c.ok, 0);
	/* ids are not reused after a restart */
	id2 = stats_run_start("j3", 300);
	assert_true(id2 > h[1].id);
}

static void
test_history_bound(void **state)
{
	const struct stats_run *h;
	char *text;
	size_t n, i, total = 2 * STATS_HISTORY_MAX + 7;
	uint32_t last = 0;

	(void)state;
	open_stats();
	for (i = 0; i < total; i++) {
		last = one_run("j", "t", RUN_OK, i, (int64_t)i + 1000);
		/* the file never holds more than twice the bound */
		if (i % 97 == 0 || i + 1 == total) {
			text = history_text();
			assert_true(count_lines(text) <=
			    2 * STATS_HISTORY_MAX + 1);
			free(text);
		}
	}
	h = stats_history(&n);
	assert_int_equal(n, STATS_HISTORY_MAX);
	assert_int_equal(h[n - 1].id, last);
	assert_int_equal(h[n - 1].bytes, total - 1);
	assert_int_equal(h[0].bytes, total - STATS_HISTORY_MAX);
	stats_close();

	open_stats();
	h = stats_history(&n);
	assert_int_equal(n, STATS_HISTORY_MAX);
	assert_int_equal(h[n - 1].id, last);
	assert_int_equal(h[0].bytes, total - STATS_HISTORY_MAX);
	for (i = 1; i < n; i++)
		assert_true(h[i].id > h[i - 1].id);
}

static void
test_malformed_lines_skipped(void **state)
{
	const struct stats_run *h;
	char *text;
	size_t n;

	(void)state;
	open_stats();
	one_run("a", "t", RUN_OK, 1, 10);
	stats_close();
	append_file("garbage line\n"
	    "7 1 2 ok 5 0 b t s - -\n"
	    "8 1 2 bogus 5 0 b t s - -\n"
	    "9 1 2 ok 5 0 b t s - - extra\n"
	    "10 1 2 ok 5 0 b%zz t s - -\n"
	    "11 1 2 ok 5 0 c t s - -");		/* torn: no newline */
	open_stats();
	h = stats_history(&n);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].job, "a");
	assert_int_equal(h[1].id, 7);
	assert_string_equal(h[1].job, "b");
	/* the damage was rewritten away, so appends start on a clean line */
	one_run("d", "t", RUN_OK, 1, 20);
	stats_close();
	text = history_text();
	assert_null(strstr(text, "garbage"));
	assert_int_equal(count_lines(text), 4);
	free(text);
	open_stats();
	stats_history(&n);
	assert_int_equal(n, 3);
}

static void
test_not_a_history_file(void **state)
{
	size_t n;

	(void)state;
	append_file("something else\n1 1 2 ok 5 0 b t s - -\n");
	open_stats();
	stats_history(&n);
	assert_int_equal(n, 0);
	one_run("a", "t", RUN_OK, 1, 10);
	stats_close();
	open_stats();
	stats_history(&n);
	assert_int_equal(n, 1);
}

static void
test_held(void **state)
{
	char *names[] = { "s1", "s2", "s3" };
	char *const *got;
	int64_t when = 0;
	size_t n = 99;

	(void)state;
	open_stats();
	assert_null(stats_held("j", "t", &n, &when));
	stats_held_set("j", "t", names, 3, 500);
	got = stats_held("j", "t", &n, &when);
	assert_non_null(got);
	assert_int_equal(n, 3);
	assert_int_equal(when, 500);
	assert_string_equal(got[2], "s3");
	assert_null(stats_held("j", "other", &n, &when));
	stats_held_set("j", "t", names + 1, 1, 600);
	got = stats_held("j", "t", &n, &when);
	assert_int_equal(n, 1);
	assert_string_equal(got[0], "s2");
	assert_int_equal(when, 600);
	/* an empty report is still a report */
	stats_held_set("j", "t", NULL, 0, 700);
	assert_non_null(stats_held("j", "t", &n, &when));
	assert_int_equal(n, 0);
}

/* The held lists and bases survive a restart (the held file). */
static void
test_held_persisted(void **state)
{
	char *names[] = { "s1", "s 2%" };
	char *const *got;
	int64_t when = 0;
	size_t n = 99;

	(void)state;
	open_stats();
	assert_null(stats_held_base("j", "t"));
	stats_held_set("j", "t", names, 2, 500);
	stats_held_set_base("j", "t", "s 2%");
	stats_held_set("j", "u", NULL, 0, 600);
	stats_held_set_base("j", "u", "");
	stats_close();
	open_stats();
	got = stats_held("j", "t", &n, &when);
	assert_non_null(got);
	assert_int_equal(n, 2);
	assert_int_equal(when, 500);
	assert_string_equal(got[1], "s 2%");
	assert_string_equal(stats_held_base("j", "t"), "s 2%");
	assert_string_equal(stats_held_base("j", "u"), "");
	assert_null(stats_held_base("j", "v"));
}

static void
write_held(const char *text, mode_t mode)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/held", dir);
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* A damaged or unsafe held file is refused whole: every target unknown. */
static void
test_held_hostile(void **state)
{
	static const char *bad[] = {
		"btrsend-held 2\n",
		"btrsend-held 1\n1 j t s1 1\ns1\n1 j u s1 2\ns1\n",
		"btrsend-held 1\n1 j t ../x 0\n",
		"btrsend-held 1\n1 j t s1 1\n../../etc\n",
		"btrsend-held 1\n1 j t s1 1 extra\ns1\n",
		"btrsend-held 1\n-1 j t s1 0\n",
		"btrsend-held 1\n1 j t s1 99999\n",
		"btrsend-held 1\n1 j t s1 0\n1 j t s1 0\n",
		"btrsend-held 1\n1 j t s1 0",
	};
	size_t i;

	(void)state;
	write_held("btrsend-held 1\n1 j t s1 1\ns1\n", 0600);
	open_stats();
	assert_string_equal(stats_held_base("j", "t"), "s1");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_held(bad[i], 0600);
		open_stats();
		assert_null(stats_held_base("j", "t"));
	}
	/* writable by others: refused even when well formed */
	write_held("btrsend-held 1\n1 j t s1 1\ns1\n", 0622);
	open_stats();
	assert_null(stats_held_base("j", "t"));
}

static void
test_held_bounded(void **state)
{
	size_t i, n = STATS_HELD_MAX + 10;
	char **names = calloc(n, sizeof(*names));
	int64_t when;

	(void)state;
	open_stats();
	for (i = 0; i < n; i++)
		assert_true(asprintf(&names[i], "s%zu", i) > 0);
	stats_held_set("j", "t", names, n, 1);
	assert_non_null(stats_held("j", "t", &n, &when));
	assert_int_equal(n, STATS_HELD_MAX);
	for (i = 0; i < STATS_HELD_MAX + 10; i++)
		free(names[i]);
	free(names);
}

struct rec {
	enum stats_event_kind	 kinds[16];
	uint32_t		 ids[16];
	size_t			 n;
	int			 leave_after;
};

static void
listener(const struct stats_event *ev, void *arg)
{
	struct rec *r = arg;

	if (r->n < 16) {
		r->kinds[r->n] = ev->kind;
		r->ids[r->n] = ev->live ? ev->live->id : ev->run->id;
		r->n++;
	}
	/* a monitor client that goes away from inside its callback */
	if (r->leave_after && (int)r->n == r->leave_after)
		stats_unlisten(listener, arg);
}

static void
test_listeners(void **state)
{
	struct rec a = { .n = 0 }, b = { .leave_after = 1 };
	struct stats_run r;
	uint32_t id;

	(void)state;
	open_stats();
	stats_listen(listener, &a);
	stats_listen(listener, &b);
	id = stats_run_start("j", 1);
	progress(id, "t", 5, 2);
	r = mkrun("j", "t", RUN_OK, 5, 3);
	stats_target_done(id, &r);
	stats_unlisten(listener, &a);
	r.target[0] = '\0';
	stats_run_end(id, &r);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.kinds[0], STATS_EV_RUN_START);
	assert_int_equal(a.kinds[1], STATS_EV_PROGRESS);
	assert_int_equal(a.kinds[2], STATS_EV_TARGET_DONE);
	assert_int_equal(a.ids[0], id);
	assert_int_equal(a.ids[2], id);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.kinds[0], STATS_EV_RUN_START);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_total, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_live_list_and_end, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_counters_and_last_success,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_reload, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history_bound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_malformed_lines_skipped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_history_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_bounded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_held_persisted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_held_hostile, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_listeners, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
