/*
 * libFuzzer target for the dump formatter, fed by the reader in
 * progs_compat mode as btrsendctl dump does.  Checks: no crash or leak;
 * every line is whole (title column, one '\n' at the end, no NUL, since
 * progs' strings end at the first NUL); a rejected command leaves no line
 * and an error naming its index.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/stream/dump.h"
#include "proto/stream/stream.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static void
check_line(const struct dump_state *ds)
{
	const char *nl;

	CHECK(ds->ds_len > 16);
	CHECK(ds->ds_line[ds->ds_len - 1] == '\n');
	CHECK(memchr(ds->ds_line, '\0', ds->ds_len) == NULL);
	nl = memchr(ds->ds_line, '\n', ds->ds_len);
	/* Only raw xattr/clone fields may hold a newline before the end. */
	CHECK(nl == ds->ds_line + ds->ds_len - 1 ||
	    memcmp(ds->ds_line, "set_xattr ", 10) == 0 ||
	    memcmp(ds->ds_line, "remove_xattr ", 13) == 0 ||
	    memcmp(ds->ds_line, "clone ", 6) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stream_reader_opts opts = {
		.allow_unknown = true,
		.progs_compat = true,
	};
	struct stream_reader r;
	struct dump_state ds;
	struct stream_cmd c;
	enum stream_event ev;
	int rc;

	if (stream_reader_init(&r, &opts) == -1)
		return 0;
	dump_init(&ds);
	if (stream_reader_feed(&r, data, size) == -1)
		goto out;
	stream_reader_eof(&r);
	while ((ev = stream_reader_next(&r, &c)) != STREAM_ERROR &&
	    ev != STREAM_DONE) {
		if (ev != STREAM_CMD)
			continue;
		rc = dump_format(&ds, &c);
		if (rc == 1)
			check_line(&ds);
		else if (rc == -1)
			CHECK(strstr(ds.ds_err, "command ") == ds.ds_err);
		else
			CHECK(ds.ds_len == 0);
		if (rc == -1 || c.type == SEND_C_END)
			break;
	}
out:
	dump_free(&ds);
	stream_reader_free(&r);
	return 0;
}
