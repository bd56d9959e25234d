/*
 * ckpt_tool: drive checkpoint_write/read from shell tests.
 *
 *   ckpt_tool loop DIR NAME	resume from DIR/NAME (or start at 0) and write
 *				checkpoints with ncmds 1, 2, 3, ... until
 *				killed
 *   ckpt_tool read DIR NAME	check DIR/NAME and print its ncmds
 *   ckpt_tool tamper DIR NAME	flip one bit of the digest of the real
 *				checkpoint DIR/NAME and write it back
 *				(valid file, wrong digest: resume must
 *				not trust it); prints "ncmds offset"
 *
 * Checkpoint n is fully derived from n (offset, digest chain, data_bytes,
 * a fixed identity), so `read` can tell a genuine checkpoint from a mix of
 * two.  Exit codes: 0 ok, 1 refused or inconsistent, 3 no file, 2 usage.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/checkpoint.h"

static void
tool_make(struct checkpoint *c, uint64_t n)
{
	uint64_t i;

	memset(c, 0, sizeof(*c));
	snprintf(c->id.name, sizeof(c->id.name), "home.2026 \n%s", "\xff");
	memset(c->id.uuid, 0xab, sizeof(c->id.uuid));
	c->id.ctransid = 77;
	c->id.version = 2;
	c->id.nclones = 3;
	memset(c->id.clone_uuids, 0x5c, 3 * 16);
	c->ncmds = n;
	c->offset = 17 + n * 4096;
	c->data_bytes = n * 4000;
	stream_digest_init(&c->digest);
	for (i = 0; i < n; i++)
		stream_digest_add(&c->digest, &i, sizeof(i));
	snprintf(c->staging, sizeof(c->staging), ".partial.%" PRIu64, n % 7);
}

static int
tool_same(const struct checkpoint *a, const struct checkpoint *b)
{
	return ckpt_identity_equal(&a->id, &b->id) && a->ncmds == b->ncmds &&
	    a->offset == b->offset && a->data_bytes == b->data_bytes &&
	    memcmp(&a->digest, &b->digest, sizeof(a->digest)) == 0 &&
	    strcmp(a->staging, b->staging) == 0;
}

static int
tool_read(int dirfd, const char *name, uint64_t *n)
{
	struct checkpoint c, want;
	char err[256];
	int rv;

	rv = checkpoint_read(dirfd, name, &c, err, sizeof(err));
	if (rv == 1)
		return 3;
	if (rv == -1) {
		fprintf(stderr, "ckpt_tool: %s refused: %s\n", name, err);
		return 1;
	}
	tool_make(&want, c.ncmds);
	if (!tool_same(&c, &want)) {
		fprintf(stderr, "ckpt_tool: %s: checkpoint %" PRIu64 " does not "
		    "match what was written\n", name, c.ncmds);
		return 1;
	}
	*n = c.ncmds;
	return 0;
}

static int
tool_loop(int dirfd, const char *name)
{
	struct checkpoint c;
	uint64_t n = 0;
	int rv;

	rv = tool_read(dirfd, name, &n);
	if (rv != 0 && rv != 3)
		return 1;
	for (;;) {
		tool_make(&c, ++n);
		if (checkpoint_write(dirfd, name, &c) == -1) {
			perror("ckpt_tool: checkpoint_write");
			return 1;
		}
	}
}

static int
tool_tamper(int dirfd, const char *name)
{
	struct checkpoint c;
	char err[256];
	int rv;

	rv = checkpoint_read(dirfd, name, &c, err, sizeof(err));
	if (rv != 0) {
		fprintf(stderr, "ckpt_tool: %s: %s\n", name, rv == 1 ?
		    "no such checkpoint" : err);
		return rv == 1 ? 3 : 1;
	}
	c.digest.d[0] ^= 0x01;
	if (checkpoint_write(dirfd, name, &c) == -1) {
		perror("ckpt_tool: checkpoint_write");
		return 1;
	}
	printf("%" PRIu64 " %" PRIu64 "\n", c.ncmds, c.offset);
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t n;
	int dirfd, rv;

	if (argc != 4 || (strcmp(argv[1], "loop") && strcmp(argv[1], "read") &&
	    strcmp(argv[1], "tamper"))) {
		fprintf(stderr, "usage: ckpt_tool loop|read|tamper DIR NAME\n");
		return 2;
	}
	if ((dirfd = open(argv[2], O_RDONLY | O_DIRECTORY)) == -1) {
		perror(argv[2]);
		return 1;
	}
	if (strcmp(argv[1], "loop") == 0)
		return tool_loop(dirfd, argv[3]);
	if (strcmp(argv[1], "tamper") == 0)
		return tool_tamper(dirfd, argv[3]);
	if ((rv = tool_read(dirfd, argv[3], &n)) == 0)
		printf("%" PRIu64 "\n", n);
	return rv;
}
