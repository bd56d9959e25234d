/*
 * btrsendctl verify: check every command of a send stream (framing, CRC,
 * TLV shape, required attributes) and summarize it, or name the first bad
 * command by index and byte offset.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "daemon/ctl/ctl.h"
#include "proto/base/log.h"
#include "proto/stream/stream.h"

/* Large reads amortize syscalls; small enough to stay in L3 for the CRC. */
#define VERIFY_READ_CHUNK       (4u << 20)
#define VERIFY_MAX_SUBVOLS      64
#define VERIFY_PIPE_SIZE        (1 << 20)       /* default pipe-max-size */

struct verify_subvol {
	uint16_t type;
	char name[256];
	uint8_t uuid[16], parent[16];
	uint64_t ctransid, parent_ctransid;
};

struct verify_state {
	const char *input;
	bool list;
	uint64_t counts[SEND_C_MAX + 2];        /* last slot: unknown */
	uint64_t data_bytes;
	uint32_t versions_seen;                 /* bit v: version v seen */
	struct verify_subvol subvols[VERIFY_MAX_SUBVOLS];
	size_t nsubvols, nsubvols_total;
};

static void
verify_usage(FILE *f)
{
	fprintf(f, "usage: btrsendctl verify [-v] [-f FILE]\n"
	    "  -f, --file FILE  read the stream from FILE (default stdin)\n"
	    "  -v, --list       print \"index offset len name\" per command\n"
	    "                   (offset of the 10-byte header, payload len)\n"
	    "  -h, --help       this help\n"
	    "Exit status: 0 stream is valid, 1 invalid or unreadable, "
	    "2 usage error.\n");
}

static void
verify_note_subvol(struct verify_state *vs, const struct stream_cmd *c)
{
	struct verify_subvol *sv;
	const uint8_t *p;
	uint32_t n;

	vs->nsubvols_total++;
	if (vs->nsubvols == VERIFY_MAX_SUBVOLS)
		return;
	sv = &vs->subvols[vs->nsubvols++];
	memset(sv, 0, sizeof(*sv));
	sv->type = c->type;
	/* The reader guarantees the required attributes are there. */
	stream_get_bytes(c, SEND_A_PATH, &p, &n);
	if (n >= sizeof(sv->name))
		n = sizeof(sv->name) - 1;
	memcpy(sv->name, p, n);
	stream_get_uuid(c, SEND_A_UUID, sv->uuid);
	stream_get_u64(c, SEND_A_CTRANSID, &sv->ctransid);
	if (c->type == SEND_C_SNAPSHOT) {
		stream_get_uuid(c, SEND_A_CLONE_UUID, sv->parent);
		stream_get_u64(c, SEND_A_CLONE_CTRANSID, &sv->parent_ctransid);
	}
}

static void
verify_cmd(struct verify_state *vs, const struct stream_cmd *c)
{
	const uint8_t *p;
	uint32_t n;

	vs->counts[c->type <= SEND_C_MAX ? c->type : SEND_C_MAX + 1]++;
	if (stream_get_bytes(c, SEND_A_DATA, &p, &n) == 0)
		vs->data_bytes += n;
	if (c->type == SEND_C_SUBVOL || c->type == SEND_C_SNAPSHOT)
		verify_note_subvol(vs, c);
	if (vs->list)
		printf("%" PRIu64 " %" PRIu64 " %" PRIu32 " %s\n", c->index,
		    c->offset, c->len, stream_cmd_name(c->type));
}

static void
verify_summary(const struct verify_state *vs, const struct stream_reader *r)
{
	const struct verify_subvol *sv;
	char u[37], pu[37];
	uint32_t v;
	size_t i;
	int t;

	printf("stream ok: %s\n", vs->input);
	printf("streams: %" PRIu64 " (version", r->nstreams);
	for (v = 1; v <= STREAM_VERSION_MAX; v++)
		if (vs->versions_seen & (1u << v))
			printf(" %" PRIu32, v);
	printf(")\n");
	for (i = 0; i < vs->nsubvols; i++) {
		sv = &vs->subvols[i];
		uuid_unparse(sv->uuid, u);
		printf("%s: %s uuid=%s transid=%" PRIu64,
		    stream_cmd_name(sv->type), sv->name, u, sv->ctransid);
		if (sv->type == SEND_C_SNAPSHOT) {
			uuid_unparse(sv->parent, pu);
			printf(" parent_uuid=%s parent_transid=%" PRIu64, pu,
			    sv->parent_ctransid);
		}
		printf("\n");
	}
	if (vs->nsubvols_total > vs->nsubvols)
		printf("(%zu more subvolumes)\n",
		    vs->nsubvols_total - vs->nsubvols);
	printf("commands: %" PRIu64 "\n", r->ncmds);
	for (t = 0; t <= SEND_C_MAX + 1; t++)
		if (vs->counts[t] > 0)
			printf("  %-14s %" PRIu64 "\n", t <= SEND_C_MAX ?
			    stream_cmd_name(t) : "unknown", vs->counts[t]);
	printf("data bytes: %" PRIu64 "\n", vs->data_bytes);
	printf("total bytes: %" PRIu64 "\n", r->consumed);
}

static void
verify_report(const struct verify_state *vs, const struct stream_reader *r)
{
	const struct stream_error *e = &r->err;

	if (e->in_header) {
		log_warnx("verify: %s: stream header at offset %" PRIu64
		    " (before command %" PRIu64 "): %s", vs->input, e->offset,
		    e->index, e->msg);
		return;
	}
	if (e->cmd_type >= 0)
		log_warnx("verify: %s: command %" PRIu64 " (%s) at offset %"
		    PRIu64 ": %s", vs->input, e->index,
		    stream_cmd_name(e->cmd_type), e->offset, e->msg);
	else
		log_warnx("verify: %s: command %" PRIu64 " at offset %" PRIu64
		    ": %s", vs->input, e->index, e->offset, e->msg);
}

/* Drain the reader; 1: more input wanted, 0: done, -1: bad stream. */
static int
verify_drain(struct verify_state *vs, struct stream_reader *r)
{
	struct stream_cmd c;

	for (;;) {
		switch (stream_reader_next(r, &c)) {
		case STREAM_NEED_MORE:
			return 1;
		case STREAM_DONE:
			return 0;
		case STREAM_ERROR:
			return -1;
		case STREAM_HEADER:
			vs->versions_seen |= 1u << r->version;
			break;
		case STREAM_CMD:
			verify_cmd(vs, &c);
			break;
		}
	}
}

static int
verify_end(struct verify_state *vs, struct stream_reader *r, int more)
{
	if (more == -1) {
		fflush(stdout);
		verify_report(vs, r);
		return CTL_FAILED;
	}
	verify_summary(vs, r);
	return CTL_OK;
}

static const char *verify_mapped_name;

/* A mapped file that shrinks under us faults; say so instead of dying. */
static void
verify_sigbus(int sig)
{
	static const char pre[] = "btrsendctl: verify: ";
	static const char post[] = ": file shrank while being read\n";

	(void)sig;
	(void)!write(STDERR_FILENO, pre, sizeof(pre) - 1);
	(void)!write(STDERR_FILENO, verify_mapped_name,
	    strlen(verify_mapped_name));
	(void)!write(STDERR_FILENO, post, sizeof(post) - 1);
	_exit(CTL_FAILED);
}

/*
 * A regular file is checked in place through a read-only mapping: no
 * copy into a buffer, which is what bounds read(2) on page-cached files.
 * Returns -2 when the file cannot be mapped (the caller reads instead).
 */
static int
verify_mapped(struct verify_state *vs, int fd)
{
	struct stream_reader r;
	struct sigaction sa;
	struct stat st;
	void *p;
	int rc;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    (uint64_t)st.st_size > SIZE_MAX)
		return -2;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -2;
	(void)madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
	verify_mapped_name = vs->input;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = verify_sigbus;
	sigaction(SIGBUS, &sa, NULL);
	stream_reader_init(&r, NULL);
	stream_reader_attach(&r, p, (size_t)st.st_size);
	rc = verify_end(vs, &r, verify_drain(vs, &r));
	stream_reader_free(&r);
	munmap(p, (size_t)st.st_size);
	return rc;
}

static int
verify_fd(struct verify_state *vs, int fd)
{
	struct stream_reader r;
	uint8_t *p;
	size_t avail;
	ssize_t n;
	int rc = CTL_FAILED, more = 1;

	if ((rc = verify_mapped(vs, fd)) != -2)
		return rc;
	/* A 64 KiB pipe costs a context switch per 64 KiB; best effort. */
	(void)fcntl(fd, F_SETPIPE_SZ, VERIFY_PIPE_SIZE);
	rc = CTL_FAILED;
	stream_reader_init(&r, NULL);
	while (more == 1) {
		if ((p = stream_reader_space(&r, VERIFY_READ_CHUNK,
		    &avail)) == NULL) {
			log_warn("verify: %s", vs->input);
			goto fail;
		}
		if (avail > VERIFY_READ_CHUNK)
			avail = VERIFY_READ_CHUNK;
		n = read(fd, p, avail);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("verify: read %s at offset %" PRIu64,
			    vs->input, r.consumed + (r.end - r.start));
			goto fail;
		}
		if (n == 0)
			stream_reader_eof(&r);
		stream_reader_commit(&r, (size_t)n);
		more = verify_drain(vs, &r);
	}
	rc = verify_end(vs, &r, more);
fail:
	stream_reader_free(&r);
	return rc;
}

int
ctl_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "list", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct verify_state vs;
	const char *path = NULL;
	int ch, fd, rc;

	memset(&vs, 0, sizeof(vs));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'v':
			vs.list = true;
			break;
		case 'h':
			verify_usage(stdout);
			return CTL_OK;
		default:
			verify_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind != argc) {
		log_warnx("verify: unexpected argument '%s'", argv[optind]);
		verify_usage(stderr);
		return CTL_USAGE;
	}
	vs.input = path != NULL && strcmp(path, "-") != 0 ? path : "<stdin>";
	if ((fd = ctl_open_input(path)) == -1)
		return CTL_FAILED;
	rc = verify_fd(&vs, fd);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}
