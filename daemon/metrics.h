/*
 * Prometheus metrics (text format 0.0.4) at GET /metrics on the
 * `metrics listen` address, served by libevent's evhttp on the parent's
 * event base from what daemon/stats.c knows.  docs/metrics.md lists each
 * metric.
 */
#ifndef BTRSEND_DAEMON_METRICS_H
#define BTRSEND_DAEMON_METRICS_H

#include <stddef.h>
#include <stdio.h>

struct conf;
struct event_base;

#define METRICS_PATH		"/metrics"
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_TIMEOUT		10	/* seconds per request */
#define METRICS_CONNS		16	/* at once; more are closed at once */
#define METRICS_HEADERS_MAX	8192	/* request header bytes */

/*
 * Listen when (*confp)->metrics_set; the conf is read at each request,
 * so a reload's jobs show at once.  -1 with a message in err.
 */
int	 metrics_start(struct event_base *, struct conf *const *confp,
	    char *err, size_t errlen);
void	 metrics_stop(void);
/* Restart if the listen address changed (after a reload). */
void	 metrics_reload(const struct conf *old);

/* The page: malloc'd, *len set.  conf may be NULL (stats only). */
char	*metrics_render(const struct conf *, size_t *len);
/* A label value, escaped as the text format wants (\\ \" \n). */
void	 metrics_label(FILE *, const char *);

#endif
