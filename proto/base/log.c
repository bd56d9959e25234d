#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>

/* CODE_FILE= would always name this file: leave it out. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "proto/base/log.h"

#define LOG_FIELD_MAX 256

enum { LF_JOB, LF_TARGET, LF_SNAPSHOT, LF_TRANSFER, LF_N };

static const char *log_prog = "btrsend";
static int log_verbose;
static int log_journal;
static char log_field[LF_N][LOG_FIELD_MAX];
static const char *log_field_names[LF_N] = {
	"JOB=", "TARGET=", "SNAPSHOT=", "TRANSFER=",
};

void
log_init(const char *progname, int verbose)
{
	log_prog = progname;
	log_verbose = verbose;
}

/* JOURNAL_STREAM is "DEVICE:INODE" of the stream journald gave us. */
void
log_use_journal(int force_stderr)
{
	unsigned long long dev, ino;
	const char *js = getenv("JOURNAL_STREAM");
	struct stat sb;

	log_journal = 0;
	if (force_stderr || js == NULL ||
	    sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(fileno(stderr), &sb) == -1)
		return;
	log_journal = (unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino;
}

int
log_journal_active(void)
{
	return log_journal;
}

static void
log_field_set(int i, const char *v)
{
	snprintf(log_field[i], sizeof(log_field[i]), "%s", v ? v : "");
}

void
log_fields(const char *job, const char *target, const char *snapshot,
    const char *transfer)
{
	log_field_set(LF_JOB, job);
	log_field_set(LF_TARGET, target);
	log_field_set(LF_SNAPSHOT, snapshot);
	log_field_set(LF_TRANSFER, transfer);
}

static void
log_to_journal(int prio, const char *msg)
{
	char mbuf[1200], pbuf[32], ibuf[64], fbuf[LF_N][1100];
	struct iovec iov[3 + LF_N];
	int i, n = 0;

	snprintf(mbuf, sizeof(mbuf), "MESSAGE=%s", msg);
	snprintf(pbuf, sizeof(pbuf), "PRIORITY=%d", prio);
	snprintf(ibuf, sizeof(ibuf), "SYSLOG_IDENTIFIER=%s", log_prog);
	iov[n++] = (struct iovec){ mbuf, strlen(mbuf) };
	iov[n++] = (struct iovec){ pbuf, strlen(pbuf) };
	iov[n++] = (struct iovec){ ibuf, strlen(ibuf) };
	for (i = 0; i < LF_N; i++) {
		if (log_field[i][0] == '\0')
			continue;
		snprintf(fbuf[i], sizeof(fbuf[i]), "%s%s", log_field_names[i],
		    log_field[i]);
		iov[n++] = (struct iovec){ fbuf[i], strlen(fbuf[i]) };
	}
	if (sd_journal_sendv(iov, n) < 0)
		fprintf(stderr, "%s: %s\n", log_prog, msg);
}

/*
 * A message is one line whatever it quotes: a name or text a peer sent
 * may hold a newline (a forged line) or ESC (terminal control).  Every
 * byte below 0x20 and DEL is written as \xHH; what does not fit whole
 * is cut.
 */
static void
log_escape(char *dst, size_t len, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t n = 0;

	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		if (*p >= 0x20 && *p != 0x7f) {
			if (n + 1 >= len)
				break;
			dst[n++] = (char)*p;
			continue;
		}
		if (n + 4 >= len)
			break;
		dst[n++] = '\\';
		dst[n++] = 'x';
		dst[n++] = hex[*p >> 4];
		dst[n++] = hex[*p & 0xf];
	}
	dst[n] = '\0';
}

static void
log_vmsg(int prio, const char *fmt, va_list ap, int err)
{
	char msg[1024], raw[1100], line[1100];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err)
		snprintf(raw, sizeof(raw), "%s: %s", msg, strerror(err));
	else
		snprintf(raw, sizeof(raw), "%s", msg);
	log_escape(line, sizeof(line), raw);
	if (log_journal)
		log_to_journal(prio, line);
	else
		fprintf(stderr, "%s: %s\n", log_prog, line);
}

void
log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap, err);
	va_end(ap);
	errno = err;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, fmt, ap, err);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatalx("out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatalx("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		fatalx("out of memory (%zu bytes)", n);
	return q;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatalx("out of memory");
	return p;
}
