/*
 * proto/stream/dump.c: each command's line and the escaping rules, as printed by
 * `btrfs receive --dump` of btrfs-progs 6.2.
 *
 * How the expected strings were confirmed: every test builds its commands
 * with the codec writer into one v2 stream.  With DUMP_RECORD_DIR set,
 * each test also writes NAME.stream, NAME.expected (the lines it asserts)
 * and NAME.tz; tests/integration/dump_matches_progs.sh runs
 * `TZ=... btrfs receive --dump -f NAME.stream` (progs 6.2) on each and
 * requires its stdout to equal NAME.expected byte for byte, and its exit
 * status to be 1 exactly when the test ends with a command progs rejects.
 * The strings below were first taken from that progs output.
 *
 * The fixture part checks whole kernel streams against the saved
 * tests/fixtures/<name>.dump-progs6.2.txt (progs 6.2, TZ=UTC).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "proto/stream/dump.h"
#include "proto/stream/stream.h"

#define TC_BUFSZ (4u << 20)

static const uint8_t tc_uuid_a[16] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};
static const uint8_t tc_uuid_b[16] = {
	0xe4, 0x52, 0xaa, 0xf5, 0x55, 0x97, 0x2e, 0x49,
	0x95, 0xa4, 0xc9, 0x7c, 0xa6, 0x64, 0x1f, 0xab,
};

/* One test's stream: commands are written and dumped one by one. */
struct tc {
	const char		*name;
	const char		*tz;
	struct dump_state	 ds;
	struct stream_writer	 w;
	uint8_t			*buf;
	struct stream_cmd	 c;
	uint64_t		 ncmds;
	char			*expect;        /* all asserted lines */
	size_t			 expect_len;
	int			 fails;         /* ends with a rejected command */
};

static void
tc_set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static struct tc *
tc_new(const char *name, const char *tz)
{
	struct tc *t;

	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->buf = malloc(TC_BUFSZ);
	assert_non_null(t->buf);
	t->name = name;
	t->tz = tz;
	tc_set_tz(tz);
	dump_init(&t->ds);
	stream_writer_init(&t->w, t->buf, TC_BUFSZ, 2);
	assert_int_equal(stream_wr_header(&t->w), 0);
	return t;
}

static void
tc_cmd(struct tc *t, int type)
{
	memset(&t->c, 0, sizeof(t->c));
	t->c.type = (uint16_t)type;
	t->c.version = 2;
	t->c.index = t->ncmds++;
	t->c.offset = t->w.pos;
	stream_wr_begin(&t->w, type);
}

/* The value just written is the last len bytes of the writer buffer. */
static void
tc_took(struct tc *t, int attr, size_t len)
{
	assert_false(t->w.overflow);
	t->c.attr[attr].data = t->w.buf + t->w.pos - len;
	t->c.attr[attr].len = (uint32_t)len;
	t->c.present |= 1ull << attr;
}

static void
tc_bytes(struct tc *t, int attr, const void *p, size_t len)
{
	stream_wr_bytes(&t->w, attr, p, len);
	tc_took(t, attr, len);
}

static void
tc_str(struct tc *t, int attr, const char *s)
{
	tc_bytes(t, attr, s, strlen(s));
}

static void
tc_u64(struct tc *t, int attr, uint64_t v)
{
	stream_wr_u64(&t->w, attr, v);
	tc_took(t, attr, 8);
}

static void
tc_u32(struct tc *t, int attr, uint32_t v)
{
	stream_wr_u32(&t->w, attr, v);
	tc_took(t, attr, 4);
}

static void
tc_u8(struct tc *t, int attr, uint8_t v)
{
	stream_wr_u8(&t->w, attr, v);
	tc_took(t, attr, 1);
}

static void
tc_uuid(struct tc *t, int attr, const uint8_t u[16])
{
	stream_wr_uuid(&t->w, attr, u);
	tc_took(t, attr, 16);
}

static void
tc_time(struct tc *t, int attr, uint64_t sec, uint32_t nsec)
{
	struct stream_timespec ts = { sec, nsec };

	stream_wr_time(&t->w, attr, &ts);
	tc_took(t, attr, 12);
}

static void
tc_data(struct tc *t, const void *p, size_t len)
{
	stream_wr_data(&t->w, p, len);
	tc_took(t, SEND_A_DATA, len);
}

static int
tc_run(struct tc *t)
{
	long n;

	n = stream_wr_end(&t->w);
	assert_true(n > 0);
	t->c.len = (uint32_t)(n - STREAM_CMD_HEADER_LEN);
	t->c.raw = t->buf + t->c.offset;
	return dump_format(&t->ds, &t->c);
}

static void
tc_keep_line(struct tc *t)
{
	t->expect = realloc(t->expect, t->expect_len + t->ds.ds_len);
	assert_non_null(t->expect);
	memcpy(t->expect + t->expect_len, t->ds.ds_line, t->ds.ds_len);
	t->expect_len += t->ds.ds_len;
}

static void
tc_expect(struct tc *t, const char *line)
{
	size_t n = strlen(line);
	int rc;

	rc = tc_run(t);
	if (rc == -1)
		fail_msg("unexpected error: %s", t->ds.ds_err);
	assert_int_equal(rc, 1);
	if (t->ds.ds_len != n || memcmp(t->ds.ds_line, line, n) != 0)
		fail_msg("want [%s]\ngot  [%.*s]", line, (int)t->ds.ds_len,
		    t->ds.ds_line);
	tc_keep_line(t);
}

/* For lines too long to spell out; record mode checks the content. */
static void
tc_expect_len(struct tc *t, size_t len)
{
	assert_int_equal(tc_run(t), 1);
	assert_int_equal(t->ds.ds_len, len);
	tc_keep_line(t);
}

static void
tc_expect_none(struct tc *t)
{
	assert_int_equal(tc_run(t), 0);
	assert_int_equal(t->ds.ds_len, 0);
}

/* progs fails on this command: so must we, naming index and offset. */
static void
tc_expect_fail(struct tc *t, const char *why)
{
	char where[96];

	assert_int_equal(tc_run(t), -1);
	snprintf(where, sizeof(where), "command %llu (%s) at byte offset %llu",
	    (unsigned long long)t->c.index, stream_cmd_name(t->c.type),
	    (unsigned long long)t->c.offset);
	if (strstr(t->ds.ds_err, where) == NULL ||
	    strstr(t->ds.ds_err, why) == NULL)
		fail_msg("error [%s] lacks [%s] or [%s]", t->ds.ds_err, where,
		    why);
	t->fails = 1;
}

static void
tc_write_file(const char *dir, const char *name, const char *ext,
    const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Record mode (see the top comment), then free. */
static void
tc_finish(struct tc *t)
{
	const char *dir = getenv("DUMP_RECORD_DIR");
	char meta[128];
	int n;

	if (dir != NULL) {
		if (!t->fails) {
			/* progs needs END to succeed */
			tc_cmd(t, SEND_C_END);
			tc_expect_none(t);
		}
		tc_write_file(dir, t->name, "stream", t->buf, t->w.pos);
		tc_write_file(dir, t->name, "expected", t->expect ? t->expect :
		    "", t->expect_len);
		n = snprintf(meta, sizeof(meta), "TZ=%s\nRC=%d\n", t->tz,
		    t->fails);
		tc_write_file(dir, t->name, "meta", meta, (size_t)n);
	}
	dump_free(&t->ds);
	free(t->expect);
	free(t->buf);
	free(t);
	tc_set_tz("UTC");
}

static void
tc_subvol(struct tc *t, const char *path, uint64_t transid)
{
	tc_cmd(t, SEND_C_SUBVOL);
	tc_str(t, SEND_A_PATH, path);
	tc_uuid(t, SEND_A_UUID, tc_uuid_a);
	tc_u64(t, SEND_A_CTRANSID, transid);
}

static void
tc_path_ino(struct tc *t, int type, const char *path)
{
	tc_cmd(t, type);
	tc_str(t, SEND_A_PATH, path);
	tc_u64(t, SEND_A_INO, 257);
}

static void
tc_truncate(struct tc *t, const void *path, size_t len, uint64_t size)
{
	tc_cmd(t, SEND_C_TRUNCATE);
	tc_bytes(t, SEND_A_PATH, path, len);
	tc_u64(t, SEND_A_SIZE, size);
}

/* C-locale escaping of every byte value 1..255, and the C escapes. */
static void
test_escape_bytes(void **state)
{
	struct tc *t = tc_new("escape_bytes", "UTC");
	char lo[128], hi[129];
	int i;

	(void)state;
	for (i = 1; i < 128; i++)
		lo[i - 1] = (char)i;
	lo[127] = '\0';
	for (i = 128; i < 256; i++)
		hi[i - 128] = (char)i;
	hi[128] = '\0';
	tc_subvol(t, "sub vol", 7);
	tc_expect(t, "subvol          ./sub\\ vol                      "
	    "uuid=00010203-0405-0607-0809-0a0b0c0d0e0f transid=7\n");
	tc_path_ino(t, SEND_C_MKFILE, "a b\tc\nd\\e'f\"g");
	tc_expect(t, "mkfile          ./sub\\ vol/a\\ b\\tc\\nd\\\\e'f\"g\n");
	tc_path_ino(t, SEND_C_MKDIR, lo);
	tc_expect(t, "mkdir           ./sub\\ vol/\\001\\002\\003\\004\\005\\006\\"
	    "a\\b\\t\\n\\v\\f\\r\\016\\017\\020\\021\\022\\023\\024\\025"
	    "\\026\\027\\030\\031\\032\\e\\034\\035\\036\\037\\ !\"#$%&'("
	    ")*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`a"
	    "bcdefghijklmnopqrstuvwxyz{|}~\\177\n");
	tc_path_ino(t, SEND_C_MKDIR, hi);
	tc_expect(t, "mkdir           ./sub\\ vol/\\200\\201\\202\\203\\204\\205\\"
	    "206\\207\\210\\211\\212\\213\\214\\215\\216\\217\\220\\221\\"
	    "222\\223\\224\\225\\226\\227\\230\\231\\232\\233\\234\\235\\"
	    "236\\237\\240\\241\\242\\243\\244\\245\\246\\247\\250\\251\\"
	    "252\\253\\254\\255\\256\\257\\260\\261\\262\\263\\264\\265\\"
	    "266\\267\\270\\271\\272\\273\\274\\275\\276\\277\\300\\301\\"
	    "302\\303\\304\\305\\306\\307\\310\\311\\312\\313\\314\\315\\"
	    "316\\317\\320\\321\\322\\323\\324\\325\\326\\327\\330\\331\\"
	    "332\\333\\334\\335\\336\\337\\340\\341\\342\\343\\344\\345\\"
	    "346\\347\\350\\351\\352\\353\\354\\355\\356\\357\\360\\361\\"
	    "362\\363\\364\\365\\366\\367\\370\\371\\372\\373\\374\\375\\"
	    "376\\377\n");
	/* UTF-8 is not printable in the C locale. */
	tc_path_ino(t, SEND_C_MKFILE, "caf\xc3\xa9 \xe2\x82\xac");
	tc_expect(t, "mkfile          ./sub\\ vol/caf\\303\\251\\ \\342\\202\\254\n");
	tc_finish(t);
}

/* Paths are padded to 32 columns counting escapes; longer get one space. */
static void
test_padding(void **state)
{
	struct tc *t = tc_new("padding", "UTC");
	char name[256];

	(void)state;
	tc_subvol(t, "one", 1);
	tc_expect(t, "subvol          ./one                           "
	    "uuid=00010203-0405-0607-0809-0a0b0c0d0e0f transid=1\n");
	memset(name, 'x', sizeof(name));
	tc_truncate(t, name, 20, 1);
	tc_expect(t, "truncate        ./one/xxxxxxxxxxxxxxxxxxxx      size=1\n");
	tc_truncate(t, name, 25, 1);
	tc_expect(t, "truncate        ./one/xxxxxxxxxxxxxxxxxxxxxxxxx size=1\n");
	tc_truncate(t, name, 26, 1);
	tc_expect(t, "truncate        ./one/xxxxxxxxxxxxxxxxxxxxxxxxxx size=1\n");
	tc_truncate(t, "\n\n\n\n\n\n\n\n\n\nx", 11, 2);
	tc_expect(t, "truncate        ./one/\\n\\n\\n\\n\\n\\n\\n\\n\\n\\nx     "
	    "size=2\n");
	tc_truncate(t, "\n\n\n\n\n\n\n\n\n\n\n\n\n", 13, 3);
	tc_expect(t, "truncate        ./one/\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n"
	    "\\n size=3\n");
	tc_truncate(t, "\xe9\xe9\xe9\xe9\xe9", 5, 4);
	tc_expect(t, "truncate        ./one/\\351\\351\\351\\351\\351      "
	    "size=4\n");
	/* NAME_MAX: 255 bytes, each escaped to 4 columns. */
	memset(name, 0xff, 255);
	tc_truncate(t, name, 255, 6);
	tc_expect_len(t, 16 + 6 + 4 * 255 + 1 + strlen("size=6\n"));
	assert_memory_equal(t->ds.ds_line + 16 + 6, "\\377\\377", 8);
	tc_truncate(t, "\xe9\xe9\xe9", 3, 5);
	tc_expect(t, "truncate        ./one/\\351\\351\\351              "
	    "size=5\n");
	tc_finish(t);
}

/*
 * The subvolume prefix: "." before any subvol, path_cat_out joining
 * (one trailing '/' dropped on each side), strings end at a NUL.
 */
static void
test_prefix(void **state)
{
	struct tc *t = tc_new("prefix", "UTC");

	(void)state;
	tc_path_ino(t, SEND_C_MKFILE, "before");
	tc_expect(t, "mkfile          ./before\n");
	tc_subvol(t, "s/", 2);
	tc_expect(t, "subvol          ./s                             "
	    "uuid=00010203-0405-0607-0809-0a0b0c0d0e0f transid=2\n");
	tc_path_ino(t, SEND_C_MKFILE, "");
	tc_expect(t, "mkfile          ./s/\n");
	tc_path_ino(t, SEND_C_MKFILE, "x/");
	tc_expect(t, "mkfile          ./s/x\n");
	tc_path_ino(t, SEND_C_MKFILE, "x//");
	tc_expect(t, "mkfile          ./s/x/\n");
	tc_path_ino(t, SEND_C_MKFILE, "/");
	tc_expect(t, "mkfile          ./s/\n");
	tc_cmd(t, SEND_C_MKFILE);
	tc_bytes(t, SEND_A_PATH, "a\0b", 3);
	tc_u64(t, SEND_A_INO, 1);
	tc_expect(t, "mkfile          ./s/a\n");
	tc_cmd(t, SEND_C_SNAPSHOT);
	tc_str(t, SEND_A_PATH, "");
	tc_uuid(t, SEND_A_UUID, tc_uuid_a);
	tc_u64(t, SEND_A_CTRANSID, 7);
	tc_uuid(t, SEND_A_CLONE_UUID, tc_uuid_b);
	tc_u64(t, SEND_A_CLONE_CTRANSID, 0);
	tc_expect(t, "snapshot        ./                              "
	    "uuid=00010203-0405-0607-0809-0a0b0c0d0e0f transid=7 "
	    "parent_uuid=e452aaf5-5597-2e49-95a4-c97ca6641fab "
	    "parent_transid=0\n");
	tc_path_ino(t, SEND_C_MKFILE, "g");
	tc_expect(t, "mkfile          ./g\n");
	tc_cmd(t, SEND_C_SNAPSHOT);
	tc_str(t, SEND_A_PATH, "a/b");
	tc_uuid(t, SEND_A_UUID, tc_uuid_b);
	tc_u64(t, SEND_A_CTRANSID, 18446744073709551615ull);
	tc_uuid(t, SEND_A_CLONE_UUID, tc_uuid_a);
	tc_u64(t, SEND_A_CLONE_CTRANSID, 5);
	tc_expect(t, "snapshot        ./a/b                           "
	    "uuid=e452aaf5-5597-2e49-95a4-c97ca6641fab "
	    "transid=18446744073709551615 "
	    "parent_uuid=00010203-0405-0607-0809-0a0b0c0d0e0f "
	    "parent_transid=5\n");
	tc_cmd(t, SEND_C_RENAME);
	tc_str(t, SEND_A_PATH, "g");
	tc_str(t, SEND_A_PATH_TO, "");
	tc_expect(t, "rename          ./a/b/g                         "
	    "dest=./a/b/\n");
	tc_finish(t);
}

/* Every command of v1 and v2 (and enable_verity) with its fields. */
static void
test_commands(void **state)
{
	struct tc *t = tc_new("commands", "UTC");
	static const char zeros[4096];

	(void)state;
	tc_subvol(t, "sv", 7);
	tc_expect(t, "subvol          ./sv                            "
	    "uuid=00010203-0405-0607-0809-0a0b0c0d0e0f transid=7\n");
	tc_path_ino(t, SEND_C_MKDIR, "d");
	tc_expect(t, "mkdir           ./sv/d\n");
	tc_cmd(t, SEND_C_MKNOD);
	tc_str(t, SEND_A_PATH, "dev");
	tc_u64(t, SEND_A_INO, 258);
	tc_u64(t, SEND_A_RDEV, 0x103);
	tc_u64(t, SEND_A_MODE, 020644);
	tc_expect(t, "mknod           ./sv/dev                        "
	    "mode=20644 dev=0x103\n");
	tc_cmd(t, SEND_C_MKNOD);
	tc_str(t, SEND_A_PATH, "dev2");
	tc_u64(t, SEND_A_INO, 258);
	tc_u64(t, SEND_A_RDEV, 18446744073709551615ull);
	tc_u64(t, SEND_A_MODE, 060600);
	tc_expect(t, "mknod           ./sv/dev2                       "
	    "mode=60600 dev=0xffffffffffffffff\n");
	tc_cmd(t, SEND_C_MKFIFO);
	tc_str(t, SEND_A_PATH, "fifo");
	tc_u64(t, SEND_A_INO, 259);
	tc_u64(t, SEND_A_RDEV, 0);
	tc_u64(t, SEND_A_MODE, 010644);
	tc_expect(t, "mkfifo          ./sv/fifo\n");
	tc_cmd(t, SEND_C_MKSOCK);
	tc_str(t, SEND_A_PATH, "sock");
	tc_u64(t, SEND_A_INO, 260);
	tc_u64(t, SEND_A_RDEV, 0);
	tc_u64(t, SEND_A_MODE, 0140755);
	tc_expect(t, "mksock          ./sv/sock\n");
	tc_cmd(t, SEND_C_SYMLINK);
	tc_str(t, SEND_A_PATH, "sym");
	tc_u64(t, SEND_A_INO, 261);
	tc_str(t, SEND_A_PATH_LINK, "../t a\nrg\x7f\xc3\xa9");
	tc_expect(t, "symlink         ./sv/sym                        "
	    "dest=../t\\ a\\nrg\\177\\303\\251\n");
	tc_cmd(t, SEND_C_RENAME);
	tc_str(t, SEND_A_PATH, "r a");
	tc_str(t, SEND_A_PATH_TO, "d/r\tb");
	tc_expect(t, "rename          ./sv/r\\ a                       "
	    "dest=./sv/d/r\\tb\n");
	tc_cmd(t, SEND_C_LINK);
	tc_str(t, SEND_A_PATH, "l a");
	tc_str(t, SEND_A_PATH_LINK, "d/l\nb");
	tc_expect(t, "link            ./sv/l\\ a                       "
	    "dest=d/l\\nb\n");
	tc_cmd(t, SEND_C_UNLINK);
	tc_str(t, SEND_A_PATH, "u a");
	tc_expect(t, "unlink          ./sv/u\\ a\n");
	tc_cmd(t, SEND_C_RMDIR);
	tc_str(t, SEND_A_PATH, "rm");
	tc_expect(t, "rmdir           ./sv/rm\n");
	tc_cmd(t, SEND_C_SET_XATTR);
	tc_str(t, SEND_A_PATH, "x a");
	tc_str(t, SEND_A_XATTR_NAME, "user.n a");
	tc_str(t, SEND_A_XATTR_DATA, "va lue");
	tc_expect(t, "set_xattr       ./sv/x\\ a                       "
	    "name=user.n a data=va lue len=6\n");
	tc_cmd(t, SEND_C_REMOVE_XATTR);
	tc_str(t, SEND_A_PATH, "x a");
	tc_str(t, SEND_A_XATTR_NAME, "user.n a");
	tc_expect(t, "remove_xattr    ./sv/x\\ a                       "
	    "name=user.n a\n");
	tc_cmd(t, SEND_C_WRITE);
	tc_str(t, SEND_A_PATH, "w");
	tc_u64(t, SEND_A_FILE_OFFSET, 18446744073709551615ull);
	tc_data(t, "hello", 5);
	tc_expect(t, "write           ./sv/w                          "
	    "offset=18446744073709551615 len=5\n");
	tc_cmd(t, SEND_C_WRITE);
	tc_str(t, SEND_A_PATH, "w");
	tc_u64(t, SEND_A_FILE_OFFSET, 0);
	tc_data(t, "", 0);
	tc_expect(t, "write           ./sv/w                          "
	    "offset=0 len=0\n");
	tc_cmd(t, SEND_C_CLONE);
	tc_u64(t, SEND_A_FILE_OFFSET, 4096);
	tc_u64(t, SEND_A_CLONE_LEN, 18446744073709551615ull);
	tc_str(t, SEND_A_PATH, "c a");
	tc_uuid(t, SEND_A_CLONE_UUID, tc_uuid_b);
	tc_u64(t, SEND_A_CLONE_CTRANSID, 3);
	tc_str(t, SEND_A_CLONE_PATH, "src a");
	tc_u64(t, SEND_A_CLONE_OFFSET, 9223372036854775808ull);
	tc_expect(t, "clone           ./sv/c\\ a                       "
	    "offset=4096 len=18446744073709551615 from=./sv/src a "
	    "clone_offset=9223372036854775808\n");
	tc_truncate(t, "t", 1, 18446744073709551615ull);
	tc_expect(t, "truncate        ./sv/t                          "
	    "size=18446744073709551615\n");
	tc_cmd(t, SEND_C_CHMOD);
	tc_str(t, SEND_A_PATH, "m");
	tc_u64(t, SEND_A_MODE, 07777);
	tc_expect(t, "chmod           ./sv/m                          "
	    "mode=7777\n");
	tc_cmd(t, SEND_C_CHMOD);
	tc_str(t, SEND_A_PATH, "m");
	tc_u64(t, SEND_A_MODE, 18446744073709551615ull);
	tc_expect(t, "chmod           ./sv/m                          "
	    "mode=1777777777777777777777\n");
	tc_cmd(t, SEND_C_CHOWN);
	tc_str(t, SEND_A_PATH, "o");
	tc_u64(t, SEND_A_UID, 1000);
	tc_u64(t, SEND_A_GID, 18446744073709551615ull);
	tc_expect(t, "chown           ./sv/o                          "
	    "gid=18446744073709551615 uid=1000\n");
	tc_cmd(t, SEND_C_UTIMES);
	tc_str(t, SEND_A_PATH, "");
	tc_time(t, SEND_A_ATIME, 0, 0);
	tc_time(t, SEND_A_MTIME, 1700000000, 999999999);
	tc_time(t, SEND_A_CTIME, 18446744073709551615ull, 0);
	tc_time(t, SEND_A_OTIME, 5, 0);
	tc_expect(t, "utimes          ./sv/                           "
	    "atime=1970-01-01T00:00:00+0000 mtime=2023-11-14T22:13:20+0000 "
	    "ctime=1969-12-31T23:59:59+0000\n");
	tc_cmd(t, SEND_C_UPDATE_EXTENT);
	tc_str(t, SEND_A_PATH, "ue");
	tc_u64(t, SEND_A_FILE_OFFSET, 4096);
	tc_u64(t, SEND_A_SIZE, 8192);
	tc_expect(t, "update_extent   ./sv/ue                         "
	    "offset=4096 len=8192\n");
	tc_cmd(t, SEND_C_FALLOCATE);
	tc_str(t, SEND_A_PATH, "fa");
	tc_u32(t, SEND_A_FALLOCATE_MODE, 3);
	tc_u64(t, SEND_A_FILE_OFFSET, 65536);
	tc_u64(t, SEND_A_SIZE, 131072);
	tc_expect(t, "fallocate       ./sv/fa                         "
	    "mode=3 offset=65536 len=131072\n");
	tc_cmd(t, SEND_C_FALLOCATE);
	tc_str(t, SEND_A_PATH, "fa");
	tc_u32(t, SEND_A_FALLOCATE_MODE, 0xffffffffu);
	tc_u64(t, SEND_A_FILE_OFFSET, 1);
	tc_u64(t, SEND_A_SIZE, 2);
	tc_expect(t, "fallocate       ./sv/fa                         "
	    "mode=-1 offset=1 len=2\n");
	tc_cmd(t, SEND_C_FILEATTR);
	tc_str(t, SEND_A_PATH, "fattr");
	tc_u64(t, SEND_A_FILEATTR, 0x100000041ull);
	tc_expect(t, "fileattr        ./sv/fattr                      "
	    "fileattr=0x4294967361\n");
	tc_cmd(t, SEND_C_ENCODED_WRITE);
	tc_str(t, SEND_A_PATH, "ew");
	tc_u64(t, SEND_A_FILE_OFFSET, 0);
	tc_u64(t, SEND_A_UNENCODED_FILE_LEN, 131072);
	tc_u64(t, SEND_A_UNENCODED_LEN, 131072);
	tc_u64(t, SEND_A_UNENCODED_OFFSET, 0);
	tc_u32(t, SEND_A_COMPRESSION, 2);
	tc_u32(t, SEND_A_ENCRYPTION, 0);
	tc_data(t, zeros, sizeof(zeros));
	tc_expect(t, "encoded_write   ./sv/ew                         "
	    "offset=0 len=4096, unencoded_file_len=131072, "
	    "unencoded_len=131072, unencoded_offset=0, compression=2, "
	    "encryption=0\n");
	/* COMPRESSION and ENCRYPTION may be absent (inline extents). */
	tc_cmd(t, SEND_C_ENCODED_WRITE);
	tc_str(t, SEND_A_PATH, "ew2");
	tc_u64(t, SEND_A_FILE_OFFSET, 8);
	tc_u64(t, SEND_A_UNENCODED_FILE_LEN, 1);
	tc_u64(t, SEND_A_UNENCODED_LEN, 2);
	tc_u64(t, SEND_A_UNENCODED_OFFSET, 3);
	tc_data(t, zeros, 7);
	tc_expect(t, "encoded_write   ./sv/ew2                        "
	    "offset=8 len=7, unencoded_file_len=1, unencoded_len=2, "
	    "unencoded_offset=3, compression=0, encryption=0\n");
	tc_cmd(t, SEND_C_ENCODED_WRITE);
	tc_str(t, SEND_A_PATH, "ew3");
	tc_u64(t, SEND_A_FILE_OFFSET, 0);
	tc_u64(t, SEND_A_UNENCODED_FILE_LEN, 1);
	tc_u64(t, SEND_A_UNENCODED_LEN, 2);
	tc_u64(t, SEND_A_UNENCODED_OFFSET, 3);
	tc_u32(t, SEND_A_COMPRESSION, 0xffffffffu);
	tc_u32(t, SEND_A_ENCRYPTION, 0x80000000u);
	tc_data(t, zeros, 1);
	tc_expect(t, "encoded_write   ./sv/ew3                        "
	    "offset=0 len=1, unencoded_file_len=1, unencoded_len=2, "
	    "unencoded_offset=3, compression=4294967295, "
	    "encryption=2147483648\n");
	tc_cmd(t, SEND_C_ENABLE_VERITY);
	tc_str(t, SEND_A_PATH, "ver");
	tc_u8(t, SEND_A_VERITY_ALGORITHM, 255);
	tc_u32(t, SEND_A_VERITY_BLOCK_SIZE, 0xffffffffu);
	tc_bytes(t, SEND_A_VERITY_SALT_DATA, zeros, 32);
	tc_bytes(t, SEND_A_VERITY_SIG_DATA, zeros, 0);
	tc_expect(t, "enable_verity   ./sv/ver                        "
	    "algorithm=255 block_size=4294967295 salt_len=32 sig_len=0\n");
	tc_cmd(t, 99);
	tc_str(t, SEND_A_PATH, "unknown commands print nothing");
	tc_expect_none(t);
	tc_finish(t);
}

/*
 * progs 6.2 prints xattr names and data, remove_xattr names and clone
 * sources raw: no escaping, and %s / %.*s stop at the first NUL.
 */
static void
test_raw_fields(void **state)
{
	struct tc *t = tc_new("raw_fields", "UTC");

	(void)state;
	tc_subvol(t, "r", 1);
	tc_expect(t, "subvol          ./r                             "
	    "uuid=00010203-0405-0607-0809-0a0b0c0d0e0f transid=1\n");
	tc_cmd(t, SEND_C_SET_XATTR);
	tc_str(t, SEND_A_PATH, "x");
	tc_str(t, SEND_A_XATTR_NAME, "user.\x01\x7f\xe9 \\");
	tc_bytes(t, SEND_A_XATTR_DATA, "\0abc", 4);
	tc_expect(t, "set_xattr       ./r/x                           "
	    "name=user.\x01\x7f\xe9 \\ data= len=4\n");
	tc_cmd(t, SEND_C_SET_XATTR);
	tc_str(t, SEND_A_PATH, "x");
	tc_bytes(t, SEND_A_XATTR_NAME, "user.a\0hidden", 13);
	tc_bytes(t, SEND_A_XATTR_DATA, "a\tb\nc\0d\xe9", 8);
	tc_expect(t, "set_xattr       ./r/x                           "
	    "name=user.a data=a\tb\nc len=8\n");
	tc_cmd(t, SEND_C_SET_XATTR);
	tc_str(t, SEND_A_PATH, "x");
	tc_str(t, SEND_A_XATTR_NAME, "");
	tc_bytes(t, SEND_A_XATTR_DATA, "", 0);
	tc_expect(t, "set_xattr       ./r/x                           "
	    "name= data= len=0\n");
	tc_cmd(t, SEND_C_SET_XATTR);
	tc_str(t, SEND_A_PATH, "acl");
	tc_str(t, SEND_A_XATTR_NAME, "system.posix_acl_access");
	tc_bytes(t, SEND_A_XATTR_DATA, "\x02\0\0\0\x01\0\x06\0", 8);
	tc_expect(t, "set_xattr       ./r/acl                         "
	    "name=system.posix_acl_access data=\x02 len=8\n");
	tc_cmd(t, SEND_C_REMOVE_XATTR);
	tc_str(t, SEND_A_PATH, "x");
	tc_bytes(t, SEND_A_XATTR_NAME, "user.\n\xff\0tail", 10);
	tc_expect(t, "remove_xattr    ./r/x                           "
	    "name=user.\n\xff\n");
	tc_cmd(t, SEND_C_CLONE);
	tc_u64(t, SEND_A_FILE_OFFSET, 5);
	tc_u64(t, SEND_A_CLONE_LEN, 1);
	tc_str(t, SEND_A_PATH, "c");
	tc_uuid(t, SEND_A_CLONE_UUID, tc_uuid_a);
	tc_u64(t, SEND_A_CLONE_CTRANSID, 3);
	tc_str(t, SEND_A_CLONE_PATH, "");
	tc_u64(t, SEND_A_CLONE_OFFSET, 1);
	tc_expect(t, "clone           ./r/c                           "
	    "offset=5 len=1 from=./r/ clone_offset=1\n");
	tc_cmd(t, SEND_C_CLONE);
	tc_u64(t, SEND_A_FILE_OFFSET, 0);
	tc_u64(t, SEND_A_CLONE_LEN, 4096);
	tc_str(t, SEND_A_PATH, "c");
	tc_uuid(t, SEND_A_CLONE_UUID, tc_uuid_a);
	tc_u64(t, SEND_A_CLONE_CTRANSID, 3);
	tc_str(t, SEND_A_CLONE_PATH, "s p\n\xe9/");
	tc_u64(t, SEND_A_CLONE_OFFSET, 0);
	tc_expect(t, "clone           ./r/c                           "
	    "offset=0 len=4096 from=./r/s p\n\xe9 clone_offset=0\n");
	tc_finish(t);
}

static void
tc_utimes(struct tc *t, const char *path, int64_t sec)
{
	tc_cmd(t, SEND_C_UTIMES);
	tc_str(t, SEND_A_PATH, path);
	tc_time(t, SEND_A_ATIME, (uint64_t)sec, 0);
	tc_time(t, SEND_A_MTIME, (uint64_t)sec, 999999999);
	tc_time(t, SEND_A_CTIME, (uint64_t)sec, 1);
}

/* Times are localtime + %FT%T%z: they follow TZ. */
static void
test_times_kolkata(void **state)
{
	struct tc *t = tc_new("times_kolkata", "Asia/Kolkata");

	(void)state;
	tc_subvol(t, "k", 1);
	tc_expect(t, "subvol          ./k                             "
	    "uuid=00010203-0405-0607-0809-0a0b0c0d0e0f transid=1\n");
	tc_utimes(t, "a", 0);
	tc_expect(t, "utimes          ./k/a                           "
	    "atime=1970-01-01T05:30:00+0530 mtime=1970-01-01T05:30:00+0530 "
	    "ctime=1970-01-01T05:30:00+0530\n");
	tc_utimes(t, "b", 1700000000);
	tc_expect(t, "utimes          ./k/b                           "
	    "atime=2023-11-15T03:43:20+0530 mtime=2023-11-15T03:43:20+0530 "
	    "ctime=2023-11-15T03:43:20+0530\n");
	tc_utimes(t, "c", 253402300799ll);
	tc_expect(t, "utimes          ./k/c                           "
	    "atime=10000-01-01T05:29:59+0530 mtime=10000-01-01T05:29:59+0530 "
	    "ctime=10000-01-01T05:29:59+0530\n");
	tc_finish(t);
}

static void
test_times_new_york(void **state)
{
	struct tc *t = tc_new("times_new_york", "America/New_York");

	(void)state;
	tc_subvol(t, "n", 1);
	tc_expect(t, "subvol          ./n                             "
	    "uuid=00010203-0405-0607-0809-0a0b0c0d0e0f transid=1\n");
	tc_utimes(t, "winter", 1700000000);
	tc_expect(t, "utimes          ./n/winter                      "
	    "atime=2023-11-14T17:13:20-0500 mtime=2023-11-14T17:13:20-0500 "
	    "ctime=2023-11-14T17:13:20-0500\n");
	tc_utimes(t, "summer", 1690000000);
	tc_expect(t, "utimes          ./n/summer                      "
	    "atime=2023-07-22T00:26:40-0400 mtime=2023-07-22T00:26:40-0400 "
	    "ctime=2023-07-22T00:26:40-0400\n");
	tc_utimes(t, "neg", -1);
	tc_expect(t, "utimes          ./n/neg                         "
	    "atime=1969-12-31T18:59:59-0500 mtime=1969-12-31T18:59:59-0500 "
	    "ctime=1969-12-31T18:59:59-0500\n");
	tc_utimes(t, "y0", -62167219200ll);
	tc_expect(t, "utimes          ./n/y0                          "
	    "atime=-1-12-31T19:03:58-0456 mtime=-1-12-31T19:03:58-0456 "
	    "ctime=-1-12-31T19:03:58-0456\n");
	tc_finish(t);
}

/* A time localtime() cannot represent: progs fails, and so do we. */
static void
test_fail_time(void **state)
{
	struct tc *t = tc_new("fail_time", "UTC");

	(void)state;
	tc_subvol(t, "t", 1);
	tc_expect(t, "subvol          ./t                             "
	    "uuid=00010203-0405-0607-0809-0a0b0c0d0e0f transid=1\n");
	tc_utimes(t, "ok", 67767976233316800ll);
	tc_expect(t, "utimes          ./t/ok                          "
	    "atime=2147483647-12-29T12:00:00+0000 "
	    "mtime=2147483647-12-29T12:00:00+0000 "
	    "ctime=2147483647-12-29T12:00:00+0000\n");
	tc_utimes(t, "bad", 4611686018427387904ll);
	tc_expect_fail(t, "ATIME 4611686018427387904 cannot be converted");
	tc_finish(t);
}

static char *
tc_name(int c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/*
 * progs joins into PATH_MAX buffers and refuses when prefix + path + 2
 * reaches 4096: under "./one" a 4088-byte path passes, 4089 fails.
 * Symlink and link targets are not joined and have no such limit.
 */
static void
tc_long_paths(struct tc *t, int type)
{
	char *ok = tc_name('a', 4088), *bad = tc_name('b', 4089);
	char *huge = tc_name('h', 6000);

	tc_subvol(t, "one", 1);
	tc_expect(t, "subvol          ./one                           "
	    "uuid=00010203-0405-0607-0809-0a0b0c0d0e0f transid=1\n");
	tc_cmd(t, SEND_C_SYMLINK);
	tc_str(t, SEND_A_PATH, "s");
	tc_u64(t, SEND_A_INO, 1);
	tc_str(t, SEND_A_PATH_LINK, huge);
	tc_expect_len(t, 16 + 32 + 5 + 6000 + 1);
	tc_cmd(t, SEND_C_RENAME);
	tc_str(t, SEND_A_PATH, "r");
	tc_str(t, SEND_A_PATH_TO, ok);
	tc_expect_len(t, 16 + 32 + 5 + 6 + 4088 + 1);
	if (type == SEND_C_RENAME) {
		tc_cmd(t, SEND_C_RENAME);
		tc_str(t, SEND_A_PATH, "r");
		tc_str(t, SEND_A_PATH_TO, bad);
	} else if (type == SEND_C_CLONE) {
		tc_cmd(t, SEND_C_CLONE);
		tc_u64(t, SEND_A_FILE_OFFSET, 0);
		tc_u64(t, SEND_A_CLONE_LEN, 1);
		tc_str(t, SEND_A_PATH, "c");
		tc_uuid(t, SEND_A_CLONE_UUID, tc_uuid_a);
		tc_u64(t, SEND_A_CLONE_CTRANSID, 1);
		tc_str(t, SEND_A_CLONE_PATH, bad);
		tc_u64(t, SEND_A_CLONE_OFFSET, 0);
	} else
		tc_path_ino(t, SEND_C_MKFILE, bad);
	tc_expect_fail(t, "too long");
	free(ok);
	free(bad);
	free(huge);
}

static void
test_fail_long_path(void **state)
{
	struct tc *t = tc_new("fail_long_path", "UTC");

	(void)state;
	tc_long_paths(t, SEND_C_MKFILE);
	tc_finish(t);
}

static void
test_fail_long_rename(void **state)
{
	struct tc *t = tc_new("fail_long_rename", "UTC");

	(void)state;
	tc_long_paths(t, SEND_C_RENAME);
	tc_finish(t);
}

static void
test_fail_long_clone(void **state)
{
	struct tc *t = tc_new("fail_long_clone", "UTC");

	(void)state;
	tc_long_paths(t, SEND_C_CLONE);
	tc_finish(t);
}

/* The subvolume path counts too: "./" + 4092 bytes is the longest. */
static void
test_fail_long_subvol(void **state)
{
	struct tc *t = tc_new("fail_long_subvol", "UTC");
	char *name = tc_name('s', 4092);

	(void)state;
	tc_subvol(t, name, 1);
	tc_expect_len(t, 16 + 2 + 4092 + 1 + 52);
	/* "./sss..." is 4094 bytes: even "" cannot be joined to it. */
	tc_path_ino(t, SEND_C_MKFILE, "");
	tc_expect_fail(t, "too long");
	free(name);
	tc_finish(t);
}

/* A required attribute missing: progs fails, naming the attribute. */
static void
test_fail_missing(void **state)
{
	struct tc *t = tc_new("fail_missing", "UTC");

	(void)state;
	tc_subvol(t, "m", 1);
	tc_expect(t, "subvol          ./m                             "
	    "uuid=00010203-0405-0607-0809-0a0b0c0d0e0f transid=1\n");
	tc_cmd(t, SEND_C_MKFILE);
	tc_str(t, SEND_A_PATH, "no-ino");
	tc_expect_fail(t, "INO");
	tc_finish(t);
}

/*
 * Dump a whole stream held in memory as btrsendctl does: until the first
 * END.  Returns 0, or -1 with the reader's or formatter's error in err.
 */
static int
dump_stream(const uint8_t *in, size_t inlen, bool compat, char **out,
    size_t *outlen, char err[256])
{
	struct stream_reader_opts opts = {
		.allow_unknown = true,
		.progs_compat = compat,
	};
	struct stream_reader r;
	struct dump_state ds;
	struct stream_cmd c;
	enum stream_event ev;
	FILE *f;
	int rc = -1;

	assert_int_equal(stream_reader_init(&r, &opts), 0);
	assert_int_equal(stream_reader_feed(&r, in, inlen), 0);
	stream_reader_eof(&r);
	dump_init(&ds);
	f = open_memstream(out, outlen);
	assert_non_null(f);
	for (;;) {
		ev = stream_reader_next(&r, &c);
		if (ev == STREAM_ERROR) {
			snprintf(err, 256, "%s", r.err.msg);
			break;
		}
		if (ev == STREAM_DONE) {
			rc = 0;
			break;
		}
		if (ev != STREAM_CMD)
			continue;
		if (dump_cmd(&ds, &c, f) == -1) {
			snprintf(err, 256, "%s", ds.ds_err);
			break;
		}
		if (c.type == SEND_C_END) {
			rc = 0;
			break;
		}
	}
	fclose(f);
	dump_free(&ds);
	stream_reader_free(&r);
	return rc;
}

static char *
read_file(const char *path, size_t *len)
{
	char *p = NULL;
	uint8_t buf[4096];
	size_t n;
	FILE *f, *m;

	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("%s: cannot open (run from the top directory)", path);
	m = open_memstream(&p, len);
	assert_non_null(m);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, m);
	fclose(m);
	fclose(f);
	return p;
}

/* Whole kernel streams against progs 6.2's saved output. */
static void
check_fixture(const char *name)
{
	char path[256], err[256], *stream, *want, *got = NULL;
	size_t streamlen, wantlen, gotlen = 0;

	tc_set_tz("UTC");
	snprintf(path, sizeof(path), "tests/fixtures/%s.stream", name);
	stream = read_file(path, &streamlen);
	snprintf(path, sizeof(path), "tests/fixtures/%s.dump-progs6.2.txt",
	    name);
	want = read_file(path, &wantlen);
	if (dump_stream((uint8_t *)stream, streamlen, true, &got, &gotlen,
	    err) == -1)
		fail_msg("%s: %s", name, err);
	if (gotlen != wantlen || memcmp(got, want, gotlen) != 0)
		fail_msg("%s: dump differs from progs 6.2\nwant:\n%s\ngot:\n%s",
		    name, want, got);
	free(stream);
	free(want);
	free(got);
}

static void
test_fixtures(void **state)
{
	(void)state;
	check_fixture("inc-v1");
	check_fixture("inc-v2");
	check_fixture("hole-v2");
	check_fixture("evil2");
}

/*
 * What progs 6.2 accepts and a strict reader does not: VERITY attributes
 * in a v2 stream, a repeated attribute (the last wins), an attribute of
 * the wrong size that the command does not use (OTIME), a version 0
 * header.  Dump must parse like progs (progs_compat).
 */
static void
test_progs_compat(void **state)
{
	struct tc *t = tc_new("progs_compat", "UTC");
	char err[256], *out = NULL;
	size_t outlen = 0;
	uint8_t v0[] = { 'b', 't', 'r', 'f', 's', '-', 's', 't', 'r', 'e', 'a',
	    'm', 0, 0, 0, 0, 0 };

	(void)state;
	tc_subvol(t, "c", 1);
	tc_expect(t, "subvol          ./c                             "
	    "uuid=00010203-0405-0607-0809-0a0b0c0d0e0f transid=1\n");
	tc_cmd(t, SEND_C_ENABLE_VERITY);
	tc_str(t, SEND_A_PATH, "v");
	tc_u8(t, SEND_A_VERITY_ALGORITHM, 1);
	tc_u32(t, SEND_A_VERITY_BLOCK_SIZE, 4096);
	tc_bytes(t, SEND_A_VERITY_SALT_DATA, "salt", 4);
	tc_bytes(t, SEND_A_VERITY_SIG_DATA, "", 0);
	tc_expect(t, "enable_verity   ./c/v                           "
	    "algorithm=1 block_size=4096 salt_len=4 sig_len=0\n");
	tc_cmd(t, SEND_C_CHMOD);
	tc_str(t, SEND_A_PATH, "first");
	tc_u64(t, SEND_A_MODE, 0777);
	tc_str(t, SEND_A_PATH, "last");
	tc_u64(t, SEND_A_MODE, 0644);
	tc_expect(t, "chmod           ./c/last                        "
	    "mode=644\n");
	tc_cmd(t, SEND_C_UTIMES);
	tc_str(t, SEND_A_PATH, "u");
	tc_time(t, SEND_A_ATIME, 1, 0);
	tc_time(t, SEND_A_MTIME, 2, 0);
	tc_time(t, SEND_A_CTIME, 3, 0);
	tc_bytes(t, SEND_A_OTIME, "12345", 5);
	tc_expect(t, "utimes          ./c/u                           "
	    "atime=1970-01-01T00:00:01+0000 mtime=1970-01-01T00:00:02+0000 "
	    "ctime=1970-01-01T00:00:03+0000\n");
	tc_cmd(t, SEND_C_END);
	tc_expect_none(t);

	assert_int_equal(dump_stream(t->buf, t->w.pos, true, &out, &outlen,
	    err), 0);
	assert_int_equal(outlen, t->expect_len);
	assert_memory_equal(out, t->expect, outlen);
	free(out);
	out = NULL;
	assert_int_equal(dump_stream(t->buf, t->w.pos, false, &out, &outlen,
	    err), -1);
	free(out);
	out = NULL;

	/* Version 0 is read like version 1. */
	memcpy(t->buf, v0, sizeof(v0));
	assert_int_equal(dump_stream(t->buf, t->w.pos, true, &out, &outlen,
	    err), 0);
	free(out);
	tc_finish(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_bytes),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_raw_fields),
		cmocka_unit_test(test_times_kolkata),
		cmocka_unit_test(test_times_new_york),
		cmocka_unit_test(test_fail_time),
		cmocka_unit_test(test_fail_long_path),
		cmocka_unit_test(test_fail_long_rename),
		cmocka_unit_test(test_fail_long_clone),
		cmocka_unit_test(test_fail_long_subvol),
		cmocka_unit_test(test_fail_missing),
		cmocka_unit_test(test_progs_compat),
		cmocka_unit_test(test_fixtures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
