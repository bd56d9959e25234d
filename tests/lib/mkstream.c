/*
 * mkstream: write a hostile or broken send stream for the receive tests,
 * using the codec writer (so CRCs are right unless the case breaks them).
 *
 *   mkstream CASE OUT [OUTSIDE [UUID]]
 *
 * OUTSIDE is an absolute directory outside the receive area (symlink
 * targets); UUID (36 characters) names a subvolume outside it (clone and
 * snapshot cases).  `mkstream list` prints the cases.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "proto/base/log.h"
#include "proto/stream/stream.h"

#define MK_BUF (8u << 20)

struct mk {
	struct stream_writer w;
	const char *outside;
	uint8_t uuid[16];       /* outside subvolume */
	uint8_t self[16];       /* the stream's own subvolume */
};

static void
mk_end(struct mk *m)
{
	if (stream_wr_end(&m->w) < 0)
		fatalx("writer: command does not fit or misused");
}

static void
mk_subvol(struct mk *m, const char *name)
{
	stream_wr_header(&m->w);
	stream_wr_begin(&m->w, SEND_C_SUBVOL);
	stream_wr_str(&m->w, SEND_A_PATH, name);
	stream_wr_uuid(&m->w, SEND_A_UUID, m->self);
	stream_wr_u64(&m->w, SEND_A_CTRANSID, 7);
	mk_end(m);
}

static void
mk_path(struct mk *m, int cmd, const char *path)
{
	stream_wr_begin(&m->w, cmd);
	stream_wr_str(&m->w, SEND_A_PATH, path);
	if (cmd >= SEND_C_MKFILE && cmd <= SEND_C_MKSOCK)
		stream_wr_u64(&m->w, SEND_A_INO, 300);
	mk_end(m);
}

static void
mk_write(struct mk *m, const char *path, uint64_t off, const char *data)
{
	stream_wr_begin(&m->w, SEND_C_WRITE);
	stream_wr_str(&m->w, SEND_A_PATH, path);
	stream_wr_u64(&m->w, SEND_A_FILE_OFFSET, off);
	stream_wr_data(&m->w, data, strlen(data));
	mk_end(m);
}

static void
mk_two(struct mk *m, int cmd, const char *path, int attr, const char *path2)
{
	stream_wr_begin(&m->w, cmd);
	stream_wr_str(&m->w, SEND_A_PATH, path);
	if (cmd == SEND_C_SYMLINK)
		stream_wr_u64(&m->w, SEND_A_INO, 301);
	stream_wr_str(&m->w, attr, path2);
	mk_end(m);
}

static void
mk_u64(struct mk *m, int cmd, const char *path, int attr, uint64_t v)
{
	stream_wr_begin(&m->w, cmd);
	stream_wr_str(&m->w, SEND_A_PATH, path);
	stream_wr_u64(&m->w, attr, v);
	mk_end(m);
}

static void
mk_finish(struct mk *m)
{
	stream_wr_begin(&m->w, SEND_C_END);
	mk_end(m);
}

static char *
mk_outside(struct mk *m, const char *name)
{
	char *s;

	if (m->outside == NULL)
		fatalx("this case needs OUTSIDE");
	if (asprintf(&s, "%s%s%s", m->outside, *name ? "/" : "", name) == -1)
		fatalx("asprintf");
	return s;
}

/* A small valid file, then the case's own commands. */
static void
mk_prologue(struct mk *m)
{
	mk_subvol(m, "evil");
	mk_path(m, SEND_C_MKFILE, "o300-1-0");
	mk_two(m, SEND_C_RENAME, "o300-1-0", SEND_A_PATH_TO, "ok");
	mk_write(m, "ok", 0, "fine\n");
}

static int
mk_case(struct mk *m, const char *c)
{
	char *o = NULL, deep[8192];
	size_t i;

	if (strcmp(c, "valid") == 0) {
		mk_prologue(m);
	} else if (strcmp(c, "dotdot") == 0) {
		mk_prologue(m);
		mk_path(m, SEND_C_MKFILE, "../escaped");
		mk_write(m, "../escaped", 0, "out\n");
	} else if (strcmp(c, "dotdot-deep") == 0) {
		mk_prologue(m);
		mk_path(m, SEND_C_MKDIR, "o301-1-0");
		mk_path(m, SEND_C_MKFILE, "o301-1-0/../../../escaped");
	} else if (strcmp(c, "absolute") == 0) {
		mk_prologue(m);
		o = mk_outside(m, "abs-created");
		mk_path(m, SEND_C_MKFILE, o);
	} else if (strcmp(c, "symlink-abs-dir") == 0) {
		mk_prologue(m);
		o = mk_outside(m, "");
		mk_two(m, SEND_C_SYMLINK, "lnk", SEND_A_PATH_LINK, o);
		mk_path(m, SEND_C_MKFILE, "lnk/via-symlink");
		mk_write(m, "lnk/via-symlink", 0, "out\n");
	} else if (strcmp(c, "symlink-rel-dir") == 0) {
		mk_prologue(m);
		mk_two(m, SEND_C_SYMLINK, "lnk", SEND_A_PATH_LINK, "../..");
		mk_path(m, SEND_C_MKFILE, "lnk/via-rel-symlink");
	} else if (strcmp(c, "symlink-abs-file") == 0) {
		mk_prologue(m);
		o = mk_outside(m, "victim");
		mk_two(m, SEND_C_SYMLINK, "f", SEND_A_PATH_LINK, o);
		mk_write(m, "f", 0, "overwritten through a symlink\n");
	} else if (strcmp(c, "symlink-rel-file") == 0) {
		mk_prologue(m);
		mk_two(m, SEND_C_SYMLINK, "f", SEND_A_PATH_LINK,
		    "../../outside/victim");
		mk_write(m, "f", 0, "overwritten through a symlink\n");
	} else if (strcmp(c, "chmod-symlink") == 0) {
		mk_prologue(m);
		o = mk_outside(m, "victim");
		mk_two(m, SEND_C_SYMLINK, "s", SEND_A_PATH_LINK, o);
		mk_u64(m, SEND_C_CHMOD, "s", SEND_A_MODE, 06777);
	} else if (strcmp(c, "truncate-symlink") == 0) {
		mk_prologue(m);
		o = mk_outside(m, "victim");
		mk_two(m, SEND_C_SYMLINK, "s", SEND_A_PATH_LINK, o);
		mk_u64(m, SEND_C_TRUNCATE, "s", SEND_A_SIZE, 0);
	} else if (strcmp(c, "xattr-symlink-dir") == 0) {
		mk_prologue(m);
		o = mk_outside(m, "");
		mk_two(m, SEND_C_SYMLINK, "s", SEND_A_PATH_LINK, o);
		stream_wr_begin(&m->w, SEND_C_SET_XATTR);
		stream_wr_str(&m->w, SEND_A_PATH, "s/victim");
		stream_wr_str(&m->w, SEND_A_XATTR_NAME, "user.evil");
		stream_wr_str(&m->w, SEND_A_XATTR_DATA, "x");
		mk_end(m);
	} else if (strcmp(c, "rename-out") == 0) {
		mk_prologue(m);
		mk_two(m, SEND_C_RENAME, "ok", SEND_A_PATH_TO, "../renamed-out");
	} else if (strcmp(c, "rename-in") == 0) {
		mk_prologue(m);
		mk_two(m, SEND_C_RENAME, "../outside/victim", SEND_A_PATH_TO,
		    "stolen");
	} else if (strcmp(c, "link-out") == 0) {
		mk_prologue(m);
		mk_two(m, SEND_C_LINK, "../linked-out", SEND_A_PATH_LINK, "ok");
	} else if (strcmp(c, "link-in") == 0) {
		mk_prologue(m);
		mk_two(m, SEND_C_LINK, "stolen", SEND_A_PATH_LINK,
		    "../outside/victim");
	} else if (strcmp(c, "link-via-symlink") == 0) {
		mk_prologue(m);
		o = mk_outside(m, "");
		mk_two(m, SEND_C_SYMLINK, "s", SEND_A_PATH_LINK, o);
		mk_two(m, SEND_C_LINK, "stolen", SEND_A_PATH_LINK, "s/victim");
	} else if (strcmp(c, "unlink-via-symlink") == 0) {
		mk_prologue(m);
		o = mk_outside(m, "");
		mk_two(m, SEND_C_SYMLINK, "s", SEND_A_PATH_LINK, o);
		mk_path(m, SEND_C_UNLINK, "s/victim");
	} else if (strcmp(c, "subvol-slash") == 0) {
		mk_subvol(m, "a/b");
	} else if (strcmp(c, "subvol-dotdot") == 0) {
		mk_subvol(m, "..");
	} else if (strcmp(c, "subvol-abs") == 0) {
		o = mk_outside(m, "evil-subvol");
		mk_subvol(m, o);
	} else if (strcmp(c, "clone-outside") == 0) {
		mk_prologue(m);
		stream_wr_begin(&m->w, SEND_C_CLONE);
		stream_wr_u64(&m->w, SEND_A_FILE_OFFSET, 0);
		stream_wr_u64(&m->w, SEND_A_CLONE_LEN, 4096);
		stream_wr_str(&m->w, SEND_A_PATH, "ok");
		stream_wr_uuid(&m->w, SEND_A_CLONE_UUID, m->uuid);
		stream_wr_u64(&m->w, SEND_A_CLONE_CTRANSID, 0);
		stream_wr_str(&m->w, SEND_A_CLONE_PATH, "secret");
		stream_wr_u64(&m->w, SEND_A_CLONE_OFFSET, 0);
		mk_end(m);
	} else if (strcmp(c, "snapshot-outside") == 0) {
		stream_wr_header(&m->w);
		stream_wr_begin(&m->w, SEND_C_SNAPSHOT);
		stream_wr_str(&m->w, SEND_A_PATH, "evil");
		stream_wr_uuid(&m->w, SEND_A_UUID, m->self);
		stream_wr_u64(&m->w, SEND_A_CTRANSID, 9);
		stream_wr_uuid(&m->w, SEND_A_CLONE_UUID, m->uuid);
		stream_wr_u64(&m->w, SEND_A_CLONE_CTRANSID, 0);
		mk_end(m);
	} else if (strcmp(c, "device-write") == 0) {
		mk_prologue(m);
		stream_wr_begin(&m->w, SEND_C_MKNOD);
		stream_wr_str(&m->w, SEND_A_PATH, "dev");
		stream_wr_u64(&m->w, SEND_A_INO, 302);
		stream_wr_u64(&m->w, SEND_A_RDEV, (1 << 8) | 3);
		stream_wr_u64(&m->w, SEND_A_MODE, 020644);
		mk_end(m);
		mk_write(m, "dev", 0, "to a device\n");
	} else if (strcmp(c, "fifo-write") == 0) {
		mk_prologue(m);
		mk_path(m, SEND_C_MKFIFO, "fifo");
		mk_write(m, "fifo", 0, "would block\n");
	} else if (strcmp(c, "deep") == 0) {
		mk_prologue(m);
		for (i = 0; i + 2 < sizeof(deep) - 2; i += 2)
			memcpy(deep + i, "d/", 2);
		memcpy(deep + i, "f", 2);
		mk_path(m, SEND_C_MKFILE, deep);
	} else if (strcmp(c, "huge-offset") == 0) {
		mk_prologue(m);
		mk_write(m, "ok", UINT64_MAX - 2, "xx");
	} else if (strcmp(c, "huge-unencoded") == 0) {
		mk_prologue(m);
		stream_wr_begin(&m->w, SEND_C_ENCODED_WRITE);
		stream_wr_str(&m->w, SEND_A_PATH, "ok");
		stream_wr_u64(&m->w, SEND_A_FILE_OFFSET, 0);
		stream_wr_u64(&m->w, SEND_A_UNENCODED_FILE_LEN, 1ull << 40);
		stream_wr_u64(&m->w, SEND_A_UNENCODED_LEN, 1ull << 40);
		stream_wr_u64(&m->w, SEND_A_UNENCODED_OFFSET, 0);
		stream_wr_u32(&m->w, SEND_A_COMPRESSION, 2);
		stream_wr_u32(&m->w, SEND_A_ENCRYPTION, 0);
		stream_wr_data(&m->w, "garbage", 7);
		mk_end(m);
	} else {
		fprintf(stderr, "mkstream: unknown case %s\n", c);
		return -1;
	}
	if (strcmp(c, "subvol-slash") && strcmp(c, "subvol-dotdot") &&
	    strcmp(c, "subvol-abs") && strcmp(c, "snapshot-outside"))
		mk_finish(m);
	free(o);
	return 0;
}

static void
mk_recrc(uint8_t *cmd, size_t len)
{
	uint32_t crc;

	memset(cmd + 6, 0, 4);
	crc = stream_crc32c(0, cmd, len);
	cmd[6] = crc & 0xff;
	cmd[7] = (crc >> 8) & 0xff;
	cmd[8] = (crc >> 16) & 0xff;
	cmd[9] = crc >> 24;
}

/* Cases that need bytes the writer will not produce. */
static int
mk_raw_case(struct mk *m, const char *c)
{
	uint8_t *b = m->w.buf;

	if (strcmp(c, "badcrc") == 0) {
		mk_prologue(m);
		mk_write(m, "ok", 5, "more data\n");
		mk_finish(m);
		b[m->w.pos - 10 - 4] ^= 0x40;   /* inside the last WRITE */
		return 1;
	}
	if (strcmp(c, "truncated") == 0) {
		mk_prologue(m);
		mk_write(m, "ok", 5, "more data\n");
		m->w.pos -= 7;                  /* cut inside the WRITE */
		return 1;
	}
	if (strcmp(c, "no-end") == 0) {
		mk_prologue(m);                 /* whole commands, no END */
		return 1;
	}
	if (strcmp(c, "v2data-in-v1") == 0) {
		m->w.version = 2;               /* v2 DATA, v1 header */
		mk_prologue(m);
		mk_finish(m);
		b[13] = 1;
		return 1;
	}
	if (strcmp(c, "huge-cmd") == 0) {
		mk_prologue(m);
		/* a command header claiming 4 GiB - 16 of payload */
		memcpy(b + m->w.pos, "\xf0\xff\xff\xff\x0f\x00\x00\x00\x00\x00",
		    10);
		m->w.pos += 10;
		memset(b + m->w.pos, 'A', 4096);
		m->w.pos += 4096;
		return 1;
	}
	if (strcmp(c, "huge-tlv") == 0) {
		mk_prologue(m);
		stream_wr_begin(&m->w, SEND_C_UNLINK);
		stream_wr_str(&m->w, SEND_A_PATH, "ok");
		mk_end(m);
		/* the PATH TLV claims 65535 bytes of a 6-byte payload; the
		 * CRC is made right again so that the TLV check must catch it */
		b[m->w.pos - 6 + 2] = 0xff;
		b[m->w.pos - 6 + 3] = 0xff;
		mk_recrc(b + m->w.pos - 16, 16);
		return 1;
	}
	return 0;
}

static const char *mk_cases[] = {
	"valid", "dotdot", "dotdot-deep", "absolute", "symlink-abs-dir",
	"symlink-rel-dir", "symlink-abs-file", "symlink-rel-file",
	"chmod-symlink", "truncate-symlink", "xattr-symlink-dir", "rename-out",
	"rename-in", "link-out", "link-in", "link-via-symlink",
	"unlink-via-symlink", "subvol-slash", "subvol-dotdot", "subvol-abs",
	"clone-outside", "snapshot-outside", "device-write", "fifo-write",
	"deep", "huge-offset", "huge-unencoded", "badcrc", "truncated",
	"no-end", "v2data-in-v1", "huge-cmd", "huge-tlv",
};

int
main(int argc, char **argv)
{
	static struct mk m;
	FILE *f;
	size_t i;
	int rc;

	log_init("mkstream", 0);
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		for (i = 0; i < sizeof(mk_cases) / sizeof(mk_cases[0]); i++)
			printf("%s\n", mk_cases[i]);
		return 0;
	}
	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: mkstream CASE OUT [OUTSIDE [UUID]]\n");
		return 2;
	}
	m.outside = argc > 3 ? argv[3] : NULL;
	if (argc > 4 && uuid_parse(argv[4], m.uuid) == -1)
		fatalx("bad uuid %s", argv[4]);
	memset(m.self, 0x5a, sizeof(m.self));
	stream_writer_init(&m.w, xmalloc(MK_BUF), MK_BUF,
	    strstr(argv[1], "unencoded") ? 2 : 1);
	rc = mk_raw_case(&m, argv[1]);
	if (rc == 0 && mk_case(&m, argv[1]) == -1)
		return 2;
	if ((f = fopen(argv[2], "w")) == NULL)
		fatal("%s", argv[2]);
	if (fwrite(m.w.buf, 1, m.w.pos, f) != m.w.pos || fclose(f) != 0)
		fatal("write %s", argv[2]);
	return 0;
}
