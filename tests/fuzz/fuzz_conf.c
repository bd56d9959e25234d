/*
 * libFuzzer target for the configuration parser: any input either fails
 * with errors or parses; a parsed config prints to a form that parses to
 * an equal config and prints identically.  Relative includes resolve in
 * a directory that does not exist.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *
fuzz_print(const struct conf *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (f == NULL)
		abort();
	conf_print(f, c);
	if (fclose(f) != 0)
		abort();
	return buf;
}

static void
fuzz_round_trip(const struct conf *a)
{
	struct conf_errors errs;
	struct conf *b;
	char *pa, *pb;
	size_t la, lb;

	pa = fuzz_print(a, &la);
	b = conf_load_buffer("/nonexistent-fuzz/printed.conf", pa, la, &errs);
	if (b == NULL) {
		fprintf(stderr, "printed form does not parse:\n%s\n", pa);
		conf_errors_print(stderr, &errs);
		abort();
	}
	if (!conf_equal(a, b)) {
		fprintf(stderr, "printed form parses differently:\n%s\n", pa);
		abort();
	}
	pb = fuzz_print(b, &lb);
	if (la != lb || memcmp(pa, pb, la) != 0) {
		fprintf(stderr, "printing is not stable:\n%s\n---\n%s\n", pa,
		    pb);
		abort();
	}
	free(pa);
	free(pb);
	conf_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors errs;
	struct conf *c;

	c = conf_load_buffer("/nonexistent-fuzz/fuzz.conf", (const char *)data,
	    size, &errs);
	if (c == NULL) {
		if (errs.n == 0)
			abort();	/* a failure always says why */
		conf_errors_free(&errs);
		return 0;
	}
	if (errs.n != 0)
		abort();
	fuzz_round_trip(c);
	conf_free(c);
	return 0;
}
