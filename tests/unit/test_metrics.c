/*
 * The /metrics page (daemon/metrics.h): a strict reading of the text
 * format 0.0.4 (every sample under its family's HELP and TYPE, labels
 * well quoted, values numbers), label escaping of quotes, backslashes
 * and newlines, configured series present at 0, and the figures the
 * stats hold.
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

#include "conf/conf.h"
#include "daemon/metrics.h"
#include "daemon/stats.h"

static char dir[64];

static int
setup(void **state)
{
	char err[128];

	(void)state;
	strcpy(dir, "/dev/shm/test_metrics.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	return stats_open(dir, err, sizeof(err));
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

/* One label value from p (just past the opening quote); the end quote. */
static const char *
parse_value(const char *p, char *out, size_t len)
{
	size_t o = 0;

	for (; *p != '"'; p++) {
		assert_true(*p != '\0' && *p != '\n');
		if (*p == '\\') {
			p++;
			assert_true(*p == '\\' || *p == '"' || *p == 'n');
			out[o++] = *p == 'n' ? '\n' : *p;
		} else
			out[o++] = *p;
		assert_true(o < len);
	}
	out[o] = '\0';
	return p;
}

/*
 * Check the whole page; return the value of the sample named name with
 * the given decoded label values (NULL to skip), or -1 if absent.
 */
static double
sample(const char *page, const char *name, const char *job,
    const char *target, const char *extra_key, const char *extra_val)
{
	char family[128] = "", type[16] = "", sname[128], key[64];
	char val[512], ljob[512], ltarget[512], lextra[512];
	const char *p = page, *e;
	double found = -1, v;
	char *end;
	size_t n;

	while (*p != '\0') {
		e = strchr(p, '\n');
		assert_non_null(e);		/* every line ends */
		if (strncmp(p, "# HELP ", 7) == 0) {
			n = strcspn(p + 7, " ");
			assert_true(n < sizeof(family));
			memcpy(family, p + 7, n);
			family[n] = '\0';
			type[0] = '\0';
		} else if (strncmp(p, "# TYPE ", 7) == 0) {
			assert_int_equal(strncmp(p + 7, family, strlen(family)), 0);
			assert_int_equal(sscanf(p + 7 + strlen(family), " %15s",
			    type), 1);
			assert_true(strcmp(type, "counter") == 0 ||
			    strcmp(type, "gauge") == 0);
		} else {
			assert_true(*p != '#');
			assert_true(type[0] != '\0');	/* HELP and TYPE first */
			n = strcspn(p, "{ ");
			memcpy(sname, p, n);
			sname[n] = '\0';
			assert_string_equal(sname, family);
			p += n;
			ljob[0] = ltarget[0] = lextra[0] = '\0';
			if (*p == '{') {
				p++;
				while (*p != '}') {
					n = strcspn(p, "=");
					assert_true(n > 0 && n < sizeof(key));
					memcpy(key, p, n);
					key[n] = '\0';
					assert_int_equal(p[n + 1], '"');
					p = parse_value(p + n + 2, val, sizeof(val));
					p++;
					if (strcmp(key, "job") == 0)
						strcpy(ljob, val);
					else if (strcmp(key, "target") == 0)
						strcpy(ltarget, val);
					else if (extra_key != NULL &&
					    strcmp(key, extra_key) == 0)
						strcpy(lextra, val);
					if (*p == ',')
						p++;
					else
						assert_int_equal(*p, '}');
				}
				p++;
			}
			assert_int_equal(*p, ' ');
			v = strtod(p + 1, &end);
			assert_true(end == e && end > p + 1);
			if (strcmp(sname, name) == 0 &&
			    (job == NULL || strcmp(ljob, job) == 0) &&
			    (target == NULL || strcmp(ltarget, target) == 0) &&
			    (extra_key == NULL || strcmp(lextra, extra_val) == 0)) {
				assert_true(found == -1);	/* one series */
				found = v;
			}
		}
		p = e + 1;
	}
	return found;
}

static void
run(const char *job, const char *target, enum run_result res,
    uint64_t bytes, uint32_t resumes, int64_t end)
{
	struct stats_run r;
	uint32_t id = stats_run_start(job, end - 5);

	memset(&r, 0, sizeof(r));
	snprintf(r.job, sizeof(r.job), "%s", job);
	snprintf(r.target, sizeof(r.target), "%s", target);
	r.start = end - 5;
	r.end = end;
	r.result = res;
	r.bytes = bytes;
	r.resumes = resumes;
	/* An ok run's prune: the target kept 3, then 2 more, of a's. */
	if (res == RUN_OK && strcmp(target, "a") == 0)
		r.prune_refused = end == 1000 ? 3 : 2;
	stats_target_done(id, &r);
	r.target[0] = '\0';
	stats_run_end(id, &r);
}

static void
test_label_escaping(void **state)
{
	const char *job = "we\"ird\\job\nx", *tg = "t\"1";
	char *page, *buf = NULL;
	size_t len, blen;
	FILE *f;

	(void)state;
	f = open_memstream(&buf, &blen);
	metrics_label(f, job);
	fclose(f);
	assert_string_equal(buf, "we\\\"ird\\\\job\\nx");
	free(buf);

	run(job, tg, RUN_OK, 1234, 2, 1700000000);
	page = metrics_render(NULL, &len);
	assert_int_equal(strlen(page), len);
	assert_non_null(strstr(page, "btrsend_transferred_bytes_total{job="
	    "\"we\\\"ird\\\\job\\nx\",target=\"t\\\"1\"} 1234\n"));
	/* and the strict reader decodes them back */
	assert_true(sample(page, "btrsend_transferred_bytes_total", job, tg,
	    NULL, NULL) == 1234);
	assert_true(sample(page, "btrsend_resumes_total", job, tg, NULL,
	    NULL) == 2);
	assert_true(sample(page, "btrsend_last_success_timestamp_seconds",
	    job, tg, NULL, NULL) == 1700000000);
	free(page);
}

static void
test_counters_by_result(void **state)
{
	char *page;
	size_t len;

	(void)state;
	run("j", "a", RUN_OK, 100, 0, 1000);
	run("j", "a", RUN_RETRY, 50, 1, 1100);
	run("j", "a", RUN_FAILED, 0, 0, 1200);
	run("j", "a", RUN_OK, 30, 0, 1300);
	run("j", "b", RUN_FAILED, 0, 0, 1400);
	page = metrics_render(NULL, &len);
	assert_true(sample(page, "btrsend_transfers_total", "j", "a", "result",
	    "ok") == 2);
	assert_true(sample(page, "btrsend_transfers_total", "j", "a", "result",
	    "retry") == 1);
	assert_true(sample(page, "btrsend_transfers_total", "j", "a", "result",
	    "failed") == 1);
	assert_true(sample(page, "btrsend_transfers_total", "j", "b", "result",
	    "failed") == 1);
	assert_true(sample(page, "btrsend_transferred_bytes_total", "j", "a",
	    NULL, NULL) == 180);
	assert_true(sample(page, "btrsend_resumes_total", "j", "a", NULL,
	    NULL) == 1);
	/* What the target's rules kept: 3 then 2, 0 for b. */
	assert_true(sample(page, "btrsend_prune_refused_total", "j", "a",
	    NULL, NULL) == 5);
	assert_true(sample(page, "btrsend_prune_refused_total", "j", "b",
	    NULL, NULL) == 0);
	assert_true(sample(page, "btrsend_last_success_timestamp_seconds",
	    "j", "a", NULL, NULL) == 1300);
	assert_true(sample(page, "btrsend_last_success_timestamp_seconds",
	    "j", "b", NULL, NULL) == 0);
	assert_true(sample(page, "btrsend_build_info", NULL, NULL, NULL,
	    NULL) == 1);
	assert_true(sample(page, "btrsend_transfers_in_progress", NULL, NULL,
	    NULL, NULL) == 0);
	free(page);
}

static void
test_live_and_held(void **state)
{
	struct stats_progress p = { "send", "a", "j.1", 300, 1000,
	    TOTAL_ESTIMATE, 0, 0 };
	char *names[] = { "j.1", "j.2" };
	char *page;
	size_t len;
	uint32_t id;

	(void)state;
	id = stats_run_start("j", 10);
	page = metrics_render(NULL, &len);
	assert_true(sample(page, "btrsend_runs_in_progress", NULL, NULL, NULL,
	    NULL) == 1);
	assert_true(sample(page, "btrsend_transfers_in_progress", NULL, NULL,
	    NULL, NULL) == 0);
	free(page);
	stats_run_progress(id, &p, 11);
	stats_held_set("j", "a", names, 2, 11);
	page = metrics_render(NULL, &len);
	assert_true(sample(page, "btrsend_transfers_in_progress", NULL, NULL,
	    NULL, NULL) == 1);
	assert_true(sample(page, "btrsend_transfer_done_bytes", "j", "a", NULL,
	    NULL) == 300);
	assert_true(sample(page, "btrsend_transfer_total_bytes", "j", "a",
	    "source", "estimate") == 1000);
	assert_true(sample(page, "btrsend_snapshots", "j", "a", "side",
	    "target") == 2);
	free(page);
}

static void
test_configured_series(void **state)
{
	struct conf_errors errs;
	struct conf *c;
	char text[1024], path[128], *page;
	size_t len;

	(void)state;
	snprintf(text, sizeof(text),
	    "tls { certificate /c.crt key /c.key ca /ca.crt }\n"
	    "state-dir %s\n"
	    "metrics listen 127.0.0.1:9464\n"
	    "target far { address 10.0.0.1:7464 }\n"
	    "job home {\n source /src\n snapshot-dir %s\n"
	    " schedule manual\n send-to far\n}\n", dir, dir);
	c = conf_load_buffer("t.conf", text, strlen(text), &errs);
	if (c == NULL) {
		size_t i;

		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		fail();
	}
	/* two snapshots of home, one of another job, one stray name */
	snprintf(path, sizeof(path), "%s/home.20260101T000000Z", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/home.20260102T000000Z", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/work.20260102T000000Z", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/home.tmp", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	page = metrics_render(c, &len);
	/* configured, never run: present, at 0 */
	assert_true(sample(page, "btrsend_transfers_total", "home", "far",
	    "result", "ok") == 0);
	assert_true(sample(page, "btrsend_transferred_bytes_total", "home",
	    "far", NULL, NULL) == 0);
	assert_true(sample(page, "btrsend_snapshots", "home", NULL, "side",
	    "source") == 2);
	/* never reported: no target-side count */
	assert_true(sample(page, "btrsend_snapshots", "home", "far", "side",
	    "target") == -1);
	free(page);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_label_escaping, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_counters_by_result, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_live_and_held, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_configured_series, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
