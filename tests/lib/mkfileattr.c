/*
 * mkfileattr: a send stream full of FILEATTR commands, for the tests of
 * the receiver's deferred inode flags.
 *
 *   mkfileattr OUT NAME NFILES NATTR [OPTS]
 *
 * One subvolume NAME (stream version 2) with directory d and files f0 ..
 * f<NFILES-1> in it, each with one line of data; then NATTR FILEATTR
 * commands going round the files (even ones immutable, odd ones
 * append-only, d no-atime then immutable); then one more line written to
 * each file, which must still work.  OPTS letters: "i" or "a" finally
 * make the subvolume root immutable or append-only; "g" adds a file d/gone
 * that is made immutable, then unlinked.  The subvolume's uuid depends
 * on NAME and NFILES only.  Written as it is made, so
 * NATTR may be millions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/log.h"
#include "proto/stream/stream.h"

#define MF_BUF          (1u << 20)
#define INODE_IMMUTABLE (1u << 6)       /* BTRFS_INODE_* */
#define INODE_APPEND    (1u << 7)
#define INODE_NOATIME   (1u << 9)

static struct stream_writer w;
static FILE *out;
static const char *outname;

static void
mf_end(void)
{
	if (stream_wr_end(&w) < 0)
		fatalx("writer: command does not fit");
	if (w.pos > MF_BUF / 2) {
		if (fwrite(w.buf, 1, w.pos, out) != w.pos)
			fatal("write %s", outname);
		w.pos = w.cmd_start = 0;
	}
}

static void
mf_path(int cmd, const char *path, uint64_t ino)
{
	stream_wr_begin(&w, cmd);
	stream_wr_str(&w, SEND_A_PATH, path);
	if (cmd == SEND_C_MKFILE || cmd == SEND_C_MKDIR)
		stream_wr_u64(&w, SEND_A_INO, ino);
	mf_end();
}

static void
mf_write(const char *path, uint64_t off, const char *data)
{
	stream_wr_begin(&w, SEND_C_WRITE);
	stream_wr_str(&w, SEND_A_PATH, path);
	stream_wr_u64(&w, SEND_A_FILE_OFFSET, off);
	stream_wr_data(&w, data, strlen(data));
	mf_end();
}

static void
mf_attr(const char *path, uint64_t attr)
{
	stream_wr_begin(&w, SEND_C_FILEATTR);
	stream_wr_str(&w, SEND_A_PATH, path);
	stream_wr_u64(&w, SEND_A_FILEATTR, attr);
	mf_end();
}

int
main(int argc, char **argv)
{
	uint8_t uuid[16];
	char path[64];
	unsigned long nfiles, i;
	unsigned long long nattr, k;
	size_t j;

	log_init("mkfileattr", 0);
	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: mkfileattr OUT NAME NFILES NATTR [iag]\n");
		return 2;
	}
	outname = argv[1];
	nfiles = strtoul(argv[3], NULL, 10);
	nattr = strtoull(argv[4], NULL, 10);
	if (nfiles == 0 || nfiles > 100000)
		fatalx("NFILES: 1 to 100000");
	if ((out = fopen(outname, "w")) == NULL)
		fatal("%s", outname);
	memset(uuid, 0, sizeof(uuid));
	for (j = 0; argv[2][j] != '\0'; j++)
		uuid[j % 16] = (uint8_t)(uuid[j % 16] * 31 + argv[2][j]);
	uuid[15] ^= (uint8_t)nfiles;        /* NFILES makes another stream */
	stream_writer_init(&w, xmalloc(MF_BUF), MF_BUF, 2);
	stream_wr_header(&w);
	stream_wr_begin(&w, SEND_C_SUBVOL);
	stream_wr_str(&w, SEND_A_PATH, argv[2]);
	stream_wr_uuid(&w, SEND_A_UUID, uuid);
	stream_wr_u64(&w, SEND_A_CTRANSID, 7);
	mf_end();
	mf_path(SEND_C_MKDIR, "d", 257);
	for (i = 0; i < nfiles; i++) {
		snprintf(path, sizeof(path), "d/f%lu", i);
		mf_path(SEND_C_MKFILE, path, 258 + i);
		mf_write(path, 0, "first\n");
	}
	mf_attr("d", INODE_NOATIME);
	for (k = 0; k < nattr; k++) {
		i = (unsigned long)(k % nfiles);
		snprintf(path, sizeof(path), "d/f%lu", i);
		mf_attr(path, i % 2 ? INODE_APPEND : INODE_IMMUTABLE);
	}
	for (i = 0; i < nfiles; i++) {
		snprintf(path, sizeof(path), "d/f%lu", i);
		mf_write(path, 6, "second\n");
	}
	mf_attr("d", INODE_NOATIME | INODE_IMMUTABLE);
	if (argc == 6 && strchr(argv[5], 'g') != NULL) {
		mf_path(SEND_C_MKFILE, "d/gone", 258 + nfiles);
		mf_attr("d/gone", INODE_IMMUTABLE);
		mf_path(SEND_C_UNLINK, "d/gone", 0);
	}
	if (argc == 6 && strchr(argv[5], 'a') != NULL)
		mf_attr("", INODE_APPEND);
	else if (argc == 6 && strchr(argv[5], 'i') != NULL)
		mf_attr("", INODE_IMMUTABLE);
	stream_wr_begin(&w, SEND_C_END);
	mf_end();
	if (fwrite(w.buf, 1, w.pos, out) != w.pos || fclose(out) != 0)
		fatal("write %s", outname);
	return 0;
}
