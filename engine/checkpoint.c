/*
 * Resume checkpoint state file.  Layout (every line ends in '\n'):
 *
 *	btrsend-checkpoint 1
 *	name <escaped>
 *	uuid <uuid>
 *	ctransid <u64>
 *	parent none | parent <uuid> <u64 ctransid>
 *	version <u32>
 *	flags <u64>
 *	clones <n> [<uuid> ...n]
 *	ncmds <u64>
 *	offset <u64>
 *	digest <64 hex>
 *	data_bytes <u64>
 *	flags_bytes <u64>	(optional: written only when not 0)
 *	staging <escaped>
 *	crc32c <8 lowercase hex, CRC32C (seed 0) of every byte before this line>
 *
 * Keys after the version line may come in any order but each exactly once
 * (an optional one at most once).
 * Escaped strings carry bytes 0x21..0x7e except '\' as they are and every
 * other byte as \xHH, so a value never contains a space or a newline.
 * Numbers are canonical decimal (no sign, no leading zero).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "engine/checkpoint.h"
#include "proto/base/file.h"
#include "proto/base/hex.h"
#include "proto/stream/stream.h"

#define CKPT_MAGIC	"btrsend-checkpoint"
#define CKPT_VERSION	1
#define CKPT_LINE_MAX	4096
#define CKPT_FILE_MAX	16384
#define CKPT_TMP_SUFFIX	".tmp"

struct ckpt_buf {
	char	b[CKPT_FILE_MAX];
	size_t	len;
	int	overflow;
};

struct ckpt_parse {
	struct checkpoint *c;
	char	*err;
	size_t	 errlen;
	int	 lineno;
};

enum ckpt_key {
	K_NAME, K_UUID, K_CTRANSID, K_PARENT, K_VERSION, K_FLAGS, K_CLONES,
	K_NCMDS, K_OFFSET, K_DIGEST, K_DATA_BYTES, K_STAGING, K_FLAGS_BYTES,
	K_COUNT
};

/* Keys a file may lack (0 then). */
#define CKPT_OPTIONAL	(1u << K_FLAGS_BYTES)

static const char *const ckpt_keys[K_COUNT] = {
	"name", "uuid", "ctransid", "parent", "version", "flags", "clones",
	"ncmds", "offset", "digest", "data_bytes", "staging", "flags_bytes",
};

static uint32_t
ckpt_crc(const char *p, size_t len)
{
	/* Same CRC32C flavour as the send stream: seed 0, no inversion. */
	return stream_crc32c(0, p, len);
}

static void
ckpt_errf(struct ckpt_parse *p, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (p->errlen == 0)
		return;
	if (p->lineno > 0)
		n = snprintf(p->err, p->errlen, "line %d: ", p->lineno);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
}

static void
ckpt_put(struct ckpt_buf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->b + o->len, sizeof(o->b) - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(o->b) - o->len)
		o->overflow = 1;
	else
		o->len += n;
}

static void
ckpt_put_escaped(struct ckpt_buf *o, const char *key, const char *s)
{
	const unsigned char *u;

	ckpt_put(o, "%s ", key);
	for (u = (const unsigned char *)s; *u != '\0'; u++) {
		if (*u > 0x20 && *u < 0x7f && *u != '\\')
			ckpt_put(o, "%c", *u);
		else
			ckpt_put(o, "\\x%02x", *u);
	}
	ckpt_put(o, "\n");
}

static void
ckpt_put_uuid(struct ckpt_buf *o, const uint8_t uuid[16])
{
	char s[37];

	uuid_unparse_lower(uuid, s);
	ckpt_put(o, " %s", s);
}

static int
ckpt_format(const struct checkpoint *c, struct ckpt_buf *o)
{
	const struct ckpt_identity *id = &c->id;
	char hex[STREAM_DIGEST_HEXLEN];
	uint32_t i;

	if (id->nclones > CKPT_MAX_CLONES ||
	    memchr(id->name, '\0', sizeof(id->name)) == NULL ||
	    memchr(c->staging, '\0', sizeof(c->staging)) == NULL)
		return -1;
	o->len = 0;
	o->overflow = 0;
	ckpt_put(o, "%s %d\n", CKPT_MAGIC, CKPT_VERSION);
	ckpt_put_escaped(o, "name", id->name);
	ckpt_put(o, "uuid");
	ckpt_put_uuid(o, id->uuid);
	ckpt_put(o, "\nctransid %" PRIu64 "\n", id->ctransid);
	if (id->has_parent) {
		ckpt_put(o, "parent");
		ckpt_put_uuid(o, id->parent_uuid);
		ckpt_put(o, " %" PRIu64 "\n", id->parent_ctransid);
	} else
		ckpt_put(o, "parent none\n");
	ckpt_put(o, "version %" PRIu32 "\n", id->version);
	ckpt_put(o, "flags %" PRIu64 "\n", id->flags);
	ckpt_put(o, "clones %" PRIu32, id->nclones);
	for (i = 0; i < id->nclones; i++)
		ckpt_put_uuid(o, id->clone_uuids[i]);
	ckpt_put(o, "\nncmds %" PRIu64 "\n", c->ncmds);
	ckpt_put(o, "offset %" PRIu64 "\n", c->offset);
	stream_digest_hex(&c->digest, hex);
	ckpt_put(o, "digest %s\n", hex);
	ckpt_put(o, "data_bytes %" PRIu64 "\n", c->data_bytes);
	if (c->flags_bytes != 0)
		ckpt_put(o, "flags_bytes %" PRIu64 "\n", c->flags_bytes);
	ckpt_put_escaped(o, "staging", c->staging);
	if (o->overflow)
		return -1;
	ckpt_put(o, "crc32c %08" PRIx32 "\n", ckpt_crc(o->b, o->len));
	return o->overflow ? -1 : 0;
}

/*
 * The temp name is derived from the target so that the next write finds
 * and removes a stale one; a target too long to decorate gets a short
 * name from its CRC instead.
 */
static int
ckpt_tmpname(const char *name, char *tmp, size_t len)
{
	size_t nlen = strlen(name);
	int n;

	if (nlen == 0 || nlen > NAME_MAX) {
		errno = nlen ? ENAMETOOLONG : EINVAL;
		return -1;
	}
	if (nlen + 1 + sizeof(CKPT_TMP_SUFFIX) - 1 <= NAME_MAX)
		n = snprintf(tmp, len, ".%s%s", name, CKPT_TMP_SUFFIX);
	else
		n = snprintf(tmp, len, ".ckpt-%08" PRIx32 "%s",
		    ckpt_crc(name, nlen), CKPT_TMP_SUFFIX);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
checkpoint_write(int dirfd, const char *name, const struct checkpoint *c)
{
	struct ckpt_buf *o;
	char tmp[NAME_MAX + 2];
	int rv = -1, saved;

	if ((o = malloc(sizeof(*o))) == NULL)
		return -1;
	if (ckpt_format(c, o) == -1)
		errno = EINVAL;
	else if (ckpt_tmpname(name, tmp, sizeof(tmp)) == 0)
		rv = file_replace_at(dirfd, name, tmp, 0600, o->b, o->len);
	saved = errno;
	free(o);
	errno = saved;
	return rv;
}

int
checkpoint_remove(int dirfd, const char *name)
{
	char tmp[NAME_MAX + 2];

	if (ckpt_tmpname(name, tmp, sizeof(tmp)) == -1)
		return -1;
	if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
		return -1;
	if (unlinkat(dirfd, tmp, 0) == -1 && errno != ENOENT)
		return -1;
	return fsync(dirfd);
}

static int
ckpt_parse_u64(struct ckpt_parse *p, const char *key, const char *s,
    uint64_t max, uint64_t *v)
{
	uint64_t n = 0;
	const char *q;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		goto bad;
	for (q = s; *q != '\0'; q++) {
		if (*q < '0' || *q > '9')
			goto bad;
		if (n > (max - (*q - '0')) / 10) {
			ckpt_errf(p, "%s: \"%.32s\" is out of range (max %" PRIu64
			    ")", key, s, max);
			return -1;
		}
		n = n * 10 + (*q - '0');
	}
	*v = n;
	return 0;
bad:
	ckpt_errf(p, "%s: \"%.32s\" is not a canonical decimal number", key, s);
	return -1;
}

static int
ckpt_parse_escaped(struct ckpt_parse *p, const char *key, const char *s,
    char *out, size_t outlen)
{
	size_t n = 0;
	uint8_t ch;

	for (; *s != '\0'; s++) {
		if (n + 1 >= outlen) {
			ckpt_errf(p, "%s: longer than %zu bytes", key, outlen - 1);
			return -1;
		}
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) {
			ckpt_errf(p, "%s: raw byte 0x%02x must be escaped", key,
			    (unsigned char)*s);
			return -1;
		}
		if (*s != '\\') {
			out[n++] = *s;
			continue;
		}
		if (s[1] != 'x' || hex_decode(&ch, 1, s + 2, HEX_LOWER) == -1 ||
		    ch == 0) {
			ckpt_errf(p, "%s: bad escape (expected \\xHH, lowercase, "
			    "not \\x00)", key);
			return -1;
		}
		if (ch > 0x20 && ch < 0x7f && ch != '\\') {
			ckpt_errf(p, "%s: needless escape of '%c'", key, ch);
			return -1;
		}
		out[n++] = (char)ch;
		s += 3;
	}
	out[n] = '\0';
	return 0;
}

/* One canonical lowercase uuid followed by ' ' or the end of the value. */
static int
ckpt_parse_uuid(struct ckpt_parse *p, const char *key, const char **s,
    uint8_t uuid[16])
{
	char buf[37], canon[37];

	if (strnlen(*s, 36) < 36 || ((*s)[36] != '\0' && (*s)[36] != ' '))
		goto bad;
	memcpy(buf, *s, 36);
	buf[36] = '\0';
	if (uuid_parse(buf, uuid) == -1)
		goto bad;
	uuid_unparse_lower(uuid, canon);
	if (strcmp(buf, canon) != 0)
		goto bad;
	*s += 36;
	return 0;
bad:
	ckpt_errf(p, "%s: expected a canonical lowercase uuid", key);
	return -1;
}

static int
ckpt_parse_parent(struct ckpt_parse *p, const char *v)
{
	struct ckpt_identity *id = &p->c->id;

	if (strcmp(v, "none") == 0) {
		id->has_parent = false;
		return 0;
	}
	if (ckpt_parse_uuid(p, "parent", &v, id->parent_uuid) == -1)
		return -1;
	if (*v++ != ' ') {
		ckpt_errf(p, "parent: expected \"none\" or \"UUID CTRANSID\"");
		return -1;
	}
	id->has_parent = true;
	return ckpt_parse_u64(p, "parent", v, UINT64_MAX, &id->parent_ctransid);
}

static int
ckpt_parse_clones(struct ckpt_parse *p, const char *v)
{
	struct ckpt_identity *id = &p->c->id;
	const char *sp;
	char num[8];
	uint64_t n;
	uint32_t i;
	size_t len;

	sp = strchr(v, ' ');
	len = sp ? (size_t)(sp - v) : strlen(v);
	if (len >= sizeof(num)) {
		ckpt_errf(p, "clones: bad count");
		return -1;
	}
	memcpy(num, v, len);
	num[len] = '\0';
	if (ckpt_parse_u64(p, "clones", num, CKPT_MAX_CLONES, &n) == -1)
		return -1;
	v += len;
	for (i = 0; i < n; i++) {
		if (*v++ != ' ') {
			ckpt_errf(p, "clones: %" PRIu64 " uuids announced, %" PRIu32
			    " present", n, i);
			return -1;
		}
		if (ckpt_parse_uuid(p, "clones", &v, id->clone_uuids[i]) == -1)
			return -1;
	}
	if (*v != '\0') {
		ckpt_errf(p, "clones: more uuids than the count %" PRIu64, n);
		return -1;
	}
	id->nclones = (uint32_t)n;
	return 0;
}

static int
ckpt_parse_value(struct ckpt_parse *p, enum ckpt_key k, const char *v)
{
	struct checkpoint *c = p->c;
	uint64_t n;

	switch (k) {
	case K_NAME:
		return ckpt_parse_escaped(p, "name", v, c->id.name,
		    sizeof(c->id.name));
	case K_STAGING:
		return ckpt_parse_escaped(p, "staging", v, c->staging,
		    sizeof(c->staging));
	case K_UUID:
		if (ckpt_parse_uuid(p, "uuid", &v, c->id.uuid) == -1)
			return -1;
		if (*v != '\0') {
			ckpt_errf(p, "uuid: trailing bytes");
			return -1;
		}
		return 0;
	case K_CTRANSID:
		return ckpt_parse_u64(p, "ctransid", v, UINT64_MAX,
		    &c->id.ctransid);
	case K_PARENT:
		return ckpt_parse_parent(p, v);
	case K_VERSION:
		if (ckpt_parse_u64(p, "version", v, UINT32_MAX, &n) == -1)
			return -1;
		c->id.version = (uint32_t)n;
		return 0;
	case K_FLAGS:
		return ckpt_parse_u64(p, "flags", v, UINT64_MAX, &c->id.flags);
	case K_CLONES:
		return ckpt_parse_clones(p, v);
	case K_NCMDS:
		return ckpt_parse_u64(p, "ncmds", v, UINT64_MAX, &c->ncmds);
	case K_OFFSET:
		return ckpt_parse_u64(p, "offset", v, UINT64_MAX, &c->offset);
	case K_DATA_BYTES:
		return ckpt_parse_u64(p, "data_bytes", v, UINT64_MAX,
		    &c->data_bytes);
	case K_FLAGS_BYTES:
		return ckpt_parse_u64(p, "flags_bytes", v, UINT64_MAX,
		    &c->flags_bytes);
	case K_DIGEST:
		if (strlen(v) != STREAM_DIGEST_HEXLEN - 1 ||
		    hex_decode(c->digest.d, sizeof(c->digest.d), v,
		    HEX_LOWER) == -1) {
			ckpt_errf(p, "digest: expected 64 lowercase hex digits");
			return -1;
		}
		return 0;
	default:
		return -1;
	}
}

static int
ckpt_parse_line(struct ckpt_parse *p, char *line, unsigned *seen)
{
	char *v;
	int k;

	if ((v = strchr(line, ' ')) == NULL) {
		ckpt_errf(p, "expected \"key value\"");
		return -1;
	}
	*v++ = '\0';
	for (k = 0; k < K_COUNT; k++)
		if (strcmp(line, ckpt_keys[k]) == 0)
			break;
	if (k == K_COUNT) {
		ckpt_errf(p, "unknown key \"%.32s\"", line);
		return -1;
	}
	if (*seen & (1u << k)) {
		ckpt_errf(p, "duplicate key \"%s\"", line);
		return -1;
	}
	*seen |= 1u << k;
	return ckpt_parse_value(p, k, v);
}

static int
ckpt_check_version(struct ckpt_parse *p, const char *line)
{
	char want[64];

	snprintf(want, sizeof(want), "%s %d", CKPT_MAGIC, CKPT_VERSION);
	if (strcmp(line, want) == 0)
		return 0;
	if (strncmp(line, CKPT_MAGIC " ", sizeof(CKPT_MAGIC)) == 0)
		ckpt_errf(p, "format version \"%.16s\" is not supported "
		    "(expected %d)", line + sizeof(CKPT_MAGIC), CKPT_VERSION);
	else
		ckpt_errf(p, "not a btrsend checkpoint (first line must be "
		    "\"%s\")", want);
	return -1;
}

/*
 * Checks the trailing "crc32c" line of b[0..len) and returns the length of
 * the body it covers, or -1.
 */
static ssize_t
ckpt_check_crc(struct ckpt_parse *p, char *b, size_t len)
{
	static const char pfx[] = "crc32c ";
	const size_t crclen = sizeof(pfx) - 1 + 8 + 1;
	uint8_t w[4];
	uint32_t want;
	size_t body;

	if (len < crclen || b[len - 1] != '\n' ||
	    (len > crclen && b[len - crclen - 1] != '\n') ||
	    memcmp(b + len - crclen, pfx, sizeof(pfx) - 1) != 0) {
		ckpt_errf(p, "no final \"crc32c XXXXXXXX\" line (truncated or "
		    "torn file)");
		return -1;
	}
	body = len - crclen;
	if (hex_decode(w, sizeof(w), b + body + sizeof(pfx) - 1,
	    HEX_LOWER) == -1) {
		ckpt_errf(p, "crc32c line: expected 8 lowercase hex digits");
		return -1;
	}
	want = (uint32_t)w[0] << 24 | (uint32_t)w[1] << 16 |
	    (uint32_t)w[2] << 8 | w[3];
	if (ckpt_crc(b, body) != want) {
		ckpt_errf(p, "crc32c mismatch (stored %08" PRIx32 ", computed %08"
		    PRIx32 "): file is corrupt", want, ckpt_crc(b, body));
		return -1;
	}
	return (ssize_t)body;
}

static int
ckpt_parse_body(struct ckpt_parse *p, char *b, size_t len)
{
	char *line = b, *nl, *end = b + len;
	unsigned seen = 0;
	int k;

	for (p->lineno = 1; line < end; line = nl + 1, p->lineno++) {
		nl = memchr(line, '\n', end - line);
		if (nl == NULL || nl - line > CKPT_LINE_MAX) {
			ckpt_errf(p, "line too long or not terminated");
			return -1;
		}
		if (memchr(line, '\0', nl - line) != NULL) {
			ckpt_errf(p, "NUL byte");
			return -1;
		}
		*nl = '\0';
		if (p->lineno == 1) {
			if (ckpt_check_version(p, line) == -1)
				return -1;
		} else if (ckpt_parse_line(p, line, &seen) == -1)
			return -1;
	}
	p->lineno = 0;
	if (seen == 0 && len == 0) {
		ckpt_errf(p, "empty file");
		return -1;
	}
	for (k = 0; k < K_COUNT; k++)
		if ((seen & (1u << k)) == 0 &&
		    (CKPT_OPTIONAL & (1u << k)) == 0) {
			ckpt_errf(p, "missing key \"%s\"", ckpt_keys[k]);
			return -1;
		}
	return 0;
}

/* Reads the whole file; refuses anything but a regular file of sane size. */
static int
ckpt_slurp(struct ckpt_parse *p, int fd, char *b, size_t cap, size_t *len)
{
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) == -1) {
		ckpt_errf(p, "fstat: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		ckpt_errf(p, "not a regular file");
		return -1;
	}
	*len = 0;
	for (;;) {
		n = read(fd, b + *len, cap - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			ckpt_errf(p, "read: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		*len += n;
		if (*len == cap) {
			ckpt_errf(p, "file larger than %zu bytes", cap - 1);
			return -1;
		}
	}
}

int
checkpoint_read(int dirfd, const char *name, struct checkpoint *c,
    char *err, size_t errlen)
{
	struct ckpt_parse p = { NULL, err, errlen, 0 };
	struct checkpoint tmp;
	char *b = NULL;
	size_t len;
	ssize_t body;
	int fd, rv = -1;

	if (errlen > 0)
		err[0] = '\0';
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return 1;
	if (fd == -1) {
		ckpt_errf(&p, "open: %s", strerror(errno));
		return -1;
	}
	memset(&tmp, 0, sizeof(tmp));
	p.c = &tmp;
	if ((b = malloc(CKPT_FILE_MAX + 1)) == NULL) {
		ckpt_errf(&p, "out of memory");
		goto out;
	}
	if (ckpt_slurp(&p, fd, b, CKPT_FILE_MAX + 1, &len) == -1)
		goto out;
	if ((body = ckpt_check_crc(&p, b, len)) == -1)
		goto out;
	if (ckpt_parse_body(&p, b, (size_t)body) == -1)
		goto out;
	*c = tmp;
	rv = 0;
out:
	free(b);
	close(fd);
	return rv;
}

bool
ckpt_identity_equal(const struct ckpt_identity *a, const struct ckpt_identity *b)
{
	if (strncmp(a->name, b->name, sizeof(a->name)) != 0 ||
	    memcmp(a->uuid, b->uuid, 16) != 0 || a->ctransid != b->ctransid ||
	    a->has_parent != b->has_parent || a->version != b->version ||
	    a->flags != b->flags || a->nclones != b->nclones)
		return false;
	/* Parent fields mean nothing for a full stream. */
	if (a->has_parent && (memcmp(a->parent_uuid, b->parent_uuid, 16) != 0 ||
	    a->parent_ctransid != b->parent_ctransid))
		return false;
	if (a->nclones > CKPT_MAX_CLONES)
		return false;
	return memcmp(a->clone_uuids, b->clone_uuids,
	    (size_t)a->nclones * 16) == 0;
}
