#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "proto/base/json.h"

static void
json_put(struct json *j, const char *s, size_t len)
{
	if (len == 0 || j->error != 0)
		return;
	errno = 0;
	if (fwrite(s, 1, len, j->f) != len)
		j->error = errno != 0 ? errno : EIO;
}

static void
json_puts(struct json *j, const char *s)
{
	json_put(j, s, strlen(s));
}

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629, table 3-7 of
 * Unicode), or 0.  p is NUL-terminated, which no continuation byte
 * matches, so it never reads past the end.
 */
static size_t
json_utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;		/* overlong */
	else if (p[0] == 0xed)
		hi = 0x9f;		/* surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90;		/* overlong */
	else if (p[0] == 0xf4)
		hi = 0x8f;		/* above U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static void
json_quote(struct json *j, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];
	size_t n;

	json_put(j, "\"", 1);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			json_put(j, esc, 2);
		} else if (*p == '\n')
			json_puts(j, "\\n");
		else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			json_puts(j, esc);
		} else if (*p < 0x80)
			json_put(j, (const char *)p, 1);
		else if ((n = json_utf8_len(p)) == 0)
			json_puts(j, "\\ufffd");
		else {
			json_put(j, (const char *)p, n);
			p += n;
			continue;
		}
		p++;
	}
	json_put(j, "\"", 1);
}

/* The comma and name before a value; -1 (and misuse) when misplaced. */
static int
json_member(struct json *j, const char *name)
{
	int in_object = j->depth > 0 && !j->array[j->depth - 1];

	if (j->misuse || (name != NULL) != in_object ||
	    (j->depth == 0 && !j->empty[0])) {
		j->misuse = 1;
		return -1;
	}
	if (!j->empty[j->depth])
		json_put(j, ",", 1);
	j->empty[j->depth] = 0;
	if (name != NULL) {
		json_quote(j, name);
		json_put(j, ":", 1);
	}
	return 0;
}

void
json_start(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->empty[0] = 1;
}

static void
json_open(struct json *j, const char *name, int array)
{
	if (j->depth == JSON_MAX_DEPTH)
		j->misuse = 1;
	if (json_member(j, name) == -1)
		return;
	json_put(j, array ? "[" : "{", 1);
	j->array[j->depth++] = (uint8_t)array;
	j->empty[j->depth] = 1;
}

void
json_object(struct json *j, const char *name)
{
	json_open(j, name, 0);
}

void
json_array(struct json *j, const char *name)
{
	json_open(j, name, 1);
}

void
json_end(struct json *j)
{
	if (j->misuse || j->depth == 0) {
		j->misuse = 1;
		return;
	}
	j->depth--;
	json_put(j, j->array[j->depth] ? "]" : "}", 1);
}

void
json_string(struct json *j, const char *name, const char *s)
{
	if (json_member(j, name) == 0)
		json_quote(j, s);
}

/* A number or literal, written as it is. */
static void
json_literal(struct json *j, const char *name, const char *text)
{
	if (json_member(j, name) == 0)
		json_puts(j, text);
}

void
json_uint(struct json *j, const char *name, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	json_literal(j, name, b);
}

void
json_int(struct json *j, const char *name, int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRId64, v);
	json_literal(j, name, b);
}

void
json_bool(struct json *j, const char *name, int v)
{
	json_literal(j, name, v ? "true" : "false");
}

void
json_null(struct json *j, const char *name)
{
	json_literal(j, name, "null");
}

int
json_finish(struct json *j)
{
	if (!j->misuse && (j->depth != 0 || j->empty[0]))
		j->misuse = 1;
	if (!j->misuse)
		json_put(j, "\n", 1);
	errno = 0;
	if (fflush(j->f) == EOF && j->error == 0)
		j->error = errno != 0 ? errno : EIO;
	if (ferror(j->f) && j->error == 0)
		j->error = EIO;
	if (j->error != 0 || j->misuse) {
		errno = j->error != 0 ? j->error : EINVAL;
		return -1;
	}
	return 0;
}
