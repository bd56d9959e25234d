/*
 * Logging in the OpenBSD manner: log_warn appends strerror(errno),
 * log_warnx does not; fatal/fatalx are for broken invariants and out of
 * memory only.  Everything goes to stderr (the journal picks it up) with
 * the program name as prefix.
 */
#ifndef BTRSEND_DAEMON_LOG_H
#define BTRSEND_DAEMON_LOG_H

#include <stdarg.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_init(const char *progname, int verbose);
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
