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
		cmocka_unit_test(test_file_replace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
