/*
 * conf/: every error message with its location, includes, defaults,
 * value arithmetic and overflow, and the print/parse round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "conf/value.h"

/* The example of design.md, verbatim. */
static const char design_example[] =
"tls {\n"
"    certificate /etc/btrsend/tls/host.crt\n"
"    key         /etc/btrsend/tls/host.key\n"
"    ca          /etc/btrsend/tls/ca.crt\n"
"}\n"
"control { socket /run/btrsend/control.sock  group btrsend }\n"
"state-dir /var/lib/btrsend\n"
"metrics listen 127.0.0.1:9464          # optional Prometheus text endpoint\n"
"\n"
"target backup1 {\n"
"    address   backup1.example.net:7464\n"
"    name      backup1.example.net      # expected certificate name\n"
"    bandwidth 50M                      # bytes per second, optional\n"
"    compress  zstd                     # wire compression: none | zstd\n"
"}\n"
"\n"
"job home {\n"
"    source          /srv/pool/@home    # writable subvolume\n"
"    snapshot-dir    /srv/pool/.snapshots\n"
"    schedule        every 1h           # every DURATION | at HH:MM | manual\n"
"    send-to         backup1            # may list several targets\n"
"    protocol        auto               # 1 | 2 | auto\n"
"    compressed-data yes\n"
"    keep-source     { hourly 24 daily 7 weekly 4 monthly 6 min-age 1h }\n"
"    keep-target     { daily 30 weekly 12 monthly 24 }\n"
"}\n"
"\n"
"receive {\n"
"    listen 0.0.0.0:7464                # may repeat\n"
"    root   /srv/backup                 # on btrfs\n"
"    client laptop.example.net          # admitted certificate names\n"
"}\n";

static struct conf *
parse(const char *text, struct conf_errors *errs)
{
	return conf_load_buffer("t.conf", text, strlen(text), errs);
}

static struct conf *
parse_ok(const char *text)
{
	struct conf_errors errs;
	struct conf *c = parse(text, &errs);

	if (c == NULL) {
		conf_errors_print(stderr, &errs);
		fail_msg("unexpected errors parsing:\n%s", text);
	}
	assert_int_equal(errs.n, 0);
	return c;
}

/* The text fails with exactly this one message. */
static void
expect_error(const char *text, const char *msg)
{
	struct conf_errors errs;
	struct conf *c = parse(text, &errs);

	if (c != NULL)
		fail_msg("no error for input:\n%sexpected: %s", text, msg);
	if (errs.n != 1 || strcmp(errs.msg[0], msg) != 0) {
		conf_errors_print(stderr, &errs);
		fail_msg("for input:\n%sexpected only: %s", text, msg);
	}
	conf_errors_free(&errs);
}

static void
test_design_example(void **state)
{
	struct conf *c = parse_ok(design_example);
	const struct conf_job *j;
	const struct conf_target *t;

	(void)state;
	assert_string_equal(c->tls_certificate, "/etc/btrsend/tls/host.crt");
	assert_string_equal(c->tls_key, "/etc/btrsend/tls/host.key");
	assert_string_equal(c->tls_ca, "/etc/btrsend/tls/ca.crt");
	assert_string_equal(c->control_socket, "/run/btrsend/control.sock");
	assert_string_equal(c->control_group, "btrsend");
	assert_string_equal(c->state_dir, "/var/lib/btrsend");
	assert_true(c->metrics_set);
	assert_string_equal(c->metrics_listen.host, "127.0.0.1");
	assert_int_equal(c->metrics_listen.port, 9464);
	assert_int_equal(c->ntargets, 1);
	t = conf_target_find(c, "backup1");
	assert_non_null(t);
	assert_string_equal(t->address.host, "backup1.example.net");
	assert_int_equal(t->address.port, 7464);
	assert_false(t->address.v6);
	assert_string_equal(t->cert_name, "backup1.example.net");
	assert_int_equal(t->bandwidth, 50 * 1024 * 1024);
	assert_int_equal(t->compress, CONF_COMPRESS_ZSTD);
	assert_int_equal(c->njobs, 1);
	j = conf_job_find(c, "home");
	assert_non_null(j);
	assert_string_equal(j->source, "/srv/pool/@home");
	assert_string_equal(j->snapshot_dir, "/srv/pool/.snapshots");
	assert_int_equal(j->schedule.kind, CONF_SCHED_EVERY);
	assert_int_equal(j->schedule.every, 3600);
	assert_int_equal(j->nsend_to, 1);
	assert_string_equal(j->send_to[0], "backup1");
	assert_int_equal(j->protocol, CONF_PROTO_AUTO);
	assert_true(j->compressed_data);
	assert_true(j->keep_source.set);
	assert_int_equal(j->keep_source.hourly, 24);
	assert_int_equal(j->keep_source.daily, 7);
	assert_int_equal(j->keep_source.weekly, 4);
	assert_int_equal(j->keep_source.monthly, 6);
	assert_int_equal(j->keep_source.yearly, 0);
	assert_int_equal(j->keep_source.min_age, 3600);
	assert_true(j->keep_target.set);
	assert_int_equal(j->keep_target.daily, 30);
	assert_int_equal(j->keep_target.weekly, 12);
	assert_int_equal(j->keep_target.monthly, 24);
	assert_int_equal(j->keep_target.hourly, 0);
	assert_true(c->receive.set);
	assert_int_equal(c->receive.nlisten, 1);
	assert_string_equal(c->receive.listen[0].host, "0.0.0.0");
	assert_int_equal(c->receive.listen[0].port, 7464);
	assert_string_equal(c->receive.root, "/srv/backup");
	assert_int_equal(c->receive.nclients, 1);
	assert_string_equal(c->receive.clients[0], "laptop.example.net");
	assert_null(conf_target_find(c, "home"));
	assert_null(conf_job_find(c, "backup1"));
	conf_free(c);
}

static void
test_defaults(void **state)
{
	struct conf *c;

	(void)state;
	c = parse_ok("# nothing but a comment\n\n");
	assert_int_equal(c->max_transfers, 2);
	assert_string_equal(c->state_dir, "/var/lib/btrsend");
	assert_string_equal(c->timezone, "UTC");
	assert_string_equal(c->control_socket, "/run/btrsend/control.sock");
	assert_null(c->control_group);
	assert_false(c->tls_set);
	assert_false(c->metrics_set);
	assert_false(c->receive.set);
	assert_int_equal(c->ntargets, 0);
	assert_int_equal(c->njobs, 0);
	conf_free(c);

	c = parse_ok("tls { certificate /c key /k ca /a }\n"
	    "target t { address host.example:1 }\n"
	    "job j { source /s snapshot-dir /d }\n");
	assert_string_equal(c->targets[0].cert_name, "host.example");
	assert_int_equal(c->targets[0].bandwidth, 0);
	assert_int_equal(c->targets[0].compress, CONF_COMPRESS_NONE);
	assert_int_equal(c->jobs[0].schedule.kind, CONF_SCHED_MANUAL);
	assert_int_equal(c->jobs[0].protocol, CONF_PROTO_AUTO);
	assert_false(c->jobs[0].compressed_data);
	assert_false(c->jobs[0].keep_source.set);
	assert_false(c->jobs[0].keep_target.set);
	assert_int_equal(c->jobs[0].nsend_to, 0);
	assert_null(c->jobs[0].on_success);
	assert_null(c->jobs[0].on_failure);
	assert_null(c->jobs[0].before_snapshot);
	assert_false(c->jobs[0].snapshot_if_changed);
	conf_free(c);
}

static void
test_values(void **state)
{
	const char *why;
	uint64_t v;
	int h, m, b;
	char buf[32];

	(void)state;
	assert_int_equal(conf_parse_duration("30s", &v, &why), 0);
	assert_int_equal(v, 30);
	assert_int_equal(conf_parse_duration("15m", &v, &why), 0);
	assert_int_equal(v, 15 * 60);
	assert_int_equal(conf_parse_duration("1h", &v, &why), 0);
	assert_int_equal(v, 60 * 60);
	assert_int_equal(conf_parse_duration("1d", &v, &why), 0);
	assert_int_equal(v, 24 * 60 * 60);
	assert_int_equal(conf_parse_duration("1w", &v, &why), 0);
	assert_int_equal(v, 7 * 24 * 60 * 60);
	assert_int_equal(conf_parse_duration("3650d", &v, &why), 0);
	assert_int_equal(v, 3650ULL * 24 * 60 * 60);
	assert_int_equal(conf_parse_duration("3651d", &v, &why), -1);
	assert_int_equal(conf_parse_duration("521w", &v, &why), 0);
	assert_int_equal(v, 521ULL * 7 * 24 * 60 * 60);
	assert_int_equal(conf_parse_duration("1h30m", &v, &why), -1);
	assert_int_equal(conf_parse_size("512K", &v, &why), 0);
	assert_int_equal(v, 512 * 1024);
	assert_int_equal(conf_parse_size("50M", &v, &why), 0);
	assert_int_equal(v, 50 * 1024 * 1024);
	assert_int_equal(conf_parse_size("1G", &v, &why), 0);
	assert_int_equal(v, 1024 * 1024 * 1024);
	assert_int_equal(conf_parse_size("4096", &v, &why), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(conf_parse_size("18446744073709551615", &v, &why), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(conf_parse_size("18446744073709551616", &v, &why), -1);
	assert_string_equal(why, "number too large");
	assert_int_equal(conf_parse_size("16777215T", &v, &why), 0);
	assert_true(v == 16777215ULL << 40);
	assert_int_equal(conf_parse_size("16777216T", &v, &why), -1);
	assert_string_equal(why, "size too large");
	assert_int_equal(conf_parse_time("7:05", &h, &m, &why), 0);
	assert_int_equal(h, 7);
	assert_int_equal(m, 5);
	assert_int_equal(conf_parse_time("23:59", &h, &m, &why), 0);
	assert_int_equal(conf_parse_time("23:5", &h, &m, &why), -1);
	assert_int_equal(conf_parse_bool("yes", &b, &why), 0);
	assert_int_equal(b, 1);
	assert_int_equal(conf_parse_bool("no", &b, &why), 0);
	assert_int_equal(b, 0);
	assert_string_equal(conf_fmt_duration(90, buf, sizeof(buf)), "90s");
	assert_string_equal(conf_fmt_duration(7200, buf, sizeof(buf)), "2h");
	assert_string_equal(conf_fmt_duration(1209600, buf, sizeof(buf)), "2w");
	assert_string_equal(conf_fmt_duration(0, buf, sizeof(buf)), "0s");
	assert_string_equal(conf_fmt_size(3072, buf, sizeof(buf)), "3K");
	assert_string_equal(conf_fmt_size(1536, buf, sizeof(buf)), "1536");
	assert_string_equal(conf_fmt_size(1000, buf, sizeof(buf)), "1000");
	assert_string_equal(conf_fmt_size(3ULL << 30, buf, sizeof(buf)), "3G");
}

static void
test_addresses(void **state)
{
	struct conf *c;

	(void)state;
	c = parse_ok("tls { certificate /c key /k ca /a }\n"
	    "receive {\n"
	    "listen [::1]:7464\n"
	    "listen [fe80::1:2]:1\n"
	    "listen localhost:65535\n"
	    "root /r\n"
	    "client a.example b.example\n"
	    "client *.example\n"
	    "}\n");
	assert_int_equal(c->receive.nlisten, 3);
	assert_string_equal(c->receive.listen[0].host, "::1");
	assert_true(c->receive.listen[0].v6);
	assert_int_equal(c->receive.listen[0].port, 7464);
	assert_string_equal(c->receive.listen[1].host, "fe80::1:2");
	assert_int_equal(c->receive.listen[1].port, 1);
	assert_string_equal(c->receive.listen[2].host, "localhost");
	assert_false(c->receive.listen[2].v6);
	assert_int_equal(c->receive.listen[2].port, 65535);
	assert_int_equal(c->receive.nclients, 3);
	assert_string_equal(c->receive.clients[1], "b.example");
	assert_string_equal(c->receive.clients[2], "*.example");
	conf_free(c);
}

/* CRLF line ends, '{' on its own line, comments glued to values, quotes. */
static void
test_syntax(void **state)
{
	struct conf *c;

	(void)state;
	c = parse_ok("state-dir /a\r\n"
	    "max-transfers 4# four\r\n"
	    "control\n"
	    "{\n"
	    "\tsocket \"/run/with space#not a comment\"   # a comment\n"
	    "\tgroup \"wheel\"\n"
	    "}\n"
	    "job \"j\" { source \"/s\" snapshot-dir /d schedule at \"01:02\" }\n");
	assert_string_equal(c->state_dir, "/a");
	assert_int_equal(c->max_transfers, 4);
	assert_string_equal(c->control_socket, "/run/with space#not a comment");
	assert_string_equal(c->control_group, "wheel");
	assert_string_equal(c->jobs[0].name, "j");
	assert_int_equal(c->jobs[0].schedule.kind, CONF_SCHED_AT);
	assert_int_equal(c->jobs[0].schedule.hour, 1);
	assert_int_equal(c->jobs[0].schedule.minute, 2);
	conf_free(c);
}

#define TLS  "tls { certificate /c key /k ca /a }\n"
/* A job whose line 4 is the key under test. */
#define JOB(x) "job j {\nsource /s\nsnapshot-dir /d\n" x "\n}\n"
/* A target whose line 3 is the key under test. */
#define TARGET(x) TLS "target t {\n" x "\n}\n"

struct error_case {
	const char	*text;
	const char	*msg;
};

static const struct error_case error_cases[] = {
	/* top level and generic statements */
	{ "bogus 1\n", "t.conf:1:1: unknown keyword 'bogus' in the top level" },
	{ "state-dir /a\nstate-dir /b\n", "t.conf:2:1: duplicate 'state-dir' "
	  "in the top level (first given at t.conf:1:1)" },
	{ "state-dir var/lib\n",
	  "t.conf:1:11: state-dir 'var/lib': path must be absolute" },
	{ "state-dir\n", "t.conf:1:1: missing value after 'state-dir' "
	  "(found end of line)" },
	{ "state-dir", "t.conf:1:1: missing value after 'state-dir' "
	  "(found end of file)" },
	{ "max-transfers 0\n", "t.conf:1:15: max-transfers '0': expected a "
	  "number from 1 to 1024" },
	{ "max-transfers 1025\n", "t.conf:1:15: max-transfers '1025': "
	  "expected a number from 1 to 1024" },
	{ "max-transfers 99999999999999999999999\n", "t.conf:1:15: "
	  "max-transfers '99999999999999999999999': expected a number from "
	  "1 to 1024" },
	{ "metrics 127.0.0.1:9464\n", "t.conf:1:1: expected 'listen ADDRESS' "
	  "after 'metrics'" },
	{ "metrics listen nope\n", "t.conf:1:16: metrics listen 'nope': "
	  "missing port (expected HOST:PORT or [V6]:PORT)" },
	{ "control { group -x }\n", "t.conf:1:17: group '-x': a group is a "
	  "name of letters, digits, '.', '_' and '-'" },
	{ "control { socket run/s }\n", "t.conf:1:18: socket 'run/s': path "
	  "must be absolute" },
	{ "timezone ../etc/passwd\n", "t.conf:1:10: timezone "
	  "'../etc/passwd': not a time zone name (like UTC or Europe/Berlin)" },
	{ "tls { certificate /c key /k }\n",
	  "t.conf:1:1: the tls block has no 'ca' (required)" },
	{ "tls { certificate /c key /k ca /a bogus /x }\n",
	  "t.conf:1:35: unknown keyword 'bogus' in the tls block" },
	{ "tls { bogus /x certificate /c key /k ca /a }\n",
	  "t.conf:1:7: unknown keyword 'bogus' in the tls block" },
	{ "tls { bogus { x } certificate /c key /k ca /a }\n",
	  "t.conf:1:7: unknown keyword 'bogus' in the tls block" },
	{ "tls { certificate c key /k ca /a }\n",
	  "t.conf:1:19: certificate 'c': path must be absolute" },
	{ "tls\n", "t.conf:1:1: the tls block: expected '{', found end of "
	  "file" },
	{ "tls {\ncertificate /c key /k ca /a\n",
	  "t.conf:1:5: missing '}' to close the tls block" },

	/* lexer */
	{ "}\n", "t.conf:1:1: unexpected '}' with no block open" },
	{ "\"tls\" { }\n", "t.conf:1:1: expected a keyword in the top level, "
	  "found a quoted string" },
	{ "{ }\n", "t.conf:1:1: expected a keyword in the top level, "
	  "found '{'" },
	{ "state-dir \"/a\n", "t.conf:1:11: unterminated quoted string" },
	{ "state-dir \"/a\\q\"\n", "t.conf:1:14: unknown escape sequence "
	  "'\\q' in string (use \\\", \\\\, \\n or \\t)" },
	{ "state-dir /a\001\n", "t.conf:1:13: invalid control character "
	  "0x01" },

	/* jobs */
	{ "job j { source /s }\n",
	  "t.conf:1:1: job 'j' has no 'snapshot-dir' (required)" },
	{ "job j { snapshot-dir /s }\n",
	  "t.conf:1:1: job 'j' has no 'source' (required)" },
	{ "job -j { source /s snapshot-dir /d }\n", "t.conf:1:5: job '-j': a "
	  "name has only letters, digits, '_' and '-', and does not start "
	  "with '-'" },
	{ "job j.k { source /s snapshot-dir /d }\n", "t.conf:1:5: job 'j.k': "
	  "a name has only letters, digits, '_' and '-', and does not start "
	  "with '-'" },
	/* names reach logs and the wire: no control byte, even quoted */
	{ "job \"j\\nk\" { source /s snapshot-dir /d }\n", "t.conf:1:5: job "
	  "'j\nk': a name has only letters, digits, '_' and '-', and does "
	  "not start with '-'" },
	{ "job \"j\x7f\" { source /s snapshot-dir /d }\n", "t.conf:1:5: job "
	  "'j\x7f': a name has only letters, digits, '_' and '-', and does "
	  "not start with '-'" },
	{ TLS "target \"t\\tu\" { address h:1 }\n", "t.conf:2:8: target "
	  "'t\tu': a name has only letters, digits, '_' and '-', and does "
	  "not start with '-'" },
	{ "job { source /s snapshot-dir /d }\n", "t.conf:1:1: missing value "
	  "after 'job' (found '{')" },
	{ "job j source /s\n", "t.conf:1:1: job 'j': expected '{', found a "
	  "word" },
	{ JOB("") JOB(""), "t.conf:6:5: duplicate job 'j' (first defined at "
	  "t.conf:1:1)" },
	{ JOB("source /t"), "t.conf:4:1: duplicate 'source' in job 'j' "
	  "(first given at t.conf:2:1)" },
	{ JOB("send-to nope"),
	  "t.conf:4:9: job 'j' sends to unknown target 'nope'" },
	{ JOB("send-to"), "t.conf:4:1: missing value after 'send-to' "
	  "(found end of line)" },
	{ JOB("schedule every 5"), "t.conf:4:16: schedule every '5': "
	  "missing unit (s, m, h, d or w)" },
	{ JOB("schedule every 10 minutes"), "t.conf:4:16: schedule every "
	  "'10': missing unit (s, m, h, d or w)" },
	{ JOB("schedule daily at 3:00"), "t.conf:4:10: schedule 'daily': "
	  "expected every DURATION, at HH:MM or manual" },
	{ JOB("schedule every 5x"), "t.conf:4:16: schedule every '5x': "
	  "unknown unit (use s, m, h, d or w)" },
	{ JOB("schedule every 1h30m"), "t.conf:4:16: schedule every '1h30m': "
	  "unknown unit (use s, m, h, d or w)" },
	{ JOB("schedule every 0s"), "t.conf:4:16: schedule every '0s': the "
	  "interval must be more than 0s" },
	{ JOB("schedule every -1h"), "t.conf:4:16: schedule every '-1h': "
	  "expected a decimal number" },
	{ JOB("schedule every 3651d"), "t.conf:4:16: schedule every '3651d': "
	  "duration too long (at most 3650d)" },
	{ JOB("schedule every 522w"), "t.conf:4:16: schedule every '522w': "
	  "duration too long (at most 3650d)" },
	{ JOB("schedule every 18446744073709551616s"), "t.conf:4:16: "
	  "schedule every '18446744073709551616s': number too large" },
	{ JOB("schedule every"), "t.conf:4:1: missing value after 'schedule "
	  "every' (found end of line)" },
	{ JOB("schedule at 24:00"), "t.conf:4:13: schedule at '24:00': "
	  "expected HH:MM (00:00 to 23:59)" },
	{ JOB("schedule at 12:60"), "t.conf:4:13: schedule at '12:60': "
	  "expected HH:MM (00:00 to 23:59)" },
	{ JOB("schedule at noon"), "t.conf:4:13: schedule at 'noon': "
	  "expected HH:MM (00:00 to 23:59)" },
	{ JOB("schedule sometimes"), "t.conf:4:10: schedule 'sometimes': "
	  "expected every DURATION, at HH:MM or manual" },
	{ JOB("schedule"), "t.conf:4:1: missing value after 'schedule' "
	  "(found end of line)" },
	{ JOB("protocol 3"), "t.conf:4:10: protocol '3': expected 1, 2 or "
	  "auto" },
	{ JOB("compressed-data maybe"), "t.conf:4:17: compressed-data "
	  "'maybe': expected yes or no" },
	{ JOB("keep-source { }"), "t.conf:4:1: empty keep-source block: give "
	  "at least one of hourly, daily, weekly, monthly, yearly or min-age" },
	{ JOB("keep-source {\n}"), "t.conf:4:1: empty keep-source block: give "
	  "at least one of hourly, daily, weekly, monthly, yearly or min-age" },
	{ JOB("keep-source { daily 0 min-age 0s }"), "t.conf:4:1: keep-source "
	  "keeps no snapshots: every count and min-age is 0" },
	{ JOB("keep-source { daily 1000001 }"), "t.conf:4:21: daily "
	  "'1000001': expected a count from 0 to 1000000" },
	{ JOB("keep-source { yearly 99999999999999999999 }"), "t.conf:4:22: "
	  "yearly '99999999999999999999': expected a count from 0 to 1000000" },
	{ JOB("keep-source { min-age 1y }"), "t.conf:4:23: min-age '1y': "
	  "unknown unit (use s, m, h, d or w)" },
	{ JOB("keep-source { hourly 1 hourly 2 }"), "t.conf:4:24: duplicate "
	  "'hourly' in keep-source (first given at t.conf:4:15)" },
	{ JOB("keep-source { hourly 1 bogus 2 }"), "t.conf:4:24: unknown "
	  "keyword 'bogus' in keep-source" },
	{ JOB("keep-source daily 1"), "t.conf:4:1: keep-source: expected '{', "
	  "found a word" },
	{ JOB("keep-target { daily 1 }"),
	  "t.conf:1:1: job 'j' has keep-target but no send-to" },
	{ JOB("on-success \"echo hi\""), "t.conf:4:12: on-success 'echo hi': "
	  "command must start with an absolute program path" },
	{ JOB("on-failure"), "t.conf:4:1: missing value after 'on-failure' "
	  "(found end of line)" },
	{ JOB("before-snapshot \"sync\""), "t.conf:4:17: before-snapshot "
	  "'sync': command must start with an absolute program path" },

	/* targets */
	{ "target t {\naddress h:1\n}\n", "t.conf:1:1: a tls block is required "
	  "when a target or a receive block is configured" },
	{ TARGET("name h"), "t.conf:2:1: target 't' has no 'address' "
	  "(required)" },
	{ TARGET("address h"), "t.conf:3:9: address 'h': missing port "
	  "(expected HOST:PORT or [V6]:PORT)" },
	{ TARGET("address h:"), "t.conf:3:9: address 'h:': missing port" },
	{ TARGET("address h:0"), "t.conf:3:9: address 'h:0': port must be a "
	  "number from 1 to 65535" },
	{ TARGET("address h:65536"), "t.conf:3:9: address 'h:65536': port "
	  "must be a number from 1 to 65535" },
	{ TARGET("address h:http"), "t.conf:3:9: address 'h:http': port "
	  "must be a number from 1 to 65535" },
	{ TARGET("address :1"), "t.conf:3:9: address ':1': a host name has 1 "
	  "to 253 characters" },
	{ TARGET("address h/x:1"), "t.conf:3:9: address 'h/x:1': a host name "
	  "has only letters, digits, '.', ':', '-', '_' and '*', and does not "
	  "start with '.' or '-'" },
	{ TARGET("address ::1:7464"), "t.conf:3:9: address '::1:7464': IPv6 "
	  "addresses must be in brackets: [V6]:PORT" },
	{ TARGET("address [::1]7464"), "t.conf:3:9: address '[::1]7464': "
	  "missing port (expected [V6]:PORT)" },
	{ TARGET("address [::1:7464"), "t.conf:3:9: address '[::1:7464': "
	  "missing ']' after IPv6 address" },
	{ TARGET("address [::g]:1"), "t.conf:3:9: address '[::g]:1': bad "
	  "IPv6 address" },
	{ TARGET("address [1.2.3.4]:1"), "t.conf:3:9: address '[1.2.3.4]:1': "
	  "bad IPv6 address" },
	{ TARGET("address h:1\nbandwidth 0"), "t.conf:4:11: bandwidth '0': "
	  "must be more than 0 (leave bandwidth out for no limit)" },
	{ TARGET("address h:1\nbandwidth 5X"), "t.conf:4:11: bandwidth '5X': "
	  "unknown unit (use K, M, G or T, powers of 1024)" },
	{ TARGET("address h:1\nbandwidth 5MB"), "t.conf:4:11: bandwidth "
	  "'5MB': unknown unit (use K, M, G or T, powers of 1024)" },
	{ TARGET("address h:1\nbandwidth 16777216T"), "t.conf:4:11: "
	  "bandwidth '16777216T': size too large" },
	{ TARGET("address h:1\ncompress lz4"), "t.conf:4:10: compress "
	  "'lz4': expected none or zstd" },
	{ TARGET("address h:1\nname \"a b\""), "t.conf:4:6: name 'a b': a "
	  "host name has only letters, digits, '.', ':', '-', '_' and '*', and "
	  "does not start with '.' or '-'" },
	{ TLS "target t { address h:1 }\ntarget t { address h:2 }\n",
	  "t.conf:3:8: duplicate target 't' (first defined at t.conf:2:1)" },
	{ TLS "target t { address h:1 }\njob j {\nsource /s\nsnapshot-dir /d\n"
	  "send-to t t\n}\n", "t.conf:6:11: target 't' listed twice" },

	/* receive */
	{ "receive { listen h:1 root /r client c }\n", "t.conf:1:1: a tls "
	  "block is required when a target or a receive block is configured" },
	{ TLS "receive {\nroot /r\nclient c\n}\n",
	  "t.conf:2:1: the receive block has no 'listen' (required)" },
	{ TLS "receive {\nlisten h:1\nclient c\n}\n",
	  "t.conf:2:1: the receive block has no 'root' (required)" },
	{ TLS "receive {\nlisten h:1\nroot /r\n}\n",
	  "t.conf:2:1: the receive block has no 'client' (required)" },
	{ TLS "receive {\nlisten h:1\nroot /r\nclient c d c\n}\n",
	  "t.conf:5:12: client 'c' listed twice" },
	{ TLS "receive {\nlisten h:1\nroot /r\nclient ..\n}\n",
	  "t.conf:5:8: client '..': a host name has only letters, digits, "
	  "'.', ':', '-', '_' and '*', and does not start with '.' or '-'" },
	{ TLS "receive {\nlisten h:1\nroot /r\nclient c\nroot /s\n}\n",
	  "t.conf:6:1: duplicate 'root' in the receive block (first given at "
	  "t.conf:4:1)" },
};

static void
test_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++)
		expect_error(error_cases[i].text, error_cases[i].msg);
}

/* A NUL inside the text must be seen, not end the parse silently. */
static void
test_nul_byte(void **state)
{
	static const char text[] = "state-dir /a\0b\n";
	struct conf_errors errs;
	struct conf *c;

	(void)state;
	c = conf_load_buffer("t.conf", text, sizeof(text) - 1, &errs);
	assert_null(c);
	assert_int_equal(errs.n, 2);
	assert_string_equal(errs.msg[0],
	    "t.conf:1:13: invalid control character 0x00");
	assert_string_equal(errs.msg[1],
	    "t.conf:1:14: unknown keyword 'b' in the top level");
	conf_errors_free(&errs);
}

/* Parsing goes on after an error and reports every one, in order. */
static void
test_all_errors_reported(void **state)
{
	struct conf_errors errs;
	struct conf *c;

	(void)state;
	c = parse("state-dir relative\n"
	    "job j {\n"
	    "\tsource /s\n"
	    "\tsnapshot-dir /d\n"
	    "\tschedule every 10q\n"
	    "\tsend-to ghost\n"
	    "}\n"
	    "max-transfers 1\n", &errs);
	assert_null(c);
	assert_int_equal(errs.n, 3);
	assert_string_equal(errs.msg[0],
	    "t.conf:1:11: state-dir 'relative': path must be absolute");
	assert_string_equal(errs.msg[1], "t.conf:5:17: schedule every '10q': "
	    "unknown unit (use s, m, h, d or w)");
	assert_string_equal(errs.msg[2],
	    "t.conf:6:10: job 'j' sends to unknown target 'ghost'");
	conf_errors_free(&errs);
}

static void
test_error_limit(void **state)
{
	struct conf_errors errs;
	char *text;
	size_t i;

	(void)state;
	text = calloc(150, 7);
	assert_non_null(text);
	for (i = 0; i < 150; i++)
		strcat(text, "bogus\n");
	assert_null(parse(text, &errs));
	assert_int_equal(errs.n, CONF_MAX_ERRORS);
	assert_int_equal(errs.dropped, 150 - CONF_MAX_ERRORS);
	assert_string_equal(errs.msg[99],
	    "t.conf:100:1: unknown keyword 'bogus' in the top level");
	conf_errors_free(&errs);
	free(text);
}

static char tmpdir[64];

static void
write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int
setup_dir(void **state)
{
	char sub[128];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_conf.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	return mkdir(sub, 0700);
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct conf *
load(const char *rel, struct conf_errors *errs)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	return conf_load(path, errs);
}

/* The single error of loading rel, with "DIR" standing for tmpdir. */
static void
expect_load_error(const char *rel, const char *fmt)
{
	struct conf_errors errs;
	char want[1024];

	snprintf(want, sizeof(want), fmt, tmpdir, tmpdir, tmpdir);
	assert_null(load(rel, &errs));
	if (errs.n != 1 || strcmp(errs.msg[0], want) != 0) {
		conf_errors_print(stderr, &errs);
		fail_msg("expected only: %s", want);
	}
	conf_errors_free(&errs);
}

static void
test_include_relative(void **state)
{
	struct conf_errors errs;
	struct conf *c;

	(void)state;
	write_file("main.conf", "include \"sub/a.conf\"\nstate-dir /x\n");
	write_file("sub/a.conf", "# relative to sub/\ninclude b.conf\n"
	    "max-transfers 5\n");
	write_file("sub/b.conf", "timezone UTC\nmetrics listen [::1]:9\n");
	c = load("main.conf", &errs);
	assert_non_null(c);
	assert_string_equal(c->state_dir, "/x");
	assert_int_equal(c->max_transfers, 5);
	assert_true(c->metrics_set);
	assert_int_equal(c->metrics_listen.port, 9);
	conf_free(c);

	/* Errors name the included file and its own lines. */
	write_file("sub/b.conf", "\n  bogus\n");
	expect_load_error("main.conf", "%s/sub/b.conf:2:3: unknown keyword "
	    "'bogus' in the top level");
	/* Duplicates are caught across files. */
	write_file("sub/b.conf", "state-dir /y\n");
	expect_load_error("main.conf", "%s/main.conf:2:1: duplicate "
	    "'state-dir' in the top level (first given at %s/sub/b.conf:1:1)");
}

/* A valid file of exactly size bytes: one comment line. */
static void
big_file(const char *rel, size_t size)
{
	char *text = malloc(size + 1);

	assert_non_null(text);
	memset(text, 'x', size);
	text[0] = '#';
	text[size - 1] = '\n';
	text[size] = '\0';
	write_file(rel, text);
	free(text);
}

static void
test_include_errors(void **state)
{
	struct conf_errors errs;
	struct conf *c;

	(void)state;
	write_file("loop1.conf", "include \"sub/loop2.conf\"\n");
	write_file("sub/loop2.conf", "include \"../loop1.conf\"\n");
	expect_load_error("loop1.conf", "%s/sub/loop2.conf:1:9: include loop: "
	    "%s/sub/../loop1.conf is already being read");
	write_file("self.conf", "max-transfers 3\ninclude self.conf\n");
	expect_load_error("self.conf", "%s/self.conf:2:9: include loop: "
	    "%s/self.conf is already being read");
	write_file("missing.conf", "include \"nope.conf\"\n");
	expect_load_error("missing.conf", "%s/missing.conf:1:9: cannot include "
	    "%s/nope.conf: No such file or directory");
	write_file("dir.conf", "include sub\n");
	expect_load_error("dir.conf", "%s/dir.conf:1:9: cannot include "
	    "%s/sub: Is a directory");
	write_file("noarg.conf", "include\n");
	expect_load_error("noarg.conf", "%s/noarg.conf:1:1: missing value "
	    "after 'include' (found end of line)");
	expect_load_error("absent.conf", "%s/absent.conf: cannot read: No such "
	    "file or directory");
	big_file("big.conf", 1 << 20);
	c = load("big.conf", &errs);
	assert_non_null(c);
	conf_free(c);
	big_file("big.conf", (1 << 20) + 1);
	expect_load_error("big.conf", "%s/big.conf: cannot read: File too "
	    "large");
	write_file("big-inc.conf", "include big.conf\n");
	expect_load_error("big-inc.conf", "%s/big-inc.conf:1:9: cannot include "
	    "%s/big.conf: File too large");
}

/* Deeper than the limit, without a loop: each file includes the next. */
static void
test_include_depth(void **state)
{
	char name[32], text[64];
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "d%d.conf", i);
		snprintf(text, sizeof(text), "include d%d.conf\n", i + 1);
		write_file(name, text);
	}
	write_file("d20.conf", "");
	expect_load_error("d0.conf", "%s/d15.conf:1:9: includes nested more "
	    "than 16 deep");
}

static void
test_timezone(void **state)
{
	struct conf_errors errs;
	struct conf *c;
	char zone[128];

	(void)state;
	snprintf(zone, sizeof(zone), "%s/Test", tmpdir);
	assert_int_equal(mkdir(zone, 0700), 0);
	write_file("Test/Zone", "TZif");
	setenv("TZDIR", tmpdir, 1);
	c = parse_ok("timezone Test/Zone\n");
	assert_string_equal(c->timezone, "Test/Zone");
	conf_free(c);
	c = parse("timezone Test/Other\n", &errs);
	assert_null(c);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0], "t.conf:1:10: timezone 'Test/Other': "
	    "unknown time zone (not in the zone database; is tzdata "
	    "installed?)");
	conf_errors_free(&errs);
	unsetenv("TZDIR");
}

static char *
print_to_string(const struct conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	conf_print(f, c);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* print(c) parses to a conf equal to c, and printing is a fixed point. */
static void
round_trip(const char *text)
{
	struct conf *a = parse_ok(text), *b;
	char *pa, *pb;

	pa = print_to_string(a);
	b = parse_ok(pa);
	assert_true(conf_equal(a, b));
	assert_true(conf_equal(b, a));
	pb = print_to_string(b);
	assert_string_equal(pa, pb);
	free(pa);
	free(pb);
	conf_free(a);
	conf_free(b);
}

static void
test_round_trip(void **state)
{
	(void)state;
	round_trip(design_example);
	round_trip("");
	round_trip(TLS
	    "max-transfers 7\n"
	    "state-dir \"/var/lib/with space/and \\\"quote\\\" \\\\ \\t tab\"\n"
	    "control { socket \"/run/a#b{c}\" }\n"
	    "target a { address [2001:db8::1]:7464 bandwidth 1536 }\n"
	    "target b { address 10.0.0.1:1 name cert.example compress none }\n"
	    "job one {\n"
	    "  source \"/srv/new\\nline\"\n"
	    "  snapshot-dir /s\n"
	    "  schedule at 3:07\n"
	    "  send-to a\n"
	    "  send-to b\n"
	    "  protocol 2\n"
	    "  keep-source { yearly 3 min-age 90s }\n"
	    "  keep-target { hourly 1 }\n"
	    "  snapshot-if-changed yes\n"
	    "  before-snapshot \"/usr/local/bin/db-freeze --wait 5\"\n"
	    "  on-success \"/usr/bin/logger -t btrsend 'ok done'\"\n"
	    "  on-failure /bin/false\n"
	    "}\n"
	    "job two { source /a snapshot-dir /b schedule every 36h "
	    "protocol 1 }\n"
	    "receive {\n"
	    "  listen [::]:7464\n"
	    "  listen 0.0.0.0:7464\n"
	    "  root /srv/backup\n"
	    "  client x.example y.example\n"
	    "}\n");
	round_trip(TLS "target a { address h:1 timeout 90s }\n"
	    "receive { listen h:2 root /r timeout 2h client c }\n");
}

/*
 * `timeout` in target and receive blocks: seconds, 1s..1d, 0 (unset)
 * meaning the default; printed only when set.
 */
static void
test_timeout(void **state)
{
	struct conf *c;
	char *p;

	(void)state;
	c = parse_ok(TLS "target a { address h:1 timeout 90s }\n"
	    "target b { address h:1 }\n"
	    "receive { listen h:2 root /r timeout 1h client c }\n");
	assert_int_equal(c->targets[0].timeout, 90);
	assert_int_equal(c->targets[1].timeout, 0);
	assert_int_equal(c->receive.timeout, 3600);
	p = print_to_string(c);
	assert_non_null(strstr(p, "\ttimeout 90s\n"));
	assert_non_null(strstr(p, "\ttimeout 1h\n"));
	assert_null(strstr(strstr(p, "target b"), "timeout 90s"));
	free(p);
	conf_free(c);
	c = parse_ok(TLS "receive { listen h:2 root /r client c }\n");
	assert_int_equal(c->receive.timeout, 0);
	conf_free(c);
	expect_error(TARGET("address h:1\ntimeout 0s"),
	    "t.conf:4:9: timeout '0s': must be from 1s to 1d");
	expect_error(TARGET("address h:1\ntimeout 2d"),
	    "t.conf:4:9: timeout '2d': must be from 1s to 1d");
	expect_error(TLS "receive { listen h:2 root /r timeout x client c }\n",
	    "t.conf:2:38: timeout 'x': expected a decimal number");
}

/*
 * The receive block's limits before and after authentication: defaults
 * printed, values parsed, ranges checked, a change seen by conf_equal.
 */
static void
test_receive_limits(void **state)
{
	struct conf *c, *d;
	char *p;

	(void)state;
	c = parse_ok(TLS "receive { listen h:2 root /r client c }\n");
	assert_int_equal(c->receive.handshake_timeout, 10);
	assert_int_equal(c->receive.max_handshakes, 64);
	assert_int_equal(c->receive.max_handshakes_addr, 8);
	assert_int_equal(c->receive.max_client_transfers, 4);
	p = print_to_string(c);
	assert_non_null(strstr(p, "\thandshake-timeout 10s\n"
	    "\tmax-handshakes 64\n\tmax-handshakes-per-address 8\n"
	    "\tmax-transfers-per-client 4\n"));
	free(p);
	d = parse_ok(TLS "receive { listen h:2 root /r client c\n"
	    "handshake-timeout 3s max-handshakes 4096\n"
	    "max-handshakes-per-address 1 max-transfers-per-client 256 }\n");
	assert_int_equal(d->receive.handshake_timeout, 3);
	assert_int_equal(d->receive.max_handshakes, 4096);
	assert_int_equal(d->receive.max_handshakes_addr, 1);
	assert_int_equal(d->receive.max_client_transfers, 256);
	assert_false(conf_equal(c, d));
	conf_free(c);
	conf_free(d);
	round_trip(TLS "receive { listen h:2 root /r client c "
	    "handshake-timeout 1m max-handshakes 9 max-handshakes-per-address 2 "
	    "max-transfers-per-client 1 }\n");
	expect_error(TLS "receive { listen h:2 root /r handshake-timeout 0s "
	    "client c }\n",
	    "t.conf:2:48: handshake-timeout '0s': must be from 1s to 1d");
	expect_error(TLS "receive { listen h:2 root /r max-handshakes 0 "
	    "client c }\n",
	    "t.conf:2:45: max-handshakes '0': expected a number from 1 to 4096");
	expect_error(TLS "receive { listen h:2 root /r "
	    "max-handshakes-per-address 4097 client c }\n",
	    "t.conf:2:57: max-handshakes-per-address '4097': expected a number "
	    "from 1 to 4096");
	expect_error(TLS "receive { listen h:2 root /r "
	    "max-transfers-per-client 257 client c }\n",
	    "t.conf:2:55: max-transfers-per-client '257': expected a number "
	    "from 1 to 256");
}

static char *
replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out;

	assert_non_null(at);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(at - text), text, to,
	    at + strlen(from)) != -1);
	return out;
}

/* conf_equal sees a change in any one field. */
static void
test_equal_detects_changes(void **state)
{
	static const char *const changes[][2] = {
		{ "hourly 24", "hourly 23" },
		{ "monthly 24", "monthly 24 yearly 1" },
		{ "min-age 1h", "min-age 2h" },
		{ "every 1h", "every 2h" },
		{ "every 1h", "at 01:00" },
		{ "compress  zstd", "compress none" },
		{ "50M", "51M" },
		{ "net:7464", "net:7465" },
		{ "name      backup1.example.net", "name other.example" },
		{ "laptop.example.net", "laptop.example.net other" },
		{ "compressed-data yes", "compressed-data no" },
		{ "protocol        auto", "protocol 2" },
		{ "group btrsend", "group other" },
		{ "/srv/backup", "/srv/backup2" },
		{ "/srv/pool/@home", "/srv/pool/@home2" },
		{ "host.key", "other.key" },
		{ "state-dir /var/lib/btrsend", "state-dir /var/lib/x" },
		{ "127.0.0.1:9464", "[::1]:9464" },
		{ "0.0.0.0:7464 ", "0.0.0.0:7464\nlisten [::]:7464 " },
		{ "state-dir", "max-transfers 3\nstate-dir" },
		{ "    keep-target     { daily 30 weekly 12 monthly 24 }\n", "" },
		{ "}\n\nreceive", "on-success /bin/true\n}\n\nreceive" },
		{ "compress  zstd", "compress zstd timeout 2m" },
		{ "/srv/backup", "/srv/backup timeout 30s" },
		{ "/srv/backup", "/srv/backup stale-after 2d" },
		{ "/srv/backup", "/srv/backup on-stale /bin/true" },
	};
	struct conf *base = parse_ok(design_example), *c;
	char *text;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		text = replace(design_example, changes[i][0], changes[i][1]);
		c = parse_ok(text);
		if (conf_equal(base, c) || conf_equal(c, base))
			fail_msg("conf_equal missed: %s -> %s", changes[i][0],
			    changes[i][1]);
		conf_free(c);
		free(text);
	}
	conf_free(base);
}

/* The backup host's say over prunes: block defaults, client overrides. */
static void
test_receive_authority(void **state)
{
	const struct conf_authority *a;
	struct conf *c;

	(void)state;
	c = parse_ok(TLS "receive { listen h:2 root /r client c }\n");
	a = conf_receive_authority(&c->receive, "c");
	assert_int_equal(a->protect, 0);
	assert_int_equal(a->keep_min, 0);
	assert_false(a->append_only);
	conf_free(c);
	c = parse_ok(TLS "receive {\n"
	    "listen h:2\n"
	    "root /r\n"
	    "client lap {\n"
	    "\tprotect 2d\n"
	    "\tappend-only yes\n"
	    "}\n"
	    "client a b\n"
	    "protect 30d\n"
	    "keep-min 5\n"
	    "client d { keep-min 0 }\n"
	    "}\n");
	assert_int_equal(c->receive.nclients, 4);
	a = conf_receive_authority(&c->receive, "lap");
	assert_int_equal(a->protect, 2 * 86400);
	assert_int_equal(a->keep_min, 5);       /* the block's, given later */
	assert_true(a->append_only);
	a = conf_receive_authority(&c->receive, "b");
	assert_int_equal(a->protect, 30 * 86400);
	assert_int_equal(a->keep_min, 5);
	assert_false(a->append_only);
	a = conf_receive_authority(&c->receive, "d");
	assert_int_equal(a->protect, 30 * 86400);
	assert_int_equal(a->keep_min, 0);
	conf_free(c);
	round_trip(TLS "receive { listen h:2 root /r protect 1w keep-min 3 "
	    "append-only no\nclient c\nclient e { protect 1h }\n"
	    "client f { append-only yes keep-min 1 }\n}\n");
	expect_error(TLS "receive { listen h:2 root /r\nclient a b { "
	    "protect 1d }\n}\n",
	    "t.conf:3:1: a client block names one client: client NAME { ... }");
	/* A name listed twice is that one mistake, block or not. */
	expect_error(TLS "receive { listen h:2 root /r\nclient a\n"
	    "client a { protect 1d }\n}\n",
	    "t.conf:4:8: client 'a' listed twice");
	expect_error(TLS "receive { listen h:2 root /r\nclient a { "
	    "root /x }\n}\n",
	    "t.conf:3:12: unknown keyword 'root' in the client block");
	expect_error(TLS "receive { listen h:2 root /r client a\n"
	    "append-only maybe }\n",
	    "t.conf:3:13: append-only 'maybe': expected yes or no");
}

/* stale-after: off by default, the block's, a client's own; on-stale. */
static void
test_receive_stale(void **state)
{
	struct conf *c;

	(void)state;
	c = parse_ok(TLS "receive { listen h:2 root /r client c }\n");
	assert_int_equal(conf_receive_authority(&c->receive, "c")->stale_after,
	    0);
	assert_null(c->receive.on_stale);
	conf_free(c);
	c = parse_ok(TLS "receive {\n"
	    "listen h:2\n"
	    "root /r\n"
	    "client lap { stale-after 2s }\n"
	    "client b\n"
	    "stale-after 2d\n"
	    "on-stale \"/bin/alert x\"\n"
	    "}\n");
	assert_int_equal(conf_receive_authority(&c->receive, "lap")->
	    stale_after, 2);
	assert_int_equal(conf_receive_authority(&c->receive, "b")->stale_after,
	    2 * 86400);
	assert_string_equal(c->receive.on_stale, "/bin/alert x");
	conf_free(c);
	round_trip(TLS "receive { listen h:2 root /r stale-after 3d "
	    "on-stale \"/bin/true\"\nclient c\nclient e { stale-after 1h }\n}\n");
	expect_error(TLS "receive { listen h:2 root /r client a\n"
	    "client b { on-stale /bin/true }\n}\n",
	    "t.conf:3:12: unknown keyword 'on-stale' in the client block");
}

/* min-free: top level is the jobs' default, a job's own wins. */
static void
test_min_free(void **state)
{
	struct conf *c;

	(void)state;
	c = parse_ok("job a { source /a snapshot-dir /s schedule every 1h }\n");
	assert_int_equal(c->min_free, 0);
	assert_int_equal(c->jobs[0].min_free, 0);
	conf_free(c);
	/* the default given after the job still applies to it */
	c = parse_ok("job a { source /a snapshot-dir /s schedule every 1h }\n"
	    "job b { source /b snapshot-dir /s schedule every 1h "
	    "min-free 0 }\n"
	    "job c { source /c snapshot-dir /s schedule every 1h "
	    "min-free 512M }\n"
	    "min-free 1G\n");
	assert_int_equal(c->min_free, 1ULL << 30);
	assert_int_equal(c->jobs[0].min_free, 1ULL << 30);
	assert_int_equal(c->jobs[1].min_free, 0);
	assert_int_equal(c->jobs[2].min_free, 512ULL << 20);
	conf_free(c);
	round_trip("min-free 2G\njob a { source /a snapshot-dir /s "
	    "schedule every 1h min-free 10M }\n");
	expect_error("min-free 12X\n",
	    "t.conf:1:10: min-free '12X': unknown unit (use K, M, G or T, "
	    "powers of 1024)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_error_limit),
		cmocka_unit_test_setup_teardown(test_include_relative,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_include_errors,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_include_depth,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_timezone,
		    setup_dir, teardown_dir),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_receive_authority),
		cmocka_unit_test(test_receive_stale),
		cmocka_unit_test(test_min_free),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_receive_limits),
		cmocka_unit_test(test_equal_detects_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
