/*
 * clonerange SRC SRC_OFFSET LEN DST DST_OFFSET: reflink part of a file
 * with FICLONERANGE (offsets and length block aligned, LEN 0 = to EOF).
 * cp --reflink only clones whole files.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "proto/base/log.h"

static unsigned long long
clonerange_number(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *s == '\0' || *end != '\0' || *s == '-')
		fatalx("bad number '%s'", s);
	return v;
}

int
main(int argc, char **argv)
{
	struct file_clone_range fcr;
	int src = -1, dst = -1, rc = 1;

	log_init("clonerange", 0);
	if (argc != 6) {
		fprintf(stderr,
		    "usage: clonerange SRC SRC_OFFSET LEN DST DST_OFFSET\n");
		return 2;
	}
	if ((src = open(argv[1], O_RDONLY)) == -1) {
		log_warn("%s", argv[1]);
		goto fail;
	}
	if ((dst = open(argv[4], O_WRONLY | O_CREAT, 0644)) == -1) {
		log_warn("%s", argv[4]);
		goto fail;
	}
	fcr.src_fd = src;
	fcr.src_offset = clonerange_number(argv[2]);
	fcr.src_length = clonerange_number(argv[3]);
	fcr.dest_offset = clonerange_number(argv[5]);
	if (ioctl(dst, FICLONERANGE, &fcr) == -1) {
		log_warn("FICLONERANGE %s -> %s", argv[1], argv[4]);
		goto fail;
	}
	rc = 0;
fail:
	if (src != -1)
		close(src);
	if (dst != -1)
		close(dst);
	return rc;
}
