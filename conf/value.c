#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/value.h"
#include "proto/base/log.h"

struct conf_unit {
	char		 suffix;
	uint64_t	 mult;
};

/* Largest first: the printers pick the first unit that divides exactly. */
static const struct conf_unit conf_duration_units[] = {
	{ 'w', 604800 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
};
static const struct conf_unit conf_size_units[] = {
	{ 'T', 1ULL << 40 }, { 'G', 1ULL << 30 }, { 'M', 1ULL << 20 },
	{ 'K', 1ULL << 10 },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Leading decimal digits of s; *end is the first other character. */
static int
conf_digits(const char *s, uint64_t *out, const char **end, const char **why)
{
	uint64_t v = 0;

	if (*s < '0' || *s > '9') {
		*why = "expected a decimal number";
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) {
			*why = "number too large";
			return -1;
		}
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	*end = s;
	return 0;
}

int
conf_parse_number(const char *s, uint64_t max, uint64_t *out, const char **why)
{
	const char *end;
	uint64_t v;

	if (conf_digits(s, &v, &end, why) == -1)
		return -1;
	if (*end != '\0') {
		*why = "expected a decimal number";
		return -1;
	}
	if (v > max) {
		*why = "number out of range";
		return -1;
	}
	*out = v;
	return 0;
}

static const struct conf_unit *
conf_unit_find(const struct conf_unit *u, size_t n, char c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (u[i].suffix == c)
			return &u[i];
	return NULL;
}

/*
 * What tells a duration from a size when parsing one: the units, the
 * largest value and the refusals.  nounit NULL: a bare number counts in
 * the base unit.
 */
struct conf_quantity {
	const struct conf_unit	*units;
	size_t			 nunits;
	uint64_t		 max;
	const char		*nounit;
	const char		*badunit;
	const char		*toolarge;
};

static const struct conf_quantity conf_duration = {
	.units = conf_duration_units,
	.nunits = NELEM(conf_duration_units),
	.max = CONF_MAX_DURATION,
	.nounit = "missing unit (s, m, h, d or w)",
	.badunit = "unknown unit (use s, m, h, d or w)",
	.toolarge = "duration too long (at most 3650d)",
};
static const struct conf_quantity conf_size = {
	.units = conf_size_units,
	.nunits = NELEM(conf_size_units),
	.max = UINT64_MAX,
	.badunit = "unknown unit (use K, M, G or T, powers of 1024)",
	.toolarge = "size too large",
};

/* A decimal number and at most one unit suffix of q. */
static int
conf_parse_quantity(const char *s, const struct conf_quantity *q,
    uint64_t *out, const char **why)
{
	const struct conf_unit *u;
	const char *end;
	uint64_t v, mult = 1;

	if (conf_digits(s, &v, &end, why) == -1)
		return -1;
	if (*end == '\0' && q->nounit != NULL) {
		*why = q->nounit;
		return -1;
	}
	if (*end != '\0') {
		u = conf_unit_find(q->units, q->nunits, *end);
		if (u == NULL || end[1] != '\0') {
			*why = q->badunit;
			return -1;
		}
		mult = u->mult;
	}
	if (v > q->max / mult) {
		*why = q->toolarge;
		return -1;
	}
	*out = v * mult;
	return 0;
}

int
conf_parse_duration(const char *s, uint64_t *out, const char **why)
{
	return conf_parse_quantity(s, &conf_duration, out, why);
}

int
conf_parse_size(const char *s, uint64_t *out, const char **why)
{
	return conf_parse_quantity(s, &conf_size, out, why);
}

int
conf_parse_bool(const char *s, int *out, const char **why)
{
	if (strcmp(s, "yes") == 0)
		*out = 1;
	else if (strcmp(s, "no") == 0)
		*out = 0;
	else {
		*why = "expected yes or no";
		return -1;
	}
	return 0;
}

static int
conf_parse_port(const char *s, uint16_t *out, const char **why)
{
	uint64_t v;

	if (*s == '\0') {
		*why = "missing port";
		return -1;
	}
	if (conf_parse_number(s, 65535, &v, why) == -1 || v == 0) {
		*why = "port must be a number from 1 to 65535";
		return -1;
	}
	*out = (uint16_t)v;
	return 0;
}

static int
conf_parse_v6(const char *s, struct conf_addr *a, const char **why)
{
	const char *close = strchr(s, ']');
	struct in6_addr in6;
	char host[INET6_ADDRSTRLEN + 1];
	size_t len;

	if (close == NULL) {
		*why = "missing ']' after IPv6 address";
		return -1;
	}
	len = (size_t)(close - s - 1);
	if (len == 0 || len >= sizeof(host)) {
		*why = "bad IPv6 address";
		return -1;
	}
	memcpy(host, s + 1, len);
	host[len] = '\0';
	if (inet_pton(AF_INET6, host, &in6) != 1) {
		*why = "bad IPv6 address";
		return -1;
	}
	if (close[1] != ':') {
		*why = "missing port (expected [V6]:PORT)";
		return -1;
	}
	if (conf_parse_port(close + 2, &a->port, why) == -1)
		return -1;
	a->host = xstrdup(host);
	a->v6 = 1;
	return 0;
}

int
conf_parse_addr(const char *s, struct conf_addr *a, const char **why)
{
	const char *colon;
	char *host;

	memset(a, 0, sizeof(*a));
	if (*s == '[')
		return conf_parse_v6(s, a, why);
	colon = strrchr(s, ':');
	if (colon == NULL) {
		*why = "missing port (expected HOST:PORT or [V6]:PORT)";
		return -1;
	}
	if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
		*why = "IPv6 addresses must be in brackets: [V6]:PORT";
		return -1;
	}
	host = xmalloc((size_t)(colon - s) + 1);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (conf_check_host(host, why) == -1 ||
	    conf_parse_port(colon + 1, &a->port, why) == -1) {
		free(host);
		return -1;
	}
	a->host = host;
	return 0;
}

/* HH:MM, 24-hour clock; H:MM is accepted too. */
int
conf_parse_time(const char *s, int *hour, int *minute, const char **why)
{
	const char *p = s;
	int h = 0, m;

	*why = "expected HH:MM (00:00 to 23:59)";
	if (*p < '0' || *p > '9')
		return -1;
	h = *p++ - '0';
	if (*p >= '0' && *p <= '9')
		h = h * 10 + (*p++ - '0');
	if (*p++ != ':' || p[0] < '0' || p[0] > '5' || p[1] < '0' ||
	    p[1] > '9' || p[2] != '\0' || h > 23)
		return -1;
	m = (p[0] - '0') * 10 + (p[1] - '0');
	*hour = h;
	*minute = m;
	return 0;
}

static int
conf_chars_ok(const char *s, const char *extra)
{
	for (; *s != '\0'; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL)
			continue;
		return 0;
	}
	return 1;
}

/* Job and target names end up in snapshot names and receive paths. */
int
conf_check_name(const char *s, const char **why)
{
	if (*s == '\0' || strlen(s) > JOB_NAME_MAX) {
		*why = "a name has 1 to 64 characters";
		return -1;
	}
	if (!conf_chars_ok(s, "_-") || *s == '-') {
		*why = "a name has only letters, digits, '_' and '-', "
		    "and does not start with '-'";
		return -1;
	}
	return 0;
}

/*
 * Host names and certificate names (which may be IP addresses); clients
 * also become directory names.
 */
int
conf_check_host(const char *s, const char **why)
{
	if (*s == '\0' || strlen(s) > CONF_HOST_MAX) {
		*why = "a host name has 1 to 253 characters";
		return -1;
	}
	if (!conf_chars_ok(s, ".:-_*") || *s == '.' || *s == '-') {
		*why = "a host name has only letters, digits, '.', ':', '-', "
		    "'_' and '*', and does not start with '.' or '-'";
		return -1;
	}
	return 0;
}

int
conf_check_group(const char *s, const char **why)
{
	if (*s == '\0' || strlen(s) > 32 || !conf_chars_ok(s, "._-") ||
	    *s == '-') {
		*why = "a group is a name of letters, digits, '.', '_' and '-'";
		return -1;
	}
	return 0;
}

int
conf_check_path(const char *s, const char **why)
{
	if (*s != '/') {
		*why = "path must be absolute";
		return -1;
	}
	if (strlen(s) >= PATH_MAX) {
		*why = "path too long";
		return -1;
	}
	return 0;
}

int
conf_check_command(const char *s, const char **why)
{
	if (*s != '/') {
		*why = "command must start with an absolute program path";
		return -1;
	}
	if (strlen(s) >= 4096) {
		*why = "command too long";
		return -1;
	}
	return 0;
}

static int
conf_tz_name_ok(const char *s)
{
	if (*s == '\0' || *s == '/' || strlen(s) > 128 ||
	    !conf_chars_ok(s, "_+-/"))
		return 0;
	return 1;
}

/* An IANA zone name such as Europe/Berlin, present in the zone database. */
int
conf_check_timezone(const char *s, const char **why)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX];
	struct stat st;

	if (strcmp(s, "UTC") == 0)
		return 0;
	if (!conf_tz_name_ok(s)) {
		*why = "not a time zone name (like UTC or Europe/Berlin)";
		return -1;
	}
	if (dir == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof(path), "%s/%s", dir, s);
	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
		*why = "unknown time zone (not in the zone database; "
		    "is tzdata installed?)";
		return -1;
	}
	return 0;
}

static const char *
conf_fmt_units(uint64_t v, const struct conf_unit *u, size_t n,
    char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v != 0 && v % u[i].mult == 0) {
			snprintf(buf, len, "%llu%c",
			    (unsigned long long)(v / u[i].mult), u[i].suffix);
			return buf;
		}
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

const char *
conf_fmt_duration(uint64_t v, char *buf, size_t len)
{
	if (v == 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	return conf_fmt_units(v, conf_duration_units,
	    NELEM(conf_duration_units), buf, len);
}

const char *
conf_fmt_size(uint64_t v, char *buf, size_t len)
{
	return conf_fmt_units(v, conf_size_units, NELEM(conf_size_units),
	    buf, len);
}
