/*
 * gen: deterministic test data for the scenario generator.
 *
 *   gen [-t] SEED SIZE          SIZE bytes to stdout (-t: compressible text)
 *   gen -m COUNT SEED DIR       COUNT small files DIR/f00000.. (0..2 KiB)
 *
 * The same SEED always gives the same bytes, on every machine: the
 * generator is splitmix64 seeded by an FNV-1a hash of the seed string.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/base/log.h"

#define GEN_BUFSZ	(1 << 20)

static const char *gen_words[] = {
	"btrfs", "send", "stream", "extent", "inode", "subvolume", "snapshot",
	"clone", "write", "the", "a", "of", "and", "to", "checkpoint", "resume",
	"receive", "compress", "zstd", "lzo", "zlib", "hole", "xattr", "link",
};

static uint64_t
gen_seed(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
gen_next(uint64_t *state)
{
	uint64_t z;

	*state += 0x9e3779b97f4a7c15ULL;
	z = *state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
gen_fill_random(uint64_t *st, unsigned char *buf, size_t n)
{
	uint64_t v;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		v = gen_next(st);
		memcpy(buf + i, &v, 8);
	}
	if (i < n) {
		v = gen_next(st);
		memcpy(buf + i, &v, n - i);
	}
}

/* Words and line breaks: compresses several times with any codec. */
static void
gen_fill_text(uint64_t *st, unsigned char *buf, size_t n)
{
	const size_t nwords = sizeof(gen_words) / sizeof(gen_words[0]);
	const char *w;
	size_t i = 0, len;
	uint64_t v;

	while (i < n) {
		v = gen_next(st);
		w = gen_words[v % nwords];
		len = strlen(w);
		if (len > n - i)
			len = n - i;
		memcpy(buf + i, w, len);
		i += len;
		if (i < n)
			buf[i++] = (v >> 32) % 9 == 0 ? '\n' : ' ';
	}
}

static int
gen_write_all(int fd, const unsigned char *buf, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = write(fd, buf, n);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
gen_stream(int fd, const char *seed, uint64_t size, int text)
{
	unsigned char *buf;
	uint64_t st = gen_seed(seed);
	size_t n;

	buf = xmalloc(GEN_BUFSZ);
	while (size > 0) {
		n = size < GEN_BUFSZ ? size : GEN_BUFSZ;
		if (text)
			gen_fill_text(&st, buf, n);
		else
			gen_fill_random(&st, buf, n);
		if (gen_write_all(fd, buf, n) == -1) {
			log_warn("write");
			free(buf);
			return -1;
		}
		size -= n;
	}
	free(buf);
	return 0;
}

static int
gen_many(unsigned long count, const char *seed, const char *dir)
{
	unsigned char buf[2048];
	uint64_t st = gen_seed(seed);
	unsigned long i;
	char name[32];
	size_t n;
	int dfd, fd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1) {
		log_warn("%s", dir);
		return -1;
	}
	for (i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "f%05lu", i);
		n = gen_next(&st) % sizeof(buf);
		gen_fill_random(&st, buf, n);
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd == -1 || gen_write_all(fd, buf, n) == -1) {
			log_warn("%s/%s", dir, name);
			if (fd != -1)
				close(fd);
			close(dfd);
			return -1;
		}
		close(fd);
	}
	close(dfd);
	return 0;
}

static unsigned long long
gen_number(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *s == '\0' || *end != '\0' || *s == '-')
		fatalx("bad number '%s'", s);
	return v;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: gen [-t] SEED SIZE\n"
	    "       gen -m COUNT SEED DIR\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int text = 0, many = 0, ch;

	log_init("gen", 0);
	while ((ch = getopt(argc, argv, "tm")) != -1) {
		switch (ch) {
		case 't':
			text = 1;
			break;
		case 'm':
			many = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (many) {
		if (argc != 3)
			usage();
		return gen_many(gen_number(argv[0]), argv[1], argv[2]) ? 1 : 0;
	}
	if (argc != 2)
		usage();
	return gen_stream(STDOUT_FILENO, argv[0], gen_number(argv[1]), text) ?
	    1 : 0;
}
