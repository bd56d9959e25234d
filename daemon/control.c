/*
 * The control socket (see control.h).  Each client is a peer (peer.h):
 * its requests are answered from the parent's tables at once into its
 * bounded output, so a slow or dead client costs memory up to
 * CONTROL_OUT_MAX and is then dropped, never a wait.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "daemon/acceptor.h"
#include "daemon/control.h"
#include "proto/base/log.h"
#include "daemon/parent.h"
#include "daemon/peer.h"
#include "daemon/recvstat.h"
#include "daemon/scheduler.h"
#include "daemon/stats.h"
#include "engine/snapshot.h"
#include "proto/msg/ctl.h"

struct cclient {
	TAILQ_ENTRY(cclient) entry;
	struct peer	*peer;
	uid_t		 uid;
	pid_t		 pid;
	int		 access;	/* enum ctl_access once allowed */
	int		 hello;
	int		 monitor;
	struct msgbuf	 out;		/* replies, until client_flush */
};

static struct {
	struct event_base *base;
	struct acceptor	*acc;
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t		 dev;
	ino_t		 ino;
	gid_t		 gid;
	int		 have_gid;
	TAILQ_HEAD(, cclient) clients;
	unsigned	 nclients;
} C;

static void	monitor_event(const struct stats_event *, void *);

static void
client_free(struct cclient *c)
{
	if (c->monitor)
		stats_unlisten(monitor_event, c);
	TAILQ_REMOVE(&C.clients, c, entry);
	C.nclients--;
	peer_free(c->peer);
	msgbuf_free(&c->out);
	free(c);
}

/* Queue what out holds; a client that does not read is dropped. */
static void
client_flush(struct cclient *c)
{
	size_t waiting = peer_pending(c->peer) + c->out.len;

	if (peer_send(c->peer, c->out.p, c->out.len) == -1)
		log_warnx("control: uid %u pid %ld does not read its replies "
		    "(%zu bytes waiting); closing it", (unsigned)c->uid,
		    (long)c->pid, waiting);
	c->out.len = 0;
}

/* Say why and close once that is written. */
static void
client_refuse(struct cclient *c, const char *why)
{
	ctl_put_text(&c->out, CTL_M_FAIL, why);
	client_flush(c);
	peer_close(c->peer);
}

static void
copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

static void
ctl_from_live(struct ctl_live *o, const struct stats_live *l)
{
	memset(o, 0, sizeof(*o));
	o->id = l->id;
	copy_str(o->job, sizeof(o->job), l->job);
	copy_str(o->phase, sizeof(o->phase), l->phase);
	copy_str(o->target, sizeof(o->target), l->target);
	copy_str(o->snapshot, sizeof(o->snapshot), l->snapshot);
	o->start = l->start;
	o->done = l->done;
	o->total = l->total;
	o->total_src = l->total_src;
	o->resumed_at = l->resumed_at;
	o->rate = l->rate;
	o->resumes = l->resumes;
}

static void
ctl_from_run(struct ctl_run *o, const struct stats_run *r)
{
	memset(o, 0, sizeof(*o));
	o->id = r->id;
	copy_str(o->job, sizeof(o->job), r->job);
	copy_str(o->target, sizeof(o->target), r->target);
	copy_str(o->snapshot, sizeof(o->snapshot), r->snapshot);
	copy_str(o->parent, sizeof(o->parent), r->parent);
	o->start = r->start;
	o->end = r->end;
	o->result = r->result;
	o->bytes = r->bytes;
	o->resumes = r->resumes;
	copy_str(o->error, sizeof(o->error), r->error);
}

static void
schedule_str(char *buf, size_t len, const struct conf_schedule *s)
{
	switch (s->kind) {
	case CONF_SCHED_MANUAL:
		snprintf(buf, len, "manual");
		break;
	case CONF_SCHED_EVERY:
		if (s->every % 86400 == 0)
			snprintf(buf, len, "every %llud",
			    (unsigned long long)(s->every / 86400));
		else if (s->every % 3600 == 0)
			snprintf(buf, len, "every %lluh",
			    (unsigned long long)(s->every / 3600));
		else if (s->every % 60 == 0)
			snprintf(buf, len, "every %llum",
			    (unsigned long long)(s->every / 60));
		else
			snprintf(buf, len, "every %llus",
			    (unsigned long long)s->every);
		break;
	case CONF_SCHED_AT:
		snprintf(buf, len, "at %02d:%02d", s->hour, s->minute);
		break;
	}
}

static void
put_job(struct cclient *c, const char *name)
{
	const struct state_entry *e;
	struct parent_job pj;
	struct ctl_job j;

	if (parent_job(name, &pj) == -1)
		return;
	memset(&j, 0, sizeof(j));
	copy_str(j.name, sizeof(j.name), name);
	schedule_str(j.schedule, sizeof(j.schedule), &pj.cj->schedule);
	j.paused = pj.paused != 0;
	j.running = pj.running != 0;
	j.queued = pj.queued != 0;
	j.next = pj.due == SCHED_NEVER ? 0 : pj.due;
	e = parent_state_entry(name, NULL);
	if (e != NULL) {
		j.start = e->start;
		j.end = e->end;
		j.result = e->result;
		copy_str(j.error, sizeof(j.error), e->error);
	}
	ctl_put_job(&c->out, &j);
}

static void
put_targets(struct cclient *c, const struct conf_job *cj)
{
	const struct state_entry *e;
	struct ctl_target t;
	size_t i, n;

	for (i = 0; i < cj->nsend_to; i++) {
		memset(&t, 0, sizeof(t));
		copy_str(t.job, sizeof(t.job), cj->name);
		copy_str(t.target, sizeof(t.target), cj->send_to[i]);
		e = parent_state_entry(cj->name, cj->send_to[i]);
		if (e != NULL) {
			t.start = e->start;
			t.end = e->end;
			t.result = e->result;
			copy_str(t.error, sizeof(t.error), e->error);
		}
		t.last_success = stats_last_success(cj->name, cj->send_to[i]);
		if (stats_held(cj->name, cj->send_to[i], &n, &t.held_when) !=
		    NULL)
			t.nheld = (uint32_t)n;
		ctl_put_target(&c->out, &t);
	}
}

/* On a receiver, each client job as its area shows it. */
static void
put_received(struct cclient *c)
{
	const struct recvstat *v;
	struct ctl_recv o;
	size_t i, n;

	if (!parent_conf()->receive.set)
		return;
	/* On demand, but a burst of status calls reads the disk once. */
	recvstat_refresh(2);
	v = recvstat_list(&n);
	for (i = 0; i < n; i++) {
		memset(&o, 0, sizeof(o));
		copy_str(o.client, sizeof(o.client), v[i].client);
		copy_str(o.job, sizeof(o.job), v[i].job);
		copy_str(o.last, sizeof(o.last), v[i].last);
		o.last_time = v[i].last_time;
		o.snapshots = v[i].snapshots;
		o.partials = v[i].partials;
		o.partial_oldest = v[i].partial_oldest;
		o.stale_after = v[i].stale_after;
		o.stale = v[i].stale != 0;
		o.scanned = recvstat_scanned();
		ctl_put_recv(&c->out, &o);
	}
}

static void
do_status(struct cclient *c)
{
	const struct conf *conf = parent_conf();
	const struct stats_live *l;
	struct ctl_live cl;
	size_t i, n;

	for (i = 0; i < conf->njobs; i++) {
		put_job(c, conf->jobs[i].name);
		put_targets(c, &conf->jobs[i]);
	}
	l = stats_live_list(&n);
	for (i = 0; i < n; i++) {
		ctl_from_live(&cl, &l[i]);
		ctl_put_live(&c->out, &cl);
	}
	put_received(c);
	ctl_put_text(&c->out, CTL_M_OK, "");
}

static int
held_by(const char *job, const char *target, const char *snap)
{
	char *const *names;
	int64_t when;
	size_t i, n;

	if ((names = stats_held(job, target, &n, &when)) == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], snap) == 0)
			return 1;
	return 0;
}

static void
do_snapshots(struct cclient *c, const char *job)
{
	const struct conf_job *cj = conf_job_find(parent_conf(), job);
	struct snap_info *si = NULL;
	struct ctl_snap s;
	char err[512], msg[1024];
	size_t i, j, n = 0;

	if (cj == NULL) {
		snprintf(msg, sizeof(msg), "no job '%s' in the configuration",
		    job);
		ctl_put_text(&c->out, CTL_M_FAIL, msg);
		return;
	}
	if (snapshot_list(cj->snapshot_dir, job, &si, &n, err,
	    sizeof(err)) == -1) {
		snprintf(msg, sizeof(msg), "job %s: listing snapshots: %s",
		    job, err);
		ctl_put_text(&c->out, CTL_M_FAIL, msg);
		return;
	}
	put_targets(c, cj);
	for (i = 0; i < n; i++) {
		memset(&s, 0, sizeof(s));
		copy_str(s.job, sizeof(s.job), job);
		copy_str(s.name, sizeof(s.name), si[i].name);
		s.time = si[i].time;
		for (j = 0; j < cj->nsend_to && s.nheld < CTL_HELD_MAX; j++)
			if (held_by(job, cj->send_to[j], si[i].name))
				copy_str(s.held[s.nheld++], CTL_NAME_MAX,
				    cj->send_to[j]);
		ctl_put_snap(&c->out, &s);
	}
	free(si);
	ctl_put_text(&c->out, CTL_M_OK, "");
}

static void
do_history(struct cclient *c, uint32_t last)
{
	const struct stats_run *r;
	struct ctl_run cr;
	size_t i, n;

	r = stats_history(&n);
	i = last != 0 && last < n ? n - last : 0;
	for (; i < n; i++) {
		ctl_from_run(&cr, &r[i]);
		ctl_put_run(&c->out, &cr);
	}
	ctl_put_text(&c->out, CTL_M_OK, "");
}

static void
monitor_event(const struct stats_event *ev, void *arg)
{
	struct cclient *c = arg;
	struct ctl_event ce;

	if (peer_closing(c->peer))
		return;
	memset(&ce, 0, sizeof(ce));
	ce.kind = (uint8_t)ev->kind;
	ce.when = ev->when;
	if (ev->live != NULL)
		ctl_from_live(&ce.live, ev->live);
	if (ev->run != NULL)
		ctl_from_run(&ce.run, ev->run);
	ctl_put_event(&c->out, &ce);
	client_flush(c);
}

static void
do_action(struct cclient *c, const struct ctl_request *rq)
{
	char msg[CTL_TEXT_MAX];
	int r;

	msg[0] = '\0';
	if (rq->cmd == CTL_CMD_CANCEL)
		log_info("control: uid %u pid %ld: cancel %u", (unsigned)c->uid,
		    (long)c->pid, rq->num);
	else
		log_info("control: uid %u pid %ld: %s %s", (unsigned)c->uid,
		    (long)c->pid, ctl_cmd_name(rq->cmd), rq->arg);
	switch (rq->cmd) {
	case CTL_CMD_RUN:
		r = parent_run(rq->arg, msg, sizeof(msg));
		break;
	case CTL_CMD_CANCEL:
		r = parent_cancel(rq->num, msg, sizeof(msg));
		break;
	case CTL_CMD_PAUSE:
	case CTL_CMD_UNPAUSE:
		r = parent_pause(rq->arg, rq->cmd == CTL_CMD_PAUSE, msg,
		    sizeof(msg));
		break;
	default:
		r = parent_reload(msg, sizeof(msg));
		break;
	}
	ctl_put_text(&c->out, r == 0 ? CTL_M_OK : CTL_M_FAIL, msg);
}

static void
client_request(struct cclient *c, const struct ctl_request *rq)
{
	char msg[256];

	if (!ctl_cmd_readonly(rq->cmd) && c->access != CTL_ACCESS_ADMIN) {
		log_warnx("control: uid %u pid %ld: %s refused: read-only "
		    "access", (unsigned)c->uid, (long)c->pid,
		    ctl_cmd_name(rq->cmd));
		snprintf(msg, sizeof(msg), "permission denied: '%s' needs "
		    "root; uid %u is in the control group and may only read "
		    "(status, snapshots, history, monitor)",
		    ctl_cmd_name(rq->cmd), (unsigned)c->uid);
		ctl_put_text(&c->out, CTL_M_FAIL, msg);
		return;
	}
	switch (rq->cmd) {
	case CTL_CMD_STATUS:
		do_status(c);
		break;
	case CTL_CMD_SNAPSHOTS:
		do_snapshots(c, rq->arg);
		break;
	case CTL_CMD_HISTORY:
		do_history(c, rq->num);
		break;
	case CTL_CMD_MONITOR:
		ctl_put_text(&c->out, CTL_M_OK, "monitoring");
		if (!c->monitor)
			stats_listen(monitor_event, c);
		c->monitor = 1;
		break;
	default:
		do_action(c, rq);
		break;
	}
}

static void
client_hello(struct cclient *c, const struct ctl_hello *h)
{
	struct ctl_hello me = { .version = CTL_VERSION, .access = c->access };
	char msg[256];

	if (h->version != CTL_VERSION) {
		log_warnx("control: uid %u pid %ld speaks control protocol "
		    "version %u, not %u; refused", (unsigned)c->uid,
		    (long)c->pid, h->version, CTL_VERSION);
		snprintf(msg, sizeof(msg), "control protocol version %u is "
		    "not supported: this btrsendd speaks version %u (use the "
		    "btrsendctl of the same release)", h->version,
		    CTL_VERSION);
		client_refuse(c, msg);
		return;
	}
	c->hello = 1;
	ctl_put_hello(&c->out, &me);
}

static void
client_message(struct cclient *c, const struct frame_decoder *d)
{
	const struct frame_hdr *h = &d->hdr;
	struct ctl_request rq;
	struct ctl_hello hello;
	char err[256], msg[320];

	if (ctl_hdr_check(h, err, sizeof(err)) == -1)
		goto refuse;
	if (h->type == CTL_HELLO && !c->hello) {
		if (ctl_get_hello(d->payload, h->len, &hello, err,
		    sizeof(err)) == 0) {
			client_hello(c, &hello);
			return;
		}
	} else if (h->type == CTL_REQUEST && c->hello) {
		if (ctl_get_request(d->payload, h->len, &rq, err,
		    sizeof(err)) == 0) {
			client_request(c, &rq);
			return;
		}
	} else {
		snprintf(err, sizeof(err), "unexpected %s message%s",
		    ctl_type_name(h->type), c->hello ? "" : " before hello");
	}
refuse:
	log_warnx("control: uid %u pid %ld: message %llu: %s; closing it",
	    (unsigned)c->uid, (long)c->pid,
	    (unsigned long long)d->nframes, err);
	snprintf(msg, sizeof(msg), "protocol error: %s", err);
	client_refuse(c, msg);
}

static void
client_frame(struct peer *p, const struct frame_decoder *d, void *arg)
{
	struct cclient *c = arg;

	(void)p;
	client_message(c, d);
	client_flush(c);
}

static void
client_bad(struct peer *p, const char *why, void *arg)
{
	struct cclient *c = arg;

	(void)p;
	log_warnx("control: uid %u pid %ld: %s; closing it", (unsigned)c->uid,
	    (long)c->pid, why);
	client_refuse(c, why);
}

static void
client_closed(struct peer *p, int error, void *arg)
{
	(void)p;
	(void)error;
	client_free(arg);
}

static int
uid_in_group(uid_t uid, gid_t peer_gid, gid_t gid)
{
	struct passwd *pw;
	gid_t *groups;
	int i, n = 64, found = 0;

	if (peer_gid == gid)
		return 1;
	if ((pw = getpwuid(uid)) == NULL)
		return 0;
	if (pw->pw_gid == gid)
		return 1;
	groups = xcalloc((size_t)n, sizeof(*groups));
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1) {
		groups = xrealloc(groups, (size_t)n * sizeof(*groups));
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
			n = 0;
	}
	for (i = 0; i < n && !found; i++)
		found = groups[i] == gid;
	free(groups);
	return found;
}

static unsigned
clients_of(uid_t uid)
{
	struct cclient *c;
	unsigned n = 0;

	TAILQ_FOREACH(c, &C.clients, entry)
		if (c->uid == uid)
			n++;
	return n;
}

static void
client_admit(struct cclient *c, const struct ucred *cr)
{
	char msg[256];

	if (cr->uid == 0)
		c->access = CTL_ACCESS_ADMIN;
	else if (C.have_gid && uid_in_group(cr->uid, cr->gid, C.gid))
		c->access = CTL_ACCESS_READ;
	if (c->access == CTL_ACCESS_NONE) {
		log_warnx("control: uid %u pid %ld refused: not root and not "
		    "in the control group", (unsigned)cr->uid, (long)cr->pid);
		snprintf(msg, sizeof(msg), "permission denied: uid %u is "
		    "neither root nor a member of the control group (the "
		    "control block's group in btrsend.conf)",
		    (unsigned)cr->uid);
		client_refuse(c, msg);
	} else if (clients_of(cr->uid) > CONTROL_PER_UID) {
		log_warnx("control: uid %u has %u connections; refusing more",
		    (unsigned)cr->uid, CONTROL_PER_UID);
		snprintf(msg, sizeof(msg), "too many connections: uid %u "
		    "already has %u", (unsigned)cr->uid, CONTROL_PER_UID);
		client_refuse(c, msg);
	} else if (C.nclients > CONTROL_CLIENTS_MAX) {
		log_warnx("control: %u connections; refusing more",
		    CONTROL_CLIENTS_MAX);
		client_refuse(c, "too many control connections");
	}
}

static void
control_conn(int s, void *arg)
{
	static const struct peer_cb cb = {
		client_frame, client_bad, client_closed
	};
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct cclient *c;

	(void)arg;
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		close(s);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->uid = cr.uid;
	c->pid = cr.pid;
	c->peer = peer_new(C.base, s, &ctl_rules, CONTROL_OUT_MAX, &cb, c);
	TAILQ_INSERT_TAIL(&C.clients, c, entry);
	C.nclients++;
	client_admit(c, &cr);
}

static int
control_group(const struct conf *conf)
{
	struct group *gr;
	char *end;
	long v;

	C.have_gid = 1;
	if (conf->control_group == NULL) {
		C.gid = getegid();
		return 0;
	}
	if ((gr = getgrnam(conf->control_group)) != NULL) {
		C.gid = gr->gr_gid;
		return 0;
	}
	v = strtol(conf->control_group, &end, 10);
	if (*end == '\0' && end != conf->control_group && v >= 0) {
		C.gid = (gid_t)v;
		return 0;
	}
	C.have_gid = 0;
	log_warnx("control: group %s does not exist; only root may use the "
	    "socket", conf->control_group);
	return -1;
}

/* A socket file nobody answers on is left from a crash: remove it. */
static int
control_unlink_stale(const struct sockaddr_un *sun)
{
	struct stat st;
	int s, r;

	if (lstat(sun->sun_path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("control: %s exists and is not a socket",
		    sun->sun_path);
		return -1;
	}
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	r = connect(s, (const struct sockaddr *)sun, sizeof(*sun));
	close(s);
	if (r == 0) {
		log_warnx("control: %s is in use by another process (another "
		    "btrsendd?)", sun->sun_path);
		return -1;
	}
	if (unlink(sun->sun_path) == -1 && errno != ENOENT) {
		log_warn("control: unlink %s", sun->sun_path);
		return -1;
	}
	return 0;
}

static int
control_mkdirs(const char *path)
{
	char dir[PATH_MAX], *p;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((p = strrchr(dir, '/')) == NULL || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* The listening socket at sun, 0660 in the control group; -1 logged. */
static int
control_bind(const struct sockaddr_un *sun, struct stat *st)
{
	int s, bound = 0;
	mode_t old;

	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		goto fail;
	old = umask(0117);
	bound = bind(s, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	umask(old);
	if (!bound || chmod(sun->sun_path, 0660) == -1 ||
	    (C.have_gid && chown(sun->sun_path, (uid_t)-1, C.gid) == -1) ||
	    stat(sun->sun_path, st) == -1 || listen(s, 16) == -1)
		goto fail;
	return s;
fail:
	log_warn("control: %s", sun->sun_path);
	if (bound)
		unlink(sun->sun_path);
	if (s != -1)
		close(s);
	return -1;
}

int
control_start(struct event_base *base)
{
	const struct conf *conf = parent_conf();
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	C.base = base;
	TAILQ_INIT(&C.clients);
	if (strlen(conf->control_socket) >= sizeof(sun.sun_path)) {
		log_warnx("control: socket path %s is too long",
		    conf->control_socket);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    conf->control_socket);
	control_group(conf);
	if (control_mkdirs(sun.sun_path) == -1) {
		log_warn("control: creating the directory of %s",
		    sun.sun_path);
		return -1;
	}
	if (control_unlink_stale(&sun) == -1 ||
	    (fd = control_bind(&sun, &st)) == -1)
		return -1;
	C.dev = st.st_dev;
	C.ino = st.st_ino;
	snprintf(C.path, sizeof(C.path), "%s", sun.sun_path);
	C.acc = acceptor_new(base, "control", SOCK_NONBLOCK | SOCK_CLOEXEC,
	    control_conn, NULL);
	acceptor_add(C.acc, fd);
	log_info("control socket %s", C.path);
	return 0;
}

void
control_stop(void)
{
	struct stat st;

	if (C.acc == NULL)
		return;
	while (!TAILQ_EMPTY(&C.clients))
		client_free(TAILQ_FIRST(&C.clients));
	acceptor_free(C.acc);
	C.acc = NULL;
	/* Only our own socket: another daemon may have replaced it. */
	if (stat(C.path, &st) == 0 && st.st_dev == C.dev &&
	    st.st_ino == C.ino)
		unlink(C.path);
}
