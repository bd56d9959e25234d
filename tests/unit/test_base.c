/*
 * The base layer's helpers (proto/base): the hex codec, the size
 * formatter, the JSON emitter and the atomic file replace.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/base/file.h"
#include "proto/base/fmt.h"
#include "proto/base/hex.h"
#include "proto/base/json.h"

static void
test_hex_round_trip(void **state)
{
	const uint8_t in[] = { 0x00, 0x7f, 0x80, 0xff, 0xa5 };
	uint8_t out[5];
	char s[11];

	(void)state;
	assert_int_equal(hex_encode(s, sizeof(s), in, sizeof(in)), 0);
	assert_string_equal(s, "007f80ffa5");
	assert_int_equal(hex_decode(out, sizeof(out), s, HEX_LOWER), 0);
	assert_memory_equal(in, out, sizeof(in));
	/* One byte short for the NUL: refused, nothing written. */
	memset(s, 'z', sizeof(s));
	assert_int_equal(hex_encode(s, sizeof(s) - 1, in, sizeof(in)), -1);
	assert_int_equal(s[0], 'z');
	assert_int_equal(hex_encode(s, 1, in, 0), 0);
	assert_string_equal(s, "");
}

static void
test_hex_decode_refuses(void **state)
{
	uint8_t out[4] = { 1, 2, 3, 4 };

	(void)state;
	assert_int_equal(hex_decode(out, 2, "AbCd", HEX_ANYCASE), 0);
	assert_int_equal(out[0], 0xab);
	assert_int_equal(out[1], 0xcd);
	out[0] = 1;
	assert_int_equal(hex_decode(out, 2, "AbCd", HEX_LOWER), -1);
	/* Short strings stop at their NUL; a bad digit late leaves out. */
	assert_int_equal(hex_decode(out, 2, "ab", HEX_ANYCASE), -1);
	assert_int_equal(hex_decode(out, 1, "a", HEX_ANYCASE), -1);
	assert_int_equal(hex_decode(out, 1, "", HEX_ANYCASE), -1);
	assert_int_equal(hex_decode(out, 2, "abcg", HEX_ANYCASE), -1);
	assert_int_equal(hex_decode(out, 2, "ab c", HEX_ANYCASE), -1);
	assert_int_equal(out[0], 1);
	assert_int_equal(hex_digit('f', HEX_LOWER), 15);
	assert_int_equal(hex_digit('F', HEX_LOWER), -1);
	assert_int_equal(hex_digit('F', HEX_ANYCASE), 15);
	assert_int_equal(hex_digit('g', HEX_ANYCASE), -1);
	assert_int_equal(hex_digit('\0', HEX_ANYCASE), -1);
}

static void
test_fmt_size(void **state)
{
	char b[FMT_SIZE_LEN];

	(void)state;
	fmt_size(b, sizeof(b), 0, 0);
	assert_string_equal(b, "0 B");
	fmt_size(b, sizeof(b), 1023, 0);
	assert_string_equal(b, "1023 B");
	fmt_size(b, sizeof(b), 1536, 0);
	assert_string_equal(b, "1.5 KiB");
	fmt_size(b, sizeof(b), 412ull << 20 | 300ull << 10, 0);
	assert_string_equal(b, "412.3 MiB");
	fmt_size(b, sizeof(b), 3ull << 40, 0);
	assert_string_equal(b, "3.0 TiB");
	fmt_size(b, sizeof(b), UINT64_MAX, 0);
	assert_string_equal(b, "16.0 EiB");
	fmt_size(b, sizeof(b), UINT64_MAX, FMT_SIZE_SHORT);
	assert_string_equal(b, "16.0E");
	fmt_size(b, sizeof(b), (1ull << 40) - 1, FMT_SIZE_SHORT);
	assert_string_equal(b, "1024.0G");
}

/* The document the calls in fn make, and json_finish's result. */
static char *
json_capture(void (*fn)(struct json *), int *rv)
{
	struct json j;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	json_start(&j, f);
	fn(&j);
	*rv = json_finish(&j);
	fclose(f);
	return buf;
}

static void
nested(struct json *j)
{
	json_object(j, NULL);
	json_int(j, "version", 1);
	json_array(j, "a");
	json_object(j, NULL);
	json_end(j);
	json_uint(j, NULL, UINT64_MAX);
	json_array(j, NULL);
	json_end(j);
	json_null(j, NULL);
	json_end(j);
	json_object(j, "o");
	json_bool(j, "t", 1);
	json_bool(j, "f", 0);
	json_int(j, "n", INT64_MIN);
	json_end(j);
	json_array(j, "e");
	json_end(j);
	json_end(j);
}

static void
test_json_nesting(void **state)
{
	char *out;
	int rv;

	(void)state;
	out = json_capture(nested, &rv);
	assert_int_equal(rv, 0);
	assert_string_equal(out, "{\"version\":1,\"a\":[{},"
	    "18446744073709551615,[],null],\"o\":{\"t\":true,\"f\":false,"
	    "\"n\":-9223372036854775808},\"e\":[]}\n");
	free(out);
}

static void
strings(struct json *j)
{
	json_array(j, NULL);
	/* Escapes; well-formed UTF-8 (2, 3 and 4 bytes) as is. */
	json_string(j, NULL, "q\"b\\n\nt\tc\001d\x7f"
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	/*
	 * Not UTF-8: a lone continuation, a truncated sequence, overlong
	 * '/', a surrogate, above U+10FFFF, 0xff, a lead at the end.
	 */
	json_string(j, NULL, "\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80|"
	    "\xf4\x90\x80\x80|\xff|\xc3");
	json_end(j);
}

static void
test_json_strings(void **state)
{
	char *out;
	int rv;

	(void)state;
	out = json_capture(strings, &rv);
	assert_int_equal(rv, 0);
	assert_string_equal(out, "[\"q\\\"b\\\\n\\nt\\u0009c\\u0001d"
	    "\\u007f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
	    "\"\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd|"
	    "\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd\\ufffd|"
	    "\\ufffd|\\ufffd\"]\n");
	free(out);
}

static void
unclosed(struct json *j)
{
	json_object(j, NULL);
	json_int(j, "a", 1);
}

static void
unnamed(struct json *j)
{
	json_object(j, NULL);
	json_int(j, NULL, 1);
	json_end(j);
}

static void
named_in_array(struct json *j)
{
	json_array(j, NULL);
	json_int(j, "a", 1);
	json_end(j);
}

static void
two_documents(struct json *j)
{
	json_null(j, NULL);
	json_null(j, NULL);
}

static void
too_deep(struct json *j)
{
	int i;

	for (i = 0; i <= JSON_MAX_DEPTH; i++)
		json_array(j, NULL);
	for (i = 0; i <= JSON_MAX_DEPTH; i++)
		json_end(j);
}

static void
test_json_misuse(void **state)
{
	void (*fns[])(struct json *) = {
		unclosed, unnamed, named_in_array, two_documents, too_deep,
	};
	size_t i;
	char *out;
	int rv;

	(void)state;
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		errno = 0;
		out = json_capture(fns[i], &rv);
		assert_int_equal(rv, -1);
		assert_int_equal(errno, EINVAL);
		free(out);
	}
}

static void
test_json_write_error(void **state)
{
	char small[8];
	struct json j;
	FILE *f;

	(void)state;
	/* A full disk: the error surfaces at the latest in the flush. */
	assert_non_null(f = fopen("/dev/full", "w"));
	json_start(&j, f);
	json_string(&j, NULL, "does not fit");
	assert_int_equal(json_finish(&j), -1);
	assert_int_equal(errno, ENOSPC);
	fclose(f);
	/* A short buffer without buffering: the write itself fails. */
	assert_non_null(f = fmemopen(small, sizeof(small), "w"));
	setvbuf(f, NULL, _IONBF, 0);
	json_start(&j, f);
	json_string(&j, NULL, "more than eight bytes");
	assert_int_equal(json_finish(&j), -1);
	fclose(f);
}

static void
slurp(int dirfd, const char *name, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	assert_true((fd = openat(dirfd, name, O_RDONLY)) != -1);
	assert_true((n = read(fd, buf, len - 1)) >= 0);
	buf[n] = '\0';
	close(fd);
}

static void
test_file_replace(void **state)
{
	char dir[] = "/tmp/test_base.XXXXXX", buf[64];
	struct stat sb;
	int dfd, fd;

	(void)state;
	umask(022);
	assert_non_null(mkdtemp(dir));
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) != -1);
	assert_int_equal(file_replace(dir, "f", "f.tmp", 0640, "one\n", 4), 0);
	slurp(dfd, "f", buf, sizeof(buf));
	assert_string_equal(buf, "one\n");
	assert_int_equal(fstatat(dfd, "f", &sb, 0), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	/* A crash left a stale temp file: it is replaced, not appended to. */
	assert_true((fd = openat(dfd, "f.tmp", O_WRONLY | O_CREAT, 0600)) != -1);
	assert_int_equal(write(fd, "stale stale", 11), 11);
	close(fd);
	assert_int_equal(file_replace_at(dfd, "f", "f.tmp", 0600, "two", 3), 0);
	slurp(dfd, "f", buf, sizeof(buf));
	assert_string_equal(buf, "two");
	assert_int_equal(faccessat(dfd, "f.tmp", F_OK, 0), -1);
	/* A temp name that cannot be created: old contents stay. */
	assert_int_equal(mkdirat(dfd, "d.tmp", 0700), 0);
	assert_int_equal(file_replace_at(dfd, "f", "d.tmp", 0600, "3", 1), -1);
	slurp(dfd, "f", buf, sizeof(buf));
	assert_string_equal(buf, "two");
	assert_int_equal(unlinkat(dfd, "d.tmp", AT_REMOVEDIR), 0);
	/* Renaming over a directory fails; the temp file is gone. */
	assert_int_equal(mkdirat(dfd, "d", 0700), 0);
	assert_int_equal(file_replace_at(dfd, "d", "d.tmp", 0600, "4", 1), -1);
	assert_int_equal(faccessat(dfd, "d.tmp", F_OK, 0), -1);
	assert_int_equal(unlinkat(dfd, "d", AT_REMOVEDIR), 0);
	assert_int_equal(file_replace("/nonexistent/x", "f", "f.tmp", 0600,
	    "", 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(unlinkat(dfd, "f", 0), 0);
	close(dfd);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_hex_decode_refuses),
		cmocka_unit_test(test_fmt_size),
		cmocka_unit_test(test_json_nesting),
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_json_misuse),
		cmocka_unit_test(test_json_write_error),
		cmocka_unit_test(test_file_replace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
