/*
 * Prometheus metrics over evhttp (see metrics.h, docs/metrics.md).
 *
 * The page is rendered in the event loop from memory (daemon/stats.c)
 * plus one readdir per job for its source snapshots: no request waits on
 * a worker or on the network.  evhttp bounds each request (headers size,
 * no body, timeout).  libevent 2.1's evhttp has no connection limit and
 * takes connections only from an evconnlistener of its own (its
 * evhttp_get_request is private), whose failed accept it logs and retries
 * at once, forever; so the listener here is ours:
 *  - at most METRICS_CONNS connections at once.  evhttp asks us for each
 *    connection's bufferevent (evhttp_set_bevcb): that counts it, and its
 *    close callback, set once evhttp has made the connection (metrics_adopt,
 *    run before the loop polls again), uncounts it.  At the limit the
 *    evhttp listener rests and a second one on the same socket closes each
 *    new connection at once: the parent's descriptors stay free for the
 *    control socket, the receive listener and the workers;
 *  - a failed accept (out of descriptors or memory) rests both for
 *    ACCEPTOR_BACKOFF seconds, logged once, as daemon/acceptor.c does.
 */
#include <sys/socket.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "conf/conf.h"
#include "proto/base/log.h"
#include "daemon/acceptor.h"
#include "daemon/metrics.h"
#include "daemon/recvstat.h"
#include "daemon/stats.h"
#include "engine/snapshot.h"

#ifndef BTRSEND_VERSION
#define BTRSEND_VERSION "0.1.0"
#endif

static struct {
	struct event_base	*base;
	struct evhttp		*http;
	struct conf *const	*confp;
	char			*host;
	uint16_t		 port;
	struct evconnlistener	*lev;		/* evhttp's */
	struct evconnlistener	*refuse;	/* while full: close at once */
	struct event		*ev_resume;	/* end of an accept back-off */
	struct event		*ev_adopt;	/* metrics_adopt */
	bool			 resting;	/* in an accept back-off */
	bool			 full;
	unsigned		 nconns;	/* open, counted by metrics_bev */
	unsigned long		 nrefused;	/* while full */
	/* made by metrics_bev, not yet seen by metrics_adopt */
	struct bufferevent	*fresh[METRICS_CONNS];
	unsigned		 nfresh;
} M;

/* A (job, target) series: configured, or known from the history. */
struct metrics_pair {
	const char		*job;
	const char		*target;
	const struct stats_jt	*jt;		/* NULL: nothing counted yet */
};

void
metrics_label(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\\':
			fputs("\\\\", f);
			break;
		case '"':
			fputs("\\\"", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static void
metrics_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{job="..",target=".."[,extra]} */
static void
metrics_series(FILE *f, const char *name, const char *job,
    const char *target, const char *extra)
{
	fprintf(f, "%s{job=\"", name);
	metrics_label(f, job);
	if (target != NULL) {
		fputs("\",target=\"", f);
		metrics_label(f, target);
	}
	fprintf(f, "\"%s%s} ", extra ? "," : "", extra ? extra : "");
}

static const struct stats_jt *
metrics_jt(const char *job, const char *target)
{
	const struct stats_jt *jt;
	size_t n, i;

	jt = stats_jt_list(&n);
	for (i = 0; i < n; i++)
		if (strcmp(jt[i].job, job) == 0 &&
		    strcmp(jt[i].target, target) == 0)
			return &jt[i];
	return NULL;
}

static void
metrics_pair_add(struct metrics_pair **v, size_t *n, const char *job,
    const char *target)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].job, job) == 0 &&
		    strcmp((*v)[i].target, target) == 0)
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].job = job;
	(*v)[*n].target = target;
	(*v)[*n].jt = metrics_jt(job, target);
	(*n)++;
}

/* Every configured (job, target), then any other the stats know. */
static struct metrics_pair *
metrics_pairs(const struct conf *conf, size_t *n)
{
	struct metrics_pair *v = NULL;
	const struct stats_jt *jt;
	size_t i, k, njt;

	*n = 0;
	for (i = 0; conf != NULL && i < conf->njobs; i++)
		for (k = 0; k < conf->jobs[i].nsend_to; k++)
			metrics_pair_add(&v, n, conf->jobs[i].name,
			    conf->jobs[i].send_to[k]);
	jt = stats_jt_list(&njt);
	for (i = 0; i < njt; i++)
		if (jt[i].target[0] != '\0')
			metrics_pair_add(&v, n, jt[i].job, jt[i].target);
	return v;
}

static void
metrics_counters(FILE *f, const struct metrics_pair *v, size_t n)
{
	static const char *res[] = { "ok", "retry", "failed" };
	char extra[32];
	uint64_t c[3];
	size_t i, r;

	metrics_family(f, "btrsend_transferred_bytes_total", "counter",
	    "Send-stream bytes sent to a target, all attempts, counted when "
	    "the transfer to that target ends.");
	for (i = 0; i < n; i++) {
		metrics_series(f, "btrsend_transferred_bytes_total", v[i].job,
		    v[i].target, NULL);
		fprintf(f, "%" PRIu64 "\n", v[i].jt ? v[i].jt->bytes : 0);
	}
	metrics_family(f, "btrsend_transfers_total", "counter",
	    "Transfers to a target by result (ok, retry, failed).");
	for (i = 0; i < n; i++) {
		c[0] = v[i].jt ? v[i].jt->ok : 0;
		c[1] = v[i].jt ? v[i].jt->retry : 0;
		c[2] = v[i].jt ? v[i].jt->failed : 0;
		for (r = 0; r < 3; r++) {
			snprintf(extra, sizeof(extra), "result=\"%s\"", res[r]);
			metrics_series(f, "btrsend_transfers_total", v[i].job,
			    v[i].target, extra);
			fprintf(f, "%" PRIu64 "\n", c[r]);
		}
	}
	metrics_family(f, "btrsend_resumes_total", "counter",
	    "Transfer attempts that resumed a partial on the target.");
	for (i = 0; i < n; i++) {
		metrics_series(f, "btrsend_resumes_total", v[i].job,
		    v[i].target, NULL);
		fprintf(f, "%" PRIu64 "\n", v[i].jt ? v[i].jt->resumes : 0);
	}
	metrics_family(f, "btrsend_prune_refused_total", "counter",
	    "Snapshots keep-target would delete that the target's own rules "
	    "kept (protect, keep-min, append-only).");
	for (i = 0; i < n; i++) {
		metrics_series(f, "btrsend_prune_refused_total", v[i].job,
		    v[i].target, NULL);
		fprintf(f, "%" PRIu64 "\n",
		    v[i].jt ? v[i].jt->prune_refused : 0);
	}
	metrics_family(f, "btrsend_last_success_timestamp_seconds", "gauge",
	    "When the last successful transfer to a target ended (unix time; "
	    "0: none in the history).");
	for (i = 0; i < n; i++) {
		metrics_series(f, "btrsend_last_success_timestamp_seconds",
		    v[i].job, v[i].target, NULL);
		fprintf(f, "%" PRId64 "\n", v[i].jt ? v[i].jt->last_success :
		    0);
	}
}

/* Snapshots of job in its snapshot directory; -1 if unreadable. */
static long
metrics_source_count(const struct conf_job *j)
{
	struct dirent *de;
	int64_t t;
	unsigned seq;
	long n = 0;
	DIR *d;

	if ((d = opendir(j->snapshot_dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (snap_name_parse(de->d_name, j->name, &t, &seq) == 0)
			n++;
	closedir(d);
	return n;
}

static void
metrics_snapshots(FILE *f, const struct conf *conf,
    const struct metrics_pair *v, size_t n)
{
	char *const *names;
	int64_t when;
	size_t i, held;
	long c;

	metrics_family(f, "btrsend_snapshots", "gauge",
	    "Snapshots of a job: side=\"source\" in its snapshot directory "
	    "now, side=\"target\" as the target last reported.");
	for (i = 0; conf != NULL && i < conf->njobs; i++) {
		if ((c = metrics_source_count(&conf->jobs[i])) < 0)
			continue;
		metrics_series(f, "btrsend_snapshots", conf->jobs[i].name, NULL,
		    "side=\"source\"");
		fprintf(f, "%ld\n", c);
	}
	for (i = 0; i < n; i++) {
		names = stats_held(v[i].job, v[i].target, &held, &when);
		if (names == NULL)
			continue;
		metrics_series(f, "btrsend_snapshots", v[i].job, v[i].target,
		    "side=\"target\"");
		fprintf(f, "%zu\n", held);
	}
}

static void
metrics_live(FILE *f)
{
	static const char *src[] = { "unknown", "estimate", "previous" };
	const struct stats_live *l;
	size_t n, i, sending = 0;
	char extra[32];

	l = stats_live_list(&n);
	for (i = 0; i < n; i++)
		sending += l[i].target[0] != '\0';
	metrics_family(f, "btrsend_runs_in_progress", "gauge",
	    "Job runs (workers) running now.");
	fprintf(f, "btrsend_runs_in_progress %zu\n", n);
	metrics_family(f, "btrsend_transfers_in_progress", "gauge",
	    "Job runs sending to a target now.");
	fprintf(f, "btrsend_transfers_in_progress %zu\n", sending);
	metrics_family(f, "btrsend_transfer_done_bytes", "gauge",
	    "Stream bytes of a running transfer the target has, from the "
	    "start of the stream.");
	for (i = 0; i < n; i++) {
		if (l[i].target[0] == '\0')
			continue;
		metrics_series(f, "btrsend_transfer_done_bytes", l[i].job,
		    l[i].target, NULL);
		fprintf(f, "%" PRIu64 "\n", l[i].done);
	}
	metrics_family(f, "btrsend_transfer_total_bytes", "gauge",
	    "Expected stream size of a running transfer (0: unknown), and "
	    "where that figure comes from.");
	for (i = 0; i < n; i++) {
		if (l[i].target[0] == '\0')
			continue;
		snprintf(extra, sizeof(extra), "source=\"%s\"",
		    (size_t)l[i].total_src < 3 ? src[l[i].total_src] :
		    "unknown");
		metrics_series(f, "btrsend_transfer_total_bytes", l[i].job,
		    l[i].target, extra);
		fprintf(f, "%" PRIu64 "\n", l[i].total);
	}
}

/* name{client="..",job=".."} */
static void
metrics_recv_series(FILE *f, const char *name, const struct recvstat *r)
{
	fprintf(f, "%s{client=\"", name);
	metrics_label(f, r->client);
	fputs("\",job=\"", f);
	metrics_label(f, r->job);
	fputs("\"} ", f);
}

/* A receiver's clients, as the last scan of their areas found them. */
static void
metrics_received(FILE *f)
{
	const struct recvstat *r;
	size_t i, n;

	r = recvstat_list(&n);
	if (n == 0)
		return;
	metrics_family(f, "btrsend_receive_last_seconds", "gauge",
	    "When the newest complete snapshot of a client job was received "
	    "(unix time, this host's clock; 0: none).");
	for (i = 0; i < n; i++) {
		metrics_recv_series(f, "btrsend_receive_last_seconds", &r[i]);
		fprintf(f, "%" PRId64 "\n", r[i].last_time);
	}
	metrics_family(f, "btrsend_receive_snapshots", "gauge",
	    "Complete received snapshots of a client job on this host.");
	for (i = 0; i < n; i++) {
		metrics_recv_series(f, "btrsend_receive_snapshots", &r[i]);
		fprintf(f, "%" PRIu32 "\n", r[i].snapshots);
	}
	metrics_family(f, "btrsend_receive_partials", "gauge",
	    "Partial (interrupted or running) receives of a client job.");
	for (i = 0; i < n; i++) {
		metrics_recv_series(f, "btrsend_receive_partials", &r[i]);
		fprintf(f, "%" PRIu32 "\n", r[i].partials);
	}
	metrics_family(f, "btrsend_receive_partial_oldest_seconds", "gauge",
	    "When the oldest partial of a client job was started (unix "
	    "time; 0: none).");
	for (i = 0; i < n; i++) {
		metrics_recv_series(f,
		    "btrsend_receive_partial_oldest_seconds", &r[i]);
		fprintf(f, "%" PRId64 "\n", r[i].partial_oldest);
	}
	metrics_family(f, "btrsend_receive_stale", "gauge",
	    "1 while a client job has delivered nothing for its stale-after.");
	for (i = 0; i < n; i++) {
		metrics_recv_series(f, "btrsend_receive_stale", &r[i]);
		fprintf(f, "%d\n", r[i].stale != 0);
	}
	metrics_family(f, "btrsend_receive_stale_episodes_total", "counter",
	    "Stale episodes of a client job since the daemon started.");
	for (i = 0; i < n; i++) {
		metrics_recv_series(f, "btrsend_receive_stale_episodes_total",
		    &r[i]);
		fprintf(f, "%" PRIu64 "\n", r[i].episodes);
	}
}

char *
metrics_render(const struct conf *conf, size_t *len)
{
	struct metrics_pair *v;
	size_t n;
	char *buf = NULL;
	FILE *f;

	if ((f = open_memstream(&buf, len)) == NULL)
		fatal("open_memstream");
	metrics_family(f, "btrsend_build_info", "gauge",
	    "Always 1; the version label says which btrsend is running.");
	fputs("btrsend_build_info{version=\"", f);
	metrics_label(f, BTRSEND_VERSION);
	fputs("\"} 1\n", f);
	v = metrics_pairs(conf, &n);
	metrics_counters(f, v, n);
	metrics_snapshots(f, conf, v, n);
	metrics_live(f);
	metrics_received(f);
	free(v);
	if (fclose(f) != 0)
		fatal("open_memstream");
	return buf;
}

static void
metrics_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	struct evbuffer *out;
	char *body;
	size_t len;

	(void)arg;
	if (path == NULL || strcmp(path, METRICS_PATH) != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	body = metrics_render(*M.confp, &len);
	if ((out = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	evbuffer_add(out, body, len);
	free(body);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", METRICS_CONTENT_TYPE);
	evhttp_send_reply(req, HTTP_OK, "OK", out);
	evbuffer_free(out);
}

/* Which listener accepts: evhttp's below the limit, else the refuser. */
static void
metrics_gate(void)
{
	bool full = M.nconns >= METRICS_CONNS;

	if (M.lev == NULL)
		return;
	if (full != M.full) {
		if (full)
			log_warnx("metrics: %u connections open, the most "
			    "served at once; closing new ones until one ends",
			    M.nconns);
		else
			log_info("metrics: below %d connections again; %lu "
			    "closed meanwhile", METRICS_CONNS, M.nrefused);
		M.full = full;
		M.nrefused = 0;
	}
	if (M.resting || full)
		evconnlistener_disable(M.lev);
	else
		evconnlistener_enable(M.lev);
	if (M.resting || !full)
		evconnlistener_disable(M.refuse);
	else
		evconnlistener_enable(M.refuse);
}

static void
metrics_refused(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	close(fd);
	M.nrefused++;
}

static void
metrics_resume(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	M.resting = false;
	metrics_gate();
}

/* An accept failed (not EAGAIN and the like): rest, logged once. */
static void
metrics_accept_error(struct evconnlistener *l, void *arg)
{
	struct timeval tv = { ACCEPTOR_BACKOFF, 0 };

	(void)l;
	(void)arg;
	log_warnx("metrics: accept: %s; pausing for %ds",
	    strerror(EVUTIL_SOCKET_ERROR()), ACCEPTOR_BACKOFF);
	M.resting = true;
	metrics_gate();
	evtimer_add(M.ev_resume, &tv);
}

static void
metrics_closed(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	(void)arg;
	if (M.nconns > 0)
		M.nconns--;
	metrics_gate();
}

/*
 * The connections evhttp made since the last call: evhttp passes each
 * connection as the argument of its bufferevent's callbacks; its close
 * callback then uncounts it.  A bufferevent evhttp did not take (it
 * failed to make the connection, out of memory) is freed here.
 */
static void
metrics_adopt(evutil_socket_t fd, short ev, void *arg)
{
	bufferevent_data_cb readcb;
	void *evcon;
	unsigned i;

	(void)fd;
	(void)ev;
	(void)arg;
	for (i = 0; i < M.nfresh; i++) {
		bufferevent_getcb(M.fresh[i], &readcb, NULL, NULL, &evcon);
		if (readcb != NULL && evcon != NULL)
			evhttp_connection_set_closecb(evcon, metrics_closed,
			    NULL);
		else {
			bufferevent_free(M.fresh[i]);
			metrics_closed(NULL, NULL);
		}
	}
	M.nfresh = 0;
}

/* evhttp's new connection: counted; adopted before the loop polls. */
static struct bufferevent *
metrics_bev(struct event_base *base, void *arg)
{
	struct bufferevent *bev;

	(void)arg;
	if (M.nfresh == METRICS_CONNS)  /* the gate keeps it below */
		metrics_adopt(-1, 0, NULL);
	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		fatalx("bufferevent_socket_new");
	M.fresh[M.nfresh++] = bev;
	event_active(M.ev_adopt, EV_TIMEOUT, 0);
	M.nconns++;
	metrics_gate();
	return bev;
}

static int
metrics_listen(const struct conf *conf, char *err, size_t errlen)
{
	const unsigned fl = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
	    LEV_OPT_DISABLED;
	int fd, fd2;

	M.host = xstrdup(conf->metrics_listen.host);
	M.port = (uint16_t)conf->metrics_listen.port;
	if ((fd = acceptor_listen_tcp("metrics", M.host, M.port,
	    METRICS_CONNS, err, errlen)) == -1) {
		metrics_stop();
		return -1;
	}
	if ((fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "metrics listen: dup: %s",
		    strerror(errno));
		close(fd);
		metrics_stop();
		return -1;
	}
	if ((M.http = evhttp_new(M.base)) == NULL ||
	    (M.lev = evconnlistener_new(M.base, NULL, NULL, fl, -1,
	    fd)) == NULL ||
	    (M.refuse = evconnlistener_new(M.base, metrics_refused, NULL, fl,
	    -1, fd2)) == NULL ||
	    evhttp_bind_listener(M.http, M.lev) == NULL)
		fatalx("metrics: evhttp");
	evhttp_set_allowed_methods(M.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(M.http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(M.http, 0);
	evhttp_set_timeout(M.http, METRICS_TIMEOUT);
	evhttp_set_gencb(M.http, metrics_request, NULL);
	evhttp_set_bevcb(M.http, metrics_bev, NULL);
	evconnlistener_set_error_cb(M.lev, metrics_accept_error);
	evconnlistener_set_error_cb(M.refuse, metrics_accept_error);
	M.resting = M.full = false;
	metrics_gate();
	log_info("metrics at http://%s%s%s:%u%s", strchr(M.host, ':') ?
	    "[" : "", M.host, strchr(M.host, ':') ? "]" : "", M.port,
	    METRICS_PATH);
	return 0;
}

int
metrics_start(struct event_base *base, struct conf *const *confp, char *err,
    size_t errlen)
{
	M.base = base;
	M.confp = confp;
	if ((M.ev_resume = evtimer_new(base, metrics_resume, NULL)) == NULL ||
	    (M.ev_adopt = event_new(base, -1, 0, metrics_adopt, NULL)) == NULL)
		fatalx("metrics: event_new");
	if (!(*confp)->metrics_set)
		return 0;
	return metrics_listen(*confp, err, errlen);
}

void
metrics_stop(void)
{
	/* evhttp_free closes the connections: each uncounted */
	metrics_adopt(-1, 0, NULL);
	if (M.ev_resume != NULL)
		evtimer_del(M.ev_resume);
	if (M.refuse != NULL)
		evconnlistener_free(M.refuse);
	M.refuse = NULL;
	M.lev = NULL;                   /* evhttp_free frees it */
	if (M.http != NULL)
		evhttp_free(M.http);
	M.http = NULL;
	M.resting = M.full = false;
	free(M.host);
	M.host = NULL;
}

void
metrics_reload(const struct conf *old)
{
	const struct conf *c = *M.confp;
	char err[256];

	if (M.base == NULL)
		return;
	if (old->metrics_set == c->metrics_set && (!c->metrics_set ||
	    (strcmp(old->metrics_listen.host, c->metrics_listen.host) == 0 &&
	    old->metrics_listen.port == c->metrics_listen.port)))
		return;
	metrics_stop();
	if (c->metrics_set && metrics_listen(c, err, sizeof(err)) == -1)
		log_warnx("reload: %s; metrics off", err);
}
