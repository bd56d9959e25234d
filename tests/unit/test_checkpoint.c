/*
 * Resume checkpoint state file: round trip, corruption of every kind is
 * refused, atomic replacement, identity comparison.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/checkpoint.h"

#define NAME "state"

struct fx {
	char	 dir[64];
	int	 dirfd;
};

/* Bitwise CRC32C (Castagnoli, reflected), seed 0, no inversion. */
static uint32_t
ref_crc32c(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t crc = 0;
	int k;

	while (len-- > 0) {
		crc ^= *b++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1));
	}
	return crc;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	/* tmpfs: the many fsyncs here cost nothing (durability is not testable). */
	snprintf(f->dir, sizeof(f->dir), "/dev/shm/test_checkpoint.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		snprintf(f->dir, sizeof(f->dir), "/tmp/test_checkpoint.XXXXXX");
		assert_non_null(mkdtemp(f->dir));
	}
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(f->dirfd >= 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	struct dirent *de;
	DIR *d;

	d = fdopendir(dup(f->dirfd));
	if (d)
		rewinddir(d);   /* count_entries may have left it at the end */
	while (d && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(f->dirfd, de->d_name, 0);
	if (d)
		closedir(d);
	close(f->dirfd);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A checkpoint with every field set to a distinct, awkward value. */
static void
fill(struct checkpoint *c)
{
	uint32_t i;
	int k;

	memset(c, 0, sizeof(*c));
	/* Every byte 1..255 once: spaces, newlines, backslashes, high bytes. */
	for (k = 0; k < SNAP_NAME_MAX; k++)
		c->id.name[k] = (char)(k + 1);
	for (k = 0; k < 16; k++) {
		c->id.uuid[k] = (uint8_t)(0xa0 + k);
		c->id.parent_uuid[k] = (uint8_t)(0x10 * k + 3);
	}
	c->id.ctransid = UINT64_MAX;
	c->id.has_parent = true;
	c->id.parent_ctransid = 1234567890123ULL;
	c->id.version = 2;
	c->id.flags = 0x1c;
	c->id.nclones = CKPT_MAX_CLONES;
	for (i = 0; i < CKPT_MAX_CLONES; i++)
		for (k = 0; k < 16; k++)
			c->id.clone_uuids[i][k] = (uint8_t)(i * 7 + k * 13);
	c->ncmds = 987654321;
	c->offset = (1ULL << 40) + 17;
	for (k = 0; k < STREAM_DIGEST_LEN; k++)
		c->digest.d[k] = (uint8_t)(255 - k * 5);
	c->data_bytes = 0;
	c->flags_bytes = 96;
	strcpy(c->staging, ".partial home.2026\nx\\y \xff\x80");
}

static void
assert_same(const struct checkpoint *a, const struct checkpoint *b)
{
	uint32_t i;

	assert_string_equal(a->id.name, b->id.name);
	assert_memory_equal(a->id.uuid, b->id.uuid, 16);
	assert_int_equal(a->id.ctransid, b->id.ctransid);
	assert_int_equal(a->id.has_parent, b->id.has_parent);
	if (a->id.has_parent) {
		assert_memory_equal(a->id.parent_uuid, b->id.parent_uuid, 16);
		assert_int_equal(a->id.parent_ctransid, b->id.parent_ctransid);
	}
	assert_int_equal(a->id.version, b->id.version);
	assert_int_equal(a->id.flags, b->id.flags);
	assert_int_equal(a->id.nclones, b->id.nclones);
	for (i = 0; i < a->id.nclones; i++)
		assert_memory_equal(a->id.clone_uuids[i], b->id.clone_uuids[i], 16);
	assert_int_equal(a->ncmds, b->ncmds);
	assert_int_equal(a->offset, b->offset);
	assert_memory_equal(a->digest.d, b->digest.d, STREAM_DIGEST_LEN);
	assert_int_equal(a->data_bytes, b->data_bytes);
	assert_int_equal(a->flags_bytes, b->flags_bytes);
	assert_string_equal(a->staging, b->staging);
}

static size_t
slurp(int dirfd, const char *name, char *buf, size_t cap)
{
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, cap);
	assert_true(n >= 0 && (size_t)n < cap);
	close(fd);
	return (size_t)n;
}

static void
spew(int dirfd, const char *name, const char *buf, size_t len)
{
	int fd;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Expect checkpoint_read to refuse, with a reason containing `why`. */
static void
expect_refused(int dirfd, const char *why)
{
	struct checkpoint c;
	char err[256];

	memset(err, 0, sizeof(err));
	assert_int_equal(checkpoint_read(dirfd, NAME, &c, err, sizeof(err)), -1);
	if (why != NULL && strstr(err, why) == NULL)
		fail_msg("reason \"%s\" does not mention \"%s\"", err, why);
	assert_true(err[0] != '\0');
}

static void
test_selftest_crc(void **state)
{
	(void)state;
	/* Spec 2.2 test vector: raw CRC32C with seed 0. */
	assert_int_equal(ref_crc32c("123456789", 9), 0x58e3fa20);
}

static void
test_roundtrip_every_field(void **state)
{
	struct fx *f = *state;
	struct checkpoint in, out;
	char err[256];

	fill(&in);
	assert_int_equal(checkpoint_write(f->dirfd, NAME, &in), 0);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(checkpoint_read(f->dirfd, NAME, &out, err, sizeof(err)), 0);
	assert_same(&in, &out);
	assert_true(ckpt_identity_equal(&in.id, &out.id));
}

static void
test_roundtrip_minimal(void **state)
{
	struct fx *f = *state;
	struct checkpoint in, out;
	char err[256];

	memset(&in, 0, sizeof(in));
	in.id.version = 1;
	assert_int_equal(checkpoint_write(f->dirfd, NAME, &in), 0);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(checkpoint_read(f->dirfd, NAME, &out, err, sizeof(err)), 0);
	assert_same(&in, &out);
	assert_false(out.id.has_parent);
	assert_string_equal(out.id.name, "");
}

/* The file is line oriented whatever the names hold, and its CRC is right. */
static void
test_file_shape(void **state)
{
	struct fx *f = *state;
	struct checkpoint c;
	struct stat st;
	char buf[16384], want[32], *last;
	size_t len, lines = 0, i;

	fill(&c);
	assert_int_equal(checkpoint_write(f->dirfd, NAME, &c), 0);
	assert_int_equal(fstatat(f->dirfd, NAME, &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	len = slurp(f->dirfd, NAME, buf, sizeof(buf));
	for (i = 0; i < len; i++)
		lines += buf[i] == '\n';
	/* version line, 13 keys, crc line */
	assert_int_equal(lines, 15);
	assert_true(strncmp(buf, "btrsend-checkpoint 1\n", 21) == 0);
	buf[len] = '\0';
	buf[len - 1] = '\0';
	last = strrchr(buf, '\n') + 1;
	snprintf(want, sizeof(want), "crc32c %08" PRIx32,
	    ref_crc32c(buf, (size_t)(last - buf)));
	assert_string_equal(last, want);
}

static void
test_missing_file(void **state)
{
	struct fx *f = *state;
	struct checkpoint c;
	char err[256];

	assert_int_equal(checkpoint_read(f->dirfd, NAME, &c, err, sizeof(err)), 1);
}

static void
test_flipped_byte_refused(void **state)
{
	static const uint8_t masks[] = { 0x01, 0x20, 0x80, 0xff };
	struct fx *f = *state;
	struct checkpoint c;
	char good[16384], bad[16384];
	size_t len, i, m;

	fill(&c);
	c.id.nclones = 3;
	assert_int_equal(checkpoint_write(f->dirfd, NAME, &c), 0);
	len = slurp(f->dirfd, NAME, good, sizeof(good));
	for (i = 0; i < len; i++)
		for (m = 0; m < sizeof(masks); m++) {
			memcpy(bad, good, len);
			bad[i] ^= masks[m];
			spew(f->dirfd, NAME, bad, len);
			expect_refused(f->dirfd, NULL);
		}
	spew(f->dirfd, NAME, good, len);
	assert_int_equal(checkpoint_read(f->dirfd, NAME, &c, bad, 256), 0);
}

static void
test_truncated_refused(void **state)
{
	struct fx *f = *state;
	struct checkpoint c;
	char good[16384];
	size_t len, i;

	fill(&c);
	assert_int_equal(checkpoint_write(f->dirfd, NAME, &c), 0);
	len = slurp(f->dirfd, NAME, good, sizeof(good));
	for (i = 0; i < len; i++) {
		spew(f->dirfd, NAME, good, i);
		expect_refused(f->dirfd, NULL);
	}
}

/*
 * Rewrite a valid file through edit(), then seal it with a correct CRC so
 * that only the parser can object.
 */
static void
craft(struct fx *f, void (*edit)(char *body, const void *arg), const void *arg,
    const char *why)
{
	struct checkpoint c;
	char *buf, *crcline;
	size_t len;

	buf = calloc(1, 65536);
	assert_non_null(buf);
	fill(&c);
	c.id.nclones = 2;
	assert_int_equal(checkpoint_write(f->dirfd, NAME, &c), 0);
	len = slurp(f->dirfd, NAME, buf, 65536);
	buf[len] = '\0';
	crcline = strstr(buf, "crc32c ");
	assert_non_null(crcline);
	*crcline = '\0';
	edit(buf, arg);
	len = strlen(buf);
	snprintf(buf + len, 65536 - len, "crc32c %08" PRIx32 "\n",
	    ref_crc32c(buf, len));
	spew(f->dirfd, NAME, buf, strlen(buf));
	expect_refused(f->dirfd, why);
	free(buf);
}

struct subst {
	const char *from, *to;
};

static void
edit_subst(char *body, const void *arg)
{
	const struct subst *s = arg;
	char *p, *tail;

	p = strstr(body, s->from);
	assert_non_null(p);
	tail = strdup(p + strlen(s->from));
	assert_non_null(tail);
	strcpy(p, s->to);
	strcat(p, tail);
	free(tail);
}

static void
edit_append(char *body, const void *arg)
{
	strcat(body, arg);
}

static void
edit_long_line(char *body, const void *arg)
{
	size_t len = strlen(body);

	(void)arg;
	memcpy(body + len, "name ", 5);
	memset(body + len + 5, 'a', 5000);
	strcpy(body + len + 5005, "\n");
}

static void
edit_huge(char *body, const void *arg)
{
	size_t len = strlen(body), i;

	(void)arg;
	for (i = 0; i < 20000; i++)
		body[len + i] = (i % 100 == 99) ? '\n' : 'z';
	body[len + i] = '\0';
}

static void
test_crafted_refused(void **state)
{
	static const struct {
		struct subst s;
		const char *why;
	} cases[] = {
		{ { "btrsend-checkpoint 1\n", "btrsend-checkpoint 2\n" },
		  "format version" },
		{ { "btrsend-checkpoint 1\n", "something else\n" },
		  "not a btrsend checkpoint" },
		{ { "\nncmds ", "\nnbytes " }, "unknown key \"nbytes\"" },
		{ { "\nflags ", "\nversion 2\nflags " }, "duplicate key \"version\"" },
		{ { "\nncmds 987654321", "\nncmds 0987654321" }, "canonical" },
		{ { "\nncmds 987654321", "\nncmds -1" }, "canonical" },
		{ { "\nncmds 987654321", "\nncmds " }, "canonical" },
		{ { "\nncmds 987654321", "\nncmds 1 " }, "canonical" },
		{ { "\nncmds 987654321", "\nncmds 18446744073709551616" },
		  "out of range" },
		{ { "\nversion 2", "\nversion 4294967296" }, "out of range" },
		{ { "\nuuid a0a1", "\nuuid A0A1" }, "uuid" },
		{ { "\nclones 2 ", "\nclones 3 " }, "clones" },
		{ { "\nclones 2 ", "\nclones 1 " }, "clones" },
		{ { "\nclones 2 ", "\nclones 65 " }, "out of range" },
		{ { "\ndigest ", "\ndigest 00" }, "digest" },
		{ { "\nparent ", "\nparent nope " }, "parent" },
		{ { "\nstaging .partial", "\nstaging .part ial" }, "escaped" },
		{ { "\nstaging .partial", "\nstaging \\x00" }, "escape" },
		{ { "\nstaging .partial", "\nstaging \\x41" }, "needless" },
		{ { "\nstaging .partial", "\nstaging \\xZZ" }, "escape" },
		{ { "\nstaging .partial", "\nstaging \\x2" }, "escape" },
		{ { "\nstaging .partial", "\nstaging \\xFF" }, "escape" },
		{ { "\nstaging .partial", "\nstaging\t.partial" }, "key value" },
		{ { "\nflags_bytes 96", "\nflags_bytes 096" }, "canonical" },
		{ { "\nflags_bytes 96", "\nflags_bytes 9 6" }, "canonical" },
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		craft(f, edit_subst, &cases[i].s, cases[i].why);
	craft(f, edit_append, "name \n", "duplicate key \"name\"");
	craft(f, edit_append, "flags_bytes 1\n", "duplicate key \"flags_bytes\"");
	craft(f, edit_append, "\n", "key value");
	craft(f, edit_long_line, NULL, "too long");
	craft(f, edit_huge, NULL, "larger than");
}

static void
edit_drop_key(char *body, const void *arg)
{
	char pat[32], *p, *nl;

	snprintf(pat, sizeof(pat), "\n%s ", (const char *)arg);
	p = strstr(body, pat);
	assert_non_null(p);
	nl = strchr(p + 1, '\n');
	memmove(p + 1, nl + 1, strlen(nl + 1) + 1);
}

static void
test_missing_key_refused(void **state)
{
	static const char *const keys[] = {
		"name", "uuid", "ctransid", "parent", "version", "flags",
		"clones", "ncmds", "offset", "digest", "data_bytes", "staging",
	};
	struct fx *f = *state;
	char why[64];
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(why, sizeof(why), "missing key \"%s\"", keys[i]);
		craft(f, edit_drop_key, keys[i], why);
	}
}

/* flags_bytes is optional: absent means 0, and 0 is not written. */
static void
test_flags_bytes_optional(void **state)
{
	struct fx *f = *state;
	struct checkpoint in, out;
	char buf[16384], err[256];
	size_t len;

	fill(&in);
	in.flags_bytes = 0;
	assert_int_equal(checkpoint_write(f->dirfd, NAME, &in), 0);
	len = slurp(f->dirfd, NAME, buf, sizeof(buf));
	buf[len] = '\0';
	assert_null(strstr(buf, "flags_bytes"));
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(checkpoint_read(f->dirfd, NAME, &out, err, sizeof(err)), 0);
	assert_same(&in, &out);
}

static void
test_not_regular_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(symlinkat("/etc/passwd", f->dirfd, NAME), 0);
	expect_refused(f->dirfd, NULL);
	assert_int_equal(unlinkat(f->dirfd, NAME, 0), 0);
	assert_int_equal(mkdirat(f->dirfd, NAME, 0700), 0);
	expect_refused(f->dirfd, "regular");
	assert_int_equal(unlinkat(f->dirfd, NAME, AT_REMOVEDIR), 0);
}

/*
 * A crash between creating the temp file and the rename leaves the temp
 * behind: the old checkpoint must still read, and the next write succeeds.
 */
static void
test_stale_temp(void **state)
{
	struct fx *f = *state;
	struct checkpoint a, b, out;
	char err[256], torn[16384];
	size_t len;

	fill(&a);
	assert_int_equal(checkpoint_write(f->dirfd, NAME, &a), 0);
	len = slurp(f->dirfd, NAME, torn, sizeof(torn));
	/* The torn temp a crash leaves: half of a newer file. */
	spew(f->dirfd, "." NAME ".tmp", torn, len / 2);
	assert_int_equal(checkpoint_read(f->dirfd, NAME, &out, err, sizeof(err)), 0);
	assert_same(&a, &out);

	b = a;
	b.ncmds++;
	b.offset += 4096;
	b.id.nclones = 1;
	assert_int_equal(checkpoint_write(f->dirfd, NAME, &b), 0);
	assert_int_equal(checkpoint_read(f->dirfd, NAME, &out, err, sizeof(err)), 0);
	assert_same(&b, &out);
	assert_int_equal(faccessat(f->dirfd, "." NAME ".tmp", F_OK, 0), -1);

	/* A stale temp alone is not a checkpoint. */
	assert_int_equal(checkpoint_remove(f->dirfd, NAME), 0);
	spew(f->dirfd, "." NAME ".tmp", torn, len);
	assert_int_equal(checkpoint_read(f->dirfd, NAME, &out, err, sizeof(err)), 1);
	assert_int_equal(checkpoint_remove(f->dirfd, NAME), 0);
	assert_int_equal(faccessat(f->dirfd, "." NAME ".tmp", F_OK, 0), -1);
	assert_int_equal(checkpoint_remove(f->dirfd, NAME), 0);
}

static int
count_entries(int dirfd)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = fdopendir(dup(dirfd));
	assert_non_null(d);
	rewinddir(d);           /* the dup shares its offset with dirfd */
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

/* Target names up to NAME_MAX work; the temp name must still fit. */
static void
test_long_target_names(void **state)
{
	static const size_t lens[] = { 1, 249, 250, 251, 254, 255 };
	struct fx *f = *state;
	struct checkpoint in, out;
	char name[256], err[256];
	size_t i;

	fill(&in);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(name, 'n', lens[i]);
		name[lens[i]] = '\0';
		in.ncmds = i;
		if (checkpoint_write(f->dirfd, name, &in) != 0)
			fail_msg("name of %zu bytes: %s", lens[i], strerror(errno));
		assert_int_equal(checkpoint_read(f->dirfd, name, &out, err,
		    sizeof(err)), 0);
		assert_same(&in, &out);
		assert_int_equal(count_entries(f->dirfd), 1);
		assert_int_equal(checkpoint_remove(f->dirfd, name), 0);
		assert_int_equal(count_entries(f->dirfd), 0);
	}
	errno = 0;
	assert_int_equal(checkpoint_write(f->dirfd, "", &in), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(count_entries(f->dirfd), 0);
}

static void
test_write_rejects_invalid(void **state)
{
	struct fx *f = *state;
	struct checkpoint good, bad, out;
	char err[256];

	fill(&good);
	assert_int_equal(checkpoint_write(f->dirfd, NAME, &good), 0);
	bad = good;
	bad.id.nclones = CKPT_MAX_CLONES + 1;
	errno = 0;
	assert_int_equal(checkpoint_write(f->dirfd, NAME, &bad), -1);
	assert_int_equal(errno, EINVAL);
	bad = good;
	memset(bad.staging, 'x', sizeof(bad.staging));
	assert_int_equal(checkpoint_write(f->dirfd, NAME, &bad), -1);
	assert_int_equal(errno, EINVAL);
	/* The previous checkpoint is untouched and no temp is left. */
	assert_int_equal(checkpoint_read(f->dirfd, NAME, &out, err, sizeof(err)), 0);
	assert_same(&good, &out);
	assert_int_equal(faccessat(f->dirfd, "." NAME ".tmp", F_OK, 0), -1);
}

static void
test_identity_equal_per_field(void **state)
{
	struct ckpt_identity a, b;
	struct checkpoint c;
	int field;

	(void)state;
	fill(&c);
	c.id.nclones = 5;
	a = c.id;
	assert_true(ckpt_identity_equal(&a, &a));
	for (field = 0; field < 10; field++) {
		b = a;
		switch (field) {
		case 0: b.name[200] ^= 1; break;
		case 1: b.uuid[15] ^= 1; break;
		case 2: b.ctransid--; break;
		case 3: b.has_parent = false; break;
		case 4: b.parent_uuid[0] ^= 1; break;
		case 5: b.parent_ctransid++; break;
		case 6: b.version = 1; break;
		case 7: b.flags ^= 4; break;
		case 8: b.nclones = 4; break;
		case 9: b.clone_uuids[4][7] ^= 1; break;
		}
		if (ckpt_identity_equal(&a, &b) || ckpt_identity_equal(&b, &a))
			fail_msg("identity field %d ignored", field);
	}
	/* What the identity does not hold cannot make it differ. */
	b = a;
	b.clone_uuids[5][0] ^= 1;
	b.clone_uuids[63][15] ^= 1;
	assert_true(ckpt_identity_equal(&a, &b));
	a.has_parent = b.has_parent = false;
	b.parent_uuid[3] ^= 1;
	b.parent_ctransid = 0;
	assert_true(ckpt_identity_equal(&a, &b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_crc),
		cmocka_unit_test_setup_teardown(test_roundtrip_every_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip_minimal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_byte_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crafted_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_key_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_bytes_optional, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_temp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_rejects_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_target_names, setup, teardown),
		cmocka_unit_test(test_identity_equal_per_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
