/*
 * Arbitrary bytes as a checkpoint state file: the reader must never crash,
 * and whatever it accepts must survive a write/read round trip unchanged.
 * An odd first byte asks for the rest to be sealed with a correct crc32c
 * line, so that mutations reach the parser behind the checksum.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <isa-l/crc.h>

#include "engine/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_dirfd = -1;
static char fuzz_dir[] = "/dev/shm/fuzz_checkpoint.XXXXXX";

static void
fuzz_cleanup(void)
{
	unlinkat(fuzz_dirfd, "in", 0);
	unlinkat(fuzz_dirfd, ".in.tmp", 0);
	rmdir(fuzz_dir);
}

static void
fuzz_init(void)
{
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	if ((fuzz_dirfd = open(fuzz_dir, O_RDONLY | O_DIRECTORY)) == -1)
		abort();
	atexit(fuzz_cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct checkpoint c, again;
	char err[256], seal[32];
	int fd, n = 0;

	if (size == 0 || size > 65536)
		return 0;
	if (fuzz_dirfd == -1)
		fuzz_init();
	if (data[0] & 1)
		n = snprintf(seal, sizeof(seal), "crc32c %08x\n",
		    crc32_iscsi((unsigned char *)(uintptr_t)data + 1,
		    (int)size - 1, 0));
	fd = openat(fuzz_dirfd, "in", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, data + 1, size - 1) != (ssize_t)size - 1 ||
	    write(fd, seal, n) != n)
		abort();
	close(fd);
	if (checkpoint_read(fuzz_dirfd, "in", &c, err, sizeof(err)) != 0)
		return 0;
	if (checkpoint_write(fuzz_dirfd, "in", &c) != 0 ||
	    checkpoint_read(fuzz_dirfd, "in", &again, err, sizeof(err)) != 0 ||
	    !ckpt_identity_equal(&c.id, &again.id) || c.ncmds != again.ncmds ||
	    c.offset != again.offset || c.data_bytes != again.data_bytes ||
	    memcmp(&c.digest, &again.digest, sizeof(c.digest)) != 0 ||
	    strcmp(c.staging, again.staging) != 0)
		abort();
	return 0;
}
