/* Error classification of the send runner: what the daemon retries. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <linux/fs.h>
#include <stdlib.h>

#include "engine/fileattr.h"
#include "engine/send.h"
#include "engine/send_plan.h"

static void
test_temporary(void **state)
{
	static const int temp[] = { EAGAIN, EINTR, ENOMEM, EPIPE, ECANCELED,
	    EBUSY, ETIMEDOUT, ENOBUFS };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(temp) / sizeof(temp[0]); i++)
		if (send_classify(temp[i]) != ERR_TEMPORARY)
			fail_msg("%s should be temporary", strerror(temp[i]));
}

static void
test_permanent(void **state)
{
	static const int perm[] = { EPERM, EACCES, ENOENT, ENOTDIR, ENOTTY,
	    EINVAL, EPROTO, EOPNOTSUPP, EXDEV, EIO, EBADMSG };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(perm) / sizeof(perm[0]); i++)
		if (send_classify(perm[i]) != ERR_PERMANENT)
			fail_msg("%s should be permanent", strerror(perm[i]));
}

static void
test_none_and_unknown(void **state)
{
	(void)state;
	assert_int_equal(send_classify(0), ERR_NONE);
	/* Unknown errors are retried: a send only reads. */
	assert_int_equal(send_classify(EHOSTDOWN), ERR_TEMPORARY);
	assert_string_equal(err_class_name(ERR_NONE), "ok");
	assert_string_equal(err_class_name(ERR_TEMPORARY), "temporary");
	assert_string_equal(err_class_name(ERR_PERMANENT), "permanent");
}

static void
test_seterr_message(void **state)
{
	struct send_error e;

	(void)state;
	send_seterr(&e, EAGAIN, "send of %s", "/mnt/snap");
	assert_int_equal(e.cls, ERR_TEMPORARY);
	assert_int_equal(e.errnum, EAGAIN);
	assert_non_null(strstr(e.msg, "send of /mnt/snap"));
	assert_non_null(strstr(e.msg, strerror(EAGAIN)));
	/* strerror is not repeated when the message already has it. */
	send_seterr_named(&e, ENOENT, "x: %s", strerror(ENOENT));
	assert_ptr_equal(strstr(e.msg, strerror(ENOENT)),
	    strrchr(e.msg, ':') + 2);
	send_seterr(&e, 0, "plain");
	assert_string_equal(e.msg, "plain");
	assert_int_equal(e.cls, ERR_PERMANENT);
}

static void
test_nothing_to_send(void **state)
{
	struct send_params p;
	struct send_error e;
	struct send *s = (struct send *)&p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.proto = 1;
	assert_int_equal(send_start(&s, &p, &e), -1);
	assert_null(s);
	assert_int_equal(e.cls, ERR_PERMANENT);
	assert_non_null(strstr(e.msg, "no snapshot"));
}

/*
 * The flag pass reads raw btrfs inode flags; the subtree walker reads
 * FS_IOC_GETFLAGS.  Both must give the same FILEATTR value: the
 * kernel's mapping (spec Appendix C) of every combination of the bits
 * chattr shows, plus bits it hides (NODATASUM, PREALLOC, READONLY).
 */
static void
test_fileattr_same_value(void **state)
{
	static const struct { uint64_t btrfs; unsigned int fs; } map[] = {
		{ 1u << 1, FS_NOCOW_FL }, { 1u << 3, FS_NOCOMP_FL },
		{ 1u << 5, FS_SYNC_FL }, { 1u << 6, FS_IMMUTABLE_FL },
		{ 1u << 7, FS_APPEND_FL }, { 1u << 8, FS_NODUMP_FL },
		{ 1u << 9, FS_NOATIME_FL }, { 1u << 10, FS_DIRSYNC_FL },
		{ 1u << 11, FS_COMPR_FL },
	};
	const size_t n = sizeof(map) / sizeof(map[0]);
	uint64_t raw, hidden = 1u << 0 | 1u << 4 | 1u << 2;
	unsigned int fs, m;
	size_t i;

	(void)state;
	for (m = 0; m < 1u << n; m++) {
		raw = 0;
		fs = 0;
		for (i = 0; i < n; i++)
			if (m & 1u << i)
				raw |= map[i].btrfs;
		/* the kernel shows NOCOMPRESS, else COMPRESS */
		for (i = 0; i < n; i++)
			if ((raw & map[i].btrfs) && !(map[i].btrfs == 1u << 11 &&
			    (raw & 1u << 3)))
				fs |= map[i].fs;
		assert_int_equal(fileattr_from_btrfs(raw | hidden),
		    fileattr_from_fsflags(fs));
		/* NOCOMPRESS is left out (btrfs sets it by itself) */
		assert_int_equal(fileattr_from_btrfs(raw) & 1u << 3, 0);
		assert_int_equal(fileattr_from_btrfs(raw) == 0,
		    (raw & ~(uint64_t)(1u << 3 | 1u << 11)) == 0 &&
		    (!(raw & 1u << 11) || (raw & 1u << 3)));
	}
	assert_int_equal(fileattr_from_btrfs(hidden), 0);
}

/* A synthetic FILEATTR is one the stream reader accepts, field for field. */
static void
test_fileattr_cmd_parses(void **state)
{
	static const char *paths[] = { "", "dir", "dir/sub/a file" };
	uint8_t buf[STREAM_HEADER_LEN + 256];
	struct stream_reader r;
	struct stream_cmd mine, got;
	uint64_t v;
	size_t i;
	long n;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		stream_header_encode(buf, 2);
		n = fileattr_cmd(buf + STREAM_HEADER_LEN,
		    sizeof(buf) - STREAM_HEADER_LEN, 2, paths[i], 0x40 + i,
		    &mine);
		assert_true(n == (long)(STREAM_CMD_HEADER_LEN + 4 +
		    strlen(paths[i]) + 4 + 8));
		assert_int_equal(stream_reader_init(&r, NULL), 0);
		assert_int_equal(stream_reader_feed(&r, buf,
		    STREAM_HEADER_LEN + (size_t)n), 0);
		assert_int_equal(stream_reader_next(&r, &got), STREAM_HEADER);
		assert_int_equal(stream_reader_next(&r, &got), STREAM_CMD);
		assert_int_equal(got.type, SEND_C_FILEATTR);
		assert_int_equal(got.len, mine.len);
		assert_int_equal(got.crc, mine.crc);
		assert_int_equal(got.present, mine.present);
		assert_int_equal(got.attr[SEND_A_PATH].len,
		    mine.attr[SEND_A_PATH].len);
		assert_memory_equal(got.attr[SEND_A_PATH].data,
		    mine.attr[SEND_A_PATH].data, strlen(paths[i]) + 0);
		assert_int_equal(stream_get_u64(&mine, SEND_A_FILEATTR, &v), 0);
		assert_int_equal(v, 0x40 + i);
		assert_int_equal(stream_get_u64(&got, SEND_A_FILEATTR, &v), 0);
		assert_int_equal(v, 0x40 + i);
		stream_reader_free(&r);
	}
	/* too long for the buffer: refused, nothing claimed */
	assert_true(fileattr_cmd(buf, 20, 2, "a long path", 1, &mine) < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_temporary),
		cmocka_unit_test(test_permanent),
		cmocka_unit_test(test_none_and_unknown),
		cmocka_unit_test(test_seterr_message),
		cmocka_unit_test(test_nothing_to_send),
		cmocka_unit_test(test_fileattr_same_value),
		cmocka_unit_test(test_fileattr_cmd_parses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
