/*
 * Feeding a stream into the apply engine (engine/apply_feed.c): the
 * numbering and digest it keeps, and what each way of stopping returns.
 * No command here reaches a file system: the first-command check stops
 * before one would.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/apply.h"
#include "engine/apply_feed.h"

static char tmpl[] = "/tmp/test_apply_feed.XXXXXX";
static int dirfd = -1;

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpl) == NULL)
		return -1;
	dirfd = open(tmpl, O_RDONLY | O_DIRECTORY);
	return dirfd == -1 ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	close(dirfd);
	return rmdir(tmpl);
}

/* A stream header and one SUBVOL command; its size. */
static size_t
stream_make(uint8_t *buf, size_t cap)
{
	struct stream_writer w;
	uint8_t uuid[16] = { 1 };

	stream_writer_init(&w, buf, cap, 1);
	assert_int_equal(stream_wr_header(&w), 0);
	stream_wr_begin(&w, SEND_C_SUBVOL);
	stream_wr_str(&w, SEND_A_PATH, "home.20260102T000000Z");
	stream_wr_uuid(&w, SEND_A_UUID, uuid);
	stream_wr_u64(&w, SEND_A_CTRANSID, 7);
	assert_true(stream_wr_end(&w) > 0);
	return w.pos;
}

static int seen;

static int
refuse(const struct stream_cmd *c, void *arg)
{
	(void)arg;
	assert_int_equal(c->type, SEND_C_SUBVOL);
	assert_int_equal(c->index, 0);
	assert_int_equal(c->offset, STREAM_HEADER_LEN);
	seen++;
	return -1;
}

/* Lent in pieces: headers applied and digested, the check stops the cmd. */
static void
test_lend(void **state)
{
	struct stream_digest want;
	struct apply_feed f;
	struct apply *a;
	uint8_t buf[512];
	size_t len;

	(void)state;
	len = stream_make(buf, sizeof(buf));
	assert_non_null(a = apply_new(dirfd, NULL));
	assert_int_equal(apply_feed_init(&f, a), 0);
	f.keep_digest = true;
	f.first = refuse;
	assert_int_equal(apply_feed_lend(&f, buf, 10), APPLY_FEED_MORE);
	assert_int_equal(apply_feed_lend(&f, buf + 10, STREAM_HEADER_LEN),
	    APPLY_FEED_MORE);
	assert_int_equal(apply_feed_offset(&f), STREAM_HEADER_LEN);
	stream_digest_init(&want);
	stream_digest_add(&want, buf, STREAM_HEADER_LEN);
	assert_memory_equal(f.digest.d, want.d, STREAM_DIGEST_LEN);
	seen = 0;
	assert_int_equal(apply_feed_lend(&f, buf + 10 + STREAM_HEADER_LEN,
	    len - 10 - STREAM_HEADER_LEN), APPLY_FEED_ESTOP);
	assert_int_equal(seen, 1);
	apply_feed_free(&f);
	apply_free(a);
}

/* A file, mapped: the same; a cut and a corrupt stream. */
static void
test_fd(void **state)
{
	struct apply_feed f;
	struct apply *a;
	uint8_t buf[512];
	char path[64];
	size_t len;
	int fd;

	(void)state;
	len = stream_make(buf, sizeof(buf));
	snprintf(path, sizeof(path), "%s/s", tmpl);
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_non_null(a = apply_new(dirfd, NULL));

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(apply_feed_init(&f, a), 0);
	f.first = refuse;
	assert_int_equal(apply_feed_fd(&f, fd), APPLY_FEED_ESTOP);
	assert_non_null(f.map);
	apply_feed_free(&f);
	assert_null(f.map);

	/* cut inside the command: the header was applied, then the cut */
	assert_int_equal(ftruncate(fd, STREAM_HEADER_LEN + 5), 0);
	apply_free(a);
	assert_non_null(a = apply_new(dirfd, NULL));
	assert_int_equal(apply_feed_init(&f, a), 0);
	assert_int_equal(apply_feed_fd(&f, fd), APPLY_FEED_ESTREAM);
	assert_false(f.r.err.in_header);
	assert_int_equal(apply_feed_offset(&f), STREAM_HEADER_LEN);
	apply_feed_free(&f);

	/* not a stream */
	assert_int_equal(pwrite(fd, "garbage", 7, 0), 7);
	apply_free(a);
	assert_non_null(a = apply_new(dirfd, NULL));
	assert_int_equal(apply_feed_init(&f, a), 0);
	assert_int_equal(apply_feed_fd(&f, fd), APPLY_FEED_ESTREAM);
	assert_true(f.r.err.in_header);
	apply_feed_free(&f);
	apply_free(a);
	close(fd);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lend),
		cmocka_unit_test(test_fd),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
