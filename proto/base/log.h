/*
 * Logging in the OpenBSD manner: log_warn appends strerror(errno),
 * log_warnx does not; fatal/fatalx are for broken invariants and out of
 * memory only.  Messages go to stderr with the program name as prefix,
 * or, under journald (log_use_journal), straight to the journal with
 * structured fields.  A message is always one line: bytes below 0x20
 * and DEL in it (a peer's name or text may hold any) are written as
 * \xHH, on stderr and in the journal's MESSAGE= alike.
 */
#ifndef BTRSEND_PROTO_BASE_LOG_H
#define BTRSEND_PROTO_BASE_LOG_H

#include <stdarg.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_init(const char *progname, int verbose);
/*
 * Send messages to the journal, with structured fields, when stderr is
 * connected to journald (JOURNAL_STREAM names stderr's device:inode), and
 * unless force_stderr.  Otherwise, and by default, plain stderr.
 */
void log_use_journal(int force_stderr);
int  log_journal_active(void);
/*
 * Fields JOB, TARGET, SNAPSHOT, TRANSFER attached to the following
 * messages in the journal; on stderr they are not shown (messages name
 * their job themselves).  NULL clears a field.  The strings are copied.
 */
void log_fields(const char *job, const char *target, const char *snapshot,
    const char *transfer);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

/* Allocation that cannot fail: fatalx on out of memory. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
