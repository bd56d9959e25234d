/*
 * A JSON writer that keeps the nesting itself: it places the commas,
 * checks that names are given inside objects and only there, escapes
 * strings and remembers the first write error.
 *
 * Strings are bytes, not necessarily UTF-8 (snapshot names, error text);
 * each byte that does not begin a well-formed UTF-8 sequence (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF) is written as
 * \ufffd, so the output is always valid JSON.  '"' and '\' are escaped
 * with a backslash, newline as \n, every other control and DEL as \u00XX;
 * the rest of well-formed UTF-8 goes out as is.
 */
#ifndef BTRSEND_PROTO_BASE_JSON_H
#define BTRSEND_PROTO_BASE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH	8

struct json {
	FILE		*f;
	size_t		 depth;		/* open objects and arrays */
	uint8_t		 array[JSON_MAX_DEPTH];	/* level is an array */
	uint8_t		 empty[JSON_MAX_DEPTH + 1]; /* nothing in it yet */
	int		 misuse;	/* calls did not nest */
	int		 error;		/* errno of the first failed write */
};

/* One document (one value, usually an object) to f. */
void	json_start(struct json *, FILE *f);

/*
 * A value: name is its member name inside an object and must be NULL in
 * an array or at the top.  json_object and json_array open a level that
 * json_end closes.
 */
void	json_object(struct json *, const char *name);
void	json_array(struct json *, const char *name);
void	json_end(struct json *);
void	json_string(struct json *, const char *name, const char *s);
void	json_uint(struct json *, const char *name, uint64_t);
void	json_int(struct json *, const char *name, int64_t);
void	json_bool(struct json *, const char *name, int);
void	json_null(struct json *, const char *name);

/*
 * End the document with a newline and flush.  0, or -1 with errno set:
 * a write failed (the stream's error), or EINVAL when the calls did not
 * nest (a level left open, a name missing or misplaced).
 */
int	json_finish(struct json *);

#endif
