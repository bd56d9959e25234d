/*
 * Run bookkeeping for the parent (see stats.h).
 *
 * The history file is one header line and then one line per finished
 * (run, target):
 *
 *   btrsend-history 1
 *   ID START END RESULT BYTES RESUMES JOB TARGET SNAPSHOT PARENT ERROR
 *
 * Text fields are percent-encoded (every byte <= ' ', '%' and DEL), "-"
 * stands for an empty field.  Lines are appended whole with one write to
 * an O_APPEND descriptor and fsynced; when the file holds more than twice
 * STATS_HISTORY_MAX records it is replaced by the records in memory
 * (temporary file, fsync, rename, fsync of the directory).  A crash can
 * thus leave at worst a torn last line, which the next load skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/base/fdio.h"
#include "proto/base/file.h"
#include "proto/base/hex.h"
#include "proto/base/log.h"
#include "daemon/stats.h"

#define STATS_MAGIC	"btrsend-history 1"
#define STATS_LINE_MAX	4096

/* What the parent keeps about a live run beside what it shows. */
struct stats_win {
	uint32_t		 targets_done;
	int64_t			 win_t;		/* rate window start */
	uint64_t		 win_done;
};

struct stats_held {
	char		 job[SNAP_NAME_MAX + 1];
	char		 target[SNAP_NAME_MAX + 1];
	char		**names;
	size_t		 n;
	int64_t		 when;
	char		 base[SNAP_NAME_MAX + 1];	/* newest of ours */
};

struct stats_listener {
	stats_listener_fn	*fn;
	void			*arg;
};

static struct {
	char			*dir;
	int			 fd;		/* history, O_APPEND, or -1 */
	size_t			 file_lines;	/* records in the file */
	uint32_t		 next_id;

	struct stats_run	*hist;		/* oldest first */
	size_t			 nhist;

	struct stats_live	*live;		/* oldest first */
	struct stats_win	*win;		/* live[i]'s */
	size_t			 nlive;

	struct stats_held	*held;
	size_t			 nheld;

	struct stats_jt		*jt;
	size_t			 njt;

	struct stats_counters	 ctr;

	struct stats_listener	*lsn;
	size_t			 nlsn;
	int			 dispatching;
} st = { .fd = -1, .next_id = 1 };

static void
stats_copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/* ------------------------------------------------------------------ */
/* History file encoding */

static void
stats_enc(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0') {
		fputc('-', f);
		return;
	}
	if (strcmp(s, "-") == 0) {
		fputs("%2D", f);
		return;
	}
	for (; *p != '\0'; p++) {
		if (*p <= ' ' || *p == '%' || *p == 0x7f)
			fprintf(f, "%%%02X", *p);
		else
			fputc(*p, f);
	}
}

/* Decode one token into dst; -1 if malformed or too long. */
static int
stats_dec(const char *tok, char *dst, size_t len)
{
	size_t o = 0;
	uint8_t ch;

	if (strcmp(tok, "-") == 0) {
		dst[0] = '\0';
		return 0;
	}
	for (; *tok != '\0'; tok++) {
		if (o + 1 >= len)
			return -1;
		if (*tok != '%') {
			dst[o++] = *tok;
			continue;
		}
		if (hex_decode(&ch, 1, tok + 1, HEX_ANYCASE) == -1 || ch == 0)
			return -1;
		dst[o++] = (char)ch;
		tok += 2;
	}
	dst[o] = '\0';
	return 0;
}

static void
stats_format(FILE *f, const struct stats_run *r)
{
	const char *res = (unsigned)r->result < RUN_RESULT_END ?
	    run_result_name(r->result) : "failed";

	fprintf(f, "%" PRIu32 " %" PRId64 " %" PRId64 " %s %" PRIu64 " %"
	    PRIu32 " ", r->id, r->start, r->end, res, r->bytes, r->resumes);
	stats_enc(f, r->job);
	fputc(' ', f);
	stats_enc(f, r->target);
	fputc(' ', f);
	stats_enc(f, r->snapshot);
	fputc(' ', f);
	stats_enc(f, r->parent);
	fputc(' ', f);
	stats_enc(f, r->error);
	fputc('\n', f);
}

/* The line as a string (for one write); NULL if too long. */
static char *
stats_line(const struct stats_run *r, size_t *len)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &sz)) == NULL)
		fatal("open_memstream");
	stats_format(f, r);
	if (fclose(f) != 0)
		fatal("open_memstream");
	*len = sz;
	return buf;
}

static int
stats_parse(char *line, struct stats_run *r)
{
	char res[16], *tok[5], *save = NULL, *p;
	int off = 0, i;

	memset(r, 0, sizeof(*r));
	if (sscanf(line, "%" SCNu32 " %" SCNd64 " %" SCNd64 " %15s %" SCNu64
	    " %" SCNu32 " %n", &r->id, &r->start, &r->end, res, &r->bytes,
	    &r->resumes, &off) != 6 || off == 0)
		return -1;
	if (run_result_parse(res, &r->result) == -1 ||
	    !run_result_final(r->result) || r->start < 0 ||
	    r->end < 0 || r->id == 0)
		return -1;
	p = line + off;
	for (i = 0; i < 5; i++, p = NULL)
		if ((tok[i] = strtok_r(p, " \n", &save)) == NULL)
			return -1;
	if (strtok_r(NULL, " \n", &save) != NULL)
		return -1;
	if (stats_dec(tok[0], r->job, sizeof(r->job)) == -1 ||
	    r->job[0] == '\0' ||
	    stats_dec(tok[1], r->target, sizeof(r->target)) == -1 ||
	    stats_dec(tok[2], r->snapshot, sizeof(r->snapshot)) == -1 ||
	    stats_dec(tok[3], r->parent, sizeof(r->parent)) == -1 ||
	    stats_dec(tok[4], r->error, sizeof(r->error)) == -1)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Per (job, target) aggregates */

static struct stats_jt *
stats_jt_get(const char *job, const char *target)
{
	struct stats_jt *j;
	size_t i;

	if (target == NULL)
		target = "";
	for (i = 0; i < st.njt; i++) {
		j = &st.jt[i];
		if (strcmp(j->job, job) == 0 && strcmp(j->target, target) == 0)
			return j;
	}
	st.jt = xrealloc(st.jt, (st.njt + 1) * sizeof(*st.jt));
	j = &st.jt[st.njt++];
	memset(j, 0, sizeof(*j));
	stats_copy(j->job, sizeof(j->job), job);
	stats_copy(j->target, sizeof(j->target), target);
	return j;
}

/* What every finished record teaches, loaded or live. */
static void
stats_learn(const struct stats_run *r)
{
	struct stats_jt *j = stats_jt_get(r->job, r->target);

	if (r->result == RUN_OK) {
		if (r->end > j->last_success)
			j->last_success = r->end;
		/* a resumed send's bytes are not its stream's size */
		if (r->target[0] != '\0' && r->bytes > 0 && r->resumes == 0)
			j->last_bytes = r->bytes;
	}
}

static void
stats_count(const struct stats_run *r)
{
	struct stats_jt *j = stats_jt_get(r->job, r->target);

	j->bytes += r->bytes;
	j->resumes += r->resumes;
	j->prune_refused += r->prune_refused;
	st.ctr.bytes += r->bytes;
	st.ctr.resumes += r->resumes;
	switch (r->result) {
	case RUN_OK:
		j->ok++;
		st.ctr.ok++;
		break;
	case RUN_RETRY:
		j->retry++;
		st.ctr.retry++;
		break;
	default:
		j->failed++;
		st.ctr.failed++;
		break;
	}
}

/* ------------------------------------------------------------------ */
/* History: memory and file */

static void
stats_hist_push(const struct stats_run *r)
{
	if (st.hist == NULL)
		st.hist = xcalloc(STATS_HISTORY_MAX, sizeof(*st.hist));
	if (st.nhist == STATS_HISTORY_MAX) {
		memmove(st.hist, st.hist + 1, (st.nhist - 1) *
		    sizeof(*st.hist));
		st.nhist--;
	}
	st.hist[st.nhist++] = *r;
	stats_learn(r);
	if (r->id >= st.next_id)
		st.next_id = r->id + 1;
}

static char *
stats_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", st.dir, name) == -1)
		fatal("asprintf");
	return p;
}

static int
stats_open_append(void)
{
	char *path = stats_path(STATS_HISTORY_FILE);

	st.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (st.fd == -1)
		log_warn("history %s", path);
	free(path);
	return st.fd == -1 ? -1 : 0;
}

/* Replace the file by the records in memory. */
static int
stats_rewrite(void)
{
	char *buf = NULL;
	size_t i, len = 0;
	FILE *f;
	int rv = -1;

	if ((f = open_memstream(&buf, &len)) != NULL) {
		fputs(STATS_MAGIC "\n", f);
		for (i = 0; i < st.nhist; i++)
			stats_format(f, &st.hist[i]);
		if (fclose(f) == 0)
			rv = file_replace(st.dir, STATS_HISTORY_FILE,
			    STATS_HISTORY_FILE ".tmp", 0640, buf, len);
	}
	free(buf);
	if (rv == -1) {
		log_warn("history %s/%s: rewrite", st.dir, STATS_HISTORY_FILE);
		return -1;
	}
	if (st.fd != -1)
		close(st.fd);
	st.fd = -1;
	st.file_lines = st.nhist;
	return stats_open_append();
}

/* Append one record; the file is compacted once it holds 2x the bound. */
static void
stats_hist_append(const struct stats_run *r)
{
	char *line;
	size_t len;

	stats_hist_push(r);
	if (st.dir == NULL)
		return;
	if (st.file_lines + 1 > 2 * STATS_HISTORY_MAX) {
		stats_rewrite();
		return;
	}
	if (st.fd == -1 && stats_open_append() == -1)
		return;
	line = stats_line(r, &len);
	if (lseek(st.fd, 0, SEEK_END) == 0) {
		if (fd_write_all(st.fd, STATS_MAGIC "\n",
		    sizeof(STATS_MAGIC)) == -1)
			goto fail;
	}
	if (fd_write_all(st.fd, line, len) == -1 || fsync(st.fd) == -1)
		goto fail;
	st.file_lines++;
	free(line);
	return;
fail:
	log_warn("history: append run %" PRIu32, r->id);
	free(line);
}

/*
 * Read the file; *dirty when it should be rewritten (damaged lines, a
 * torn tail, or grown past the bound).
 */
static int
stats_load(FILE *f, const char *path, int *dirty)
{
	char line[STATS_LINE_MAX];
	struct stats_run r;
	unsigned lineno = 1;
	size_t len;

	if (fgets(line, sizeof(line), f) == NULL)
		return 0;
	if (strcmp(line, STATS_MAGIC "\n") != 0) {
		log_warnx("%s:1: not a btrsend history file (expected \"%s\"); "
		    "starting a new one", path, STATS_MAGIC);
		*dirty = 1;
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		len = strlen(line);
		if (len == 0 || line[len - 1] != '\n' ||
		    stats_parse(line, &r) == -1) {
			log_warnx("%s:%u: malformed history line skipped",
			    path, lineno);
			*dirty = 1;
			/* the rest of an overlong line */
			while (len > 0 && line[len - 1] != '\n' &&
			    fgets(line, sizeof(line), f) != NULL)
				len = strlen(line);
			continue;
		}
		st.file_lines++;
		stats_hist_push(&r);
	}
	if (ferror(f))
		return -1;
	if (st.file_lines > 2 * STATS_HISTORY_MAX)
		*dirty = 1;
	return 0;
}

static void stats_held_load(void);
static void stats_held_drop(void);

int
stats_open(const char *state_dir, char *err, size_t errlen)
{
	char *path;
	int dirty = 0;
	FILE *f;

	stats_close();
	st.dir = xstrdup(state_dir);
	path = stats_path(STATS_HISTORY_FILE);
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT) {
			free(path);
			stats_held_load();
			return 0;
		}
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (stats_load(f, path, &dirty) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(f);
		goto fail;
	}
	fclose(f);
	if (dirty && stats_rewrite() == -1) {
		snprintf(err, errlen, "%s: could not rewrite a damaged history",
		    path);
		goto fail;
	}
	free(path);
	stats_held_load();
	return 0;
fail:
	free(path);
	free(st.dir);
	st.dir = NULL;
	return -1;
}

void
stats_close(void)
{
	if (st.fd != -1)
		close(st.fd);
	stats_held_drop();
	free(st.hist);
	free(st.live);
	free(st.win);
	free(st.jt);
	free(st.lsn);
	free(st.dir);
	memset(&st, 0, sizeof(st));
	st.fd = -1;
	st.next_id = 1;
}

/* ------------------------------------------------------------------ */
/* Listeners */

static void
stats_emit(enum stats_event_kind kind, int64_t when,
    const struct stats_live *l, const struct stats_run *r)
{
	struct stats_event ev = { kind, when, l, r };
	size_t i, o;

	st.dispatching++;
	for (i = 0; i < st.nlsn; i++)
		if (st.lsn[i].fn != NULL)
			st.lsn[i].fn(&ev, st.lsn[i].arg);
	if (--st.dispatching > 0)
		return;
	for (i = o = 0; i < st.nlsn; i++)
		if (st.lsn[i].fn != NULL)
			st.lsn[o++] = st.lsn[i];
	st.nlsn = o;
}

void
stats_listen(stats_listener_fn *fn, void *arg)
{
	st.lsn = xrealloc(st.lsn, (st.nlsn + 1) * sizeof(*st.lsn));
	st.lsn[st.nlsn].fn = fn;
	st.lsn[st.nlsn].arg = arg;
	st.nlsn++;
}

/* During a dispatch the slot is only cleared: the loop is walking it. */
void
stats_unlisten(stats_listener_fn *fn, void *arg)
{
	size_t i;

	for (i = 0; i < st.nlsn; i++) {
		if (st.lsn[i].fn != fn || st.lsn[i].arg != arg)
			continue;
		if (st.dispatching) {
			st.lsn[i].fn = NULL;
		} else {
			memmove(&st.lsn[i], &st.lsn[i + 1],
			    (st.nlsn - i - 1) * sizeof(*st.lsn));
			st.nlsn--;
		}
		return;
	}
}

/* ------------------------------------------------------------------ */
/* Live runs */

static ssize_t
stats_live_idx(uint32_t id)
{
	size_t i;

	for (i = 0; i < st.nlive; i++)
		if (st.live[i].id == id)
			return (ssize_t)i;
	return -1;
}

uint32_t
stats_run_start(const char *job, int64_t now)
{
	struct stats_live *l;

	st.live = xrealloc(st.live, (st.nlive + 1) * sizeof(*st.live));
	st.win = xrealloc(st.win, (st.nlive + 1) * sizeof(*st.win));
	memset(&st.win[st.nlive], 0, sizeof(*st.win));
	st.win[st.nlive].win_t = now;
	l = &st.live[st.nlive++];
	memset(l, 0, sizeof(*l));
	l->id = st.next_id++;
	if (st.next_id == 0)
		st.next_id = 1;
	stats_copy(l->job, sizeof(l->job), job);
	stats_copy(l->phase, sizeof(l->phase), "start");
	l->start = now;
	stats_emit(STATS_EV_RUN_START, now, l, NULL);
	return l->id;
}

/*
 * The rate is an average over windows of at least a second, each new
 * window weighing half: recent, yet not jumping with every message.  A
 * new target or a restart from an earlier offset starts over.
 */
static void
stats_rate(struct stats_live *l, struct stats_win *w,
    const struct stats_progress *p, int64_t now)
{
	uint64_t inst;
	int restart;

	restart = strcmp(l->target, p->target ? p->target : "") != 0 ||
	    p->done < w->win_done;
	if (restart) {
		l->rate = 0;
		w->win_t = now;
		w->win_done = p->done;
		return;
	}
	if (now <= w->win_t)
		return;
	inst = (p->done - w->win_done) / (uint64_t)(now - w->win_t);
	l->rate = l->rate == 0 ? inst : (l->rate + inst) / 2;
	w->win_t = now;
	w->win_done = p->done;
}

void
stats_run_progress(uint32_t id, const struct stats_progress *p, int64_t now)
{
	struct stats_live *l;
	ssize_t i;

	if ((i = stats_live_idx(id)) == -1)
		return;
	l = &st.live[i];
	stats_rate(l, &st.win[i], p, now);
	if (p->phase != NULL)
		stats_copy(l->phase, sizeof(l->phase), p->phase);
	stats_copy(l->target, sizeof(l->target), p->target);
	if (p->snapshot != NULL && p->snapshot[0] != '\0')
		stats_copy(l->snapshot, sizeof(l->snapshot), p->snapshot);
	l->done = p->done;
	l->total = p->total;
	l->total_src = p->total == 0 ? TOTAL_UNKNOWN : p->total_src;
	l->resumed_at = p->resumed_at;
	l->resumes = p->resumes;
	stats_emit(STATS_EV_PROGRESS, now, l, NULL);
}

void
stats_target_done(uint32_t id, const struct stats_run *r)
{
	struct stats_run rec = *r;
	struct stats_live *l;
	ssize_t i;

	rec.id = id;
	if ((i = stats_live_idx(id)) != -1) {
		l = &st.live[i];
		st.win[i].targets_done++;
		if (rec.job[0] == '\0')
			stats_copy(rec.job, sizeof(rec.job), l->job);
		l->done = l->total = 0;
		l->total_src = TOTAL_UNKNOWN;
		l->rate = 0;
		l->resumed_at = 0;
		l->resumes = 0;
		l->target[0] = '\0';
	}
	stats_count(&rec);
	stats_hist_append(&rec);
	stats_emit(STATS_EV_TARGET_DONE, rec.end, NULL, &rec);
}

static void
stats_live_drop(size_t i)
{
	memmove(&st.live[i], &st.live[i + 1], (st.nlive - i - 1) *
	    sizeof(*st.live));
	memmove(&st.win[i], &st.win[i + 1], (st.nlive - i - 1) *
	    sizeof(*st.win));
	st.nlive--;
}

void
stats_run_end(uint32_t id, const struct stats_run *r)
{
	struct stats_run rec = *r;
	struct stats_jt *j;
	ssize_t i;
	int sent = 0;

	rec.id = id;
	rec.target[0] = '\0';
	if ((i = stats_live_idx(id)) != -1) {
		sent = st.win[i].targets_done > 0;
		if (rec.job[0] == '\0')
			stats_copy(rec.job, sizeof(rec.job), st.live[i].job);
		if (rec.start == 0)
			rec.start = st.live[i].start;
		stats_live_drop((size_t)i);
	}
	if (!sent) {
		stats_hist_append(&rec);
	} else if (rec.result == RUN_OK) {
		j = stats_jt_get(rec.job, "");
		if (rec.end > j->last_success)
			j->last_success = rec.end;
	}
	stats_emit(STATS_EV_RUN_END, rec.end, NULL, &rec);
}

/* Valid until a run starts or ends. */
const struct stats_live *
stats_live_list(size_t *n)
{
	*n = st.nlive;
	return st.live;
}

const struct stats_live *
stats_live_find(uint32_t id)
{
	ssize_t i = stats_live_idx(id);

	return i == -1 ? NULL : &st.live[i];
}

const struct stats_run *
stats_history(size_t *n)
{
	*n = st.nhist;
	return st.hist;
}

/* ------------------------------------------------------------------ */
/* Held snapshots */

static struct stats_held *
stats_held_get(const char *job, const char *target, int create)
{
	struct stats_held *h;
	size_t i;

	for (i = 0; i < st.nheld; i++) {
		h = &st.held[i];
		if (strcmp(h->job, job) == 0 && strcmp(h->target, target) == 0)
			return h;
	}
	if (!create)
		return NULL;
	st.held = xrealloc(st.held, (st.nheld + 1) * sizeof(*st.held));
	h = &st.held[st.nheld++];
	memset(h, 0, sizeof(*h));
	stats_copy(h->job, sizeof(h->job), job);
	stats_copy(h->target, sizeof(h->target), target);
	return h;
}

void
stats_held_set(const char *job, const char *target, char *const *names,
    size_t n, int64_t now)
{
	struct stats_held *h = stats_held_get(job, target, 1);
	size_t i;

	stats_jt_get(job, target);	/* a series for /metrics */
	for (i = 0; i < h->n; i++)
		free(h->names[i]);
	free(h->names);
	if (n > STATS_HELD_MAX) {
		log_warnx("job %s target %s: %zu snapshots held, keeping the "
		    "first %d", job, target, n, STATS_HELD_MAX);
		n = STATS_HELD_MAX;
	}
	/* never NULL once reported, even when empty */
	h->names = xcalloc(n + 1, sizeof(*h->names));
	for (i = 0; i < n; i++)
		h->names[i] = xstrdup(names[i]);
	h->n = n;
	h->when = now;
}

/*
 * The held file: what each target held at its last contact, so that a
 * restarted daemon prunes by it while the target is unreachable.
 *
 *   btrsend-held 1
 *   WHEN JOB TARGET BASE COUNT
 *   NAME			(COUNT lines)
 *
 * Fields percent-encoded as in the history, BASE "-" when the target
 * held none of ours.  Replaced whole (file_replace).  It is read as
 * hostile: another user's, group or world writable, not a regular file,
 * or malformed anywhere, it is refused whole and every target is
 * unknown until it reports again.
 */
#define STATS_HELD_FILE		"held"
#define STATS_HELD_MAGIC	"btrsend-held 1"

static void
stats_held_save(void)
{
	const struct stats_held *h;
	char *buf = NULL, tmp[64];
	size_t i, k, len = 0;
	FILE *f;
	int rv = -1;

	if (st.dir == NULL)
		return;
	if ((f = open_memstream(&buf, &len)) != NULL) {
		fprintf(f, "%s\n", STATS_HELD_MAGIC);
		for (i = 0; i < st.nheld; i++) {
			h = &st.held[i];
			fprintf(f, "%" PRId64 " ", h->when);
			stats_enc(f, h->job);
			fputc(' ', f);
			stats_enc(f, h->target);
			fputc(' ', f);
			stats_enc(f, h->base);
			fprintf(f, " %zu\n", h->n);
			for (k = 0; k < h->n; k++) {
				stats_enc(f, h->names[k]);
				fputc('\n', f);
			}
		}
		if (fclose(f) == 0) {
			snprintf(tmp, sizeof(tmp), "%s.tmp.%ld",
			    STATS_HELD_FILE, (long)getpid());
			rv = file_replace(st.dir, STATS_HELD_FILE, tmp, 0600,
			    buf, len);
		}
	}
	if (rv == -1)
		log_warn("saving %s/%s", st.dir, STATS_HELD_FILE);
	free(buf);
}

/*
 * One line without its newline into line; -1 at the end, -2 when torn,
 * too long or holding a NUL.
 */
static int
stats_held_line(FILE *f, char *line, size_t len)
{
	if (fgets(line, (int)len, f) == NULL)
		return -1;
	if (line[0] == '\0' || line[strlen(line) - 1] != '\n')
		return -2;
	line[strlen(line) - 1] = '\0';
	return 0;
}

/* A snapshot name: bounded, no '/', not "." or "..". */
static int
stats_held_name_ok(const char *s, int empty_ok)
{
	if (s[0] == '\0')
		return empty_ok ? 0 : -1;
	if (strchr(s, '/') != NULL || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return -1;
	return 0;
}

static int
stats_held_parse(FILE *f, char *why, size_t whylen)
{
	char line[STATS_LINE_MAX], job[STATS_LINE_MAX], tg[STATS_LINE_MAX];
	char base[STATS_LINE_MAX], nm[SNAP_NAME_MAX + 1], **names;
	char dj[SNAP_NAME_MAX + 1], dt[SNAP_NAME_MAX + 1];
	char db[SNAP_NAME_MAX + 1];
	int64_t when;
	size_t n, k;
	unsigned lineno = 1;
	int off, r;

	if (stats_held_line(f, line, sizeof(line)) != 0 ||
	    strcmp(line, STATS_HELD_MAGIC) != 0) {
		snprintf(why, whylen, "line 1: not \"%s\"", STATS_HELD_MAGIC);
		return -1;
	}
	while ((r = stats_held_line(f, line, sizeof(line))) == 0) {
		lineno++;
		off = 0;
		if (sscanf(line, "%" SCNd64 " %4095s %4095s %4095s %zu%n",
		    &when, job, tg, base, &n, &off) != 5 ||
		    line[off] != '\0' || when < 0 || n > STATS_HELD_MAX ||
		    stats_dec(job, dj, sizeof(dj)) == -1 ||
		    stats_dec(tg, dt, sizeof(dt)) == -1 ||
		    stats_dec(base, db, sizeof(db)) == -1 ||
		    dj[0] == '\0' || dt[0] == '\0' ||
		    stats_held_name_ok(db, 1) == -1 ||
		    stats_held_get(dj, dt, 0) != NULL) {
			snprintf(why, whylen, "line %u: malformed record",
			    lineno);
			return -1;
		}
		names = xcalloc(n + 1, sizeof(*names));
		for (k = 0; k < n; k++) {
			lineno++;
			if (stats_held_line(f, line, sizeof(line)) != 0 ||
			    stats_dec(line, nm, sizeof(nm)) == -1 ||
			    stats_held_name_ok(nm, 0) == -1)
				break;
			names[k] = xstrdup(nm);
		}
		if (k == n) {
			stats_held_set(dj, dt, names, n, when);
			stats_copy(stats_held_get(dj, dt, 0)->base,
			    sizeof(db), db);
		}
		for (off = 0; (size_t)off < k; off++)
			free(names[off]);
		free(names);
		if (k != n) {
			snprintf(why, whylen, "line %u: malformed name",
			    lineno);
			return -1;
		}
	}
	if (r == -2 || !feof(f)) {
		snprintf(why, whylen, "line %u: torn, too long or unreadable",
		    lineno + 1);
		return -1;
	}
	return 0;
}

static void
stats_held_drop(void)
{
	size_t i, k;

	for (i = 0; i < st.nheld; i++) {
		for (k = 0; k < st.held[i].n; k++)
			free(st.held[i].names[k]);
		free(st.held[i].names);
	}
	free(st.held);
	st.held = NULL;
	st.nheld = 0;
}

/* Bounds a hostile file: STATS_HELD_MAX names of a line each, per pair. */
#define STATS_HELD_FILE_MAX	(64L * 1024 * 1024)

static void
stats_held_load(void)
{
	char *path = stats_path(STATS_HELD_FILE), why[256];
	struct stat sb;
	FILE *f = NULL;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			goto out;
		snprintf(why, sizeof(why), "%s", strerror(errno));
	} else if (fstat(fd, &sb) == -1)
		snprintf(why, sizeof(why), "%s", strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		snprintf(why, sizeof(why), "not a regular file");
	else if (sb.st_uid != geteuid())
		snprintf(why, sizeof(why), "owned by uid %u, not by the daemon "
		    "(uid %u)", (unsigned)sb.st_uid, (unsigned)geteuid());
	else if ((sb.st_mode & 022) != 0)
		snprintf(why, sizeof(why), "writable by group or others "
		    "(mode %03o)", (unsigned)(sb.st_mode & 0777));
	else if (sb.st_size > STATS_HELD_FILE_MAX)
		snprintf(why, sizeof(why), "larger than %ld bytes",
		    STATS_HELD_FILE_MAX);
	else if ((f = fdopen(fd, "r")) == NULL)
		snprintf(why, sizeof(why), "%s", strerror(errno));
	else {
		fd = -1;
		if (stats_held_parse(f, why, sizeof(why)) == 0)
			goto out;
	}
	stats_held_drop();
	log_warnx("refusing %s: %s; what each target held is unknown until "
	    "it answers again (while unreachable, nothing is pruned)", path,
	    why);
out:
	if (f != NULL)
		fclose(f);
	if (fd != -1)
		close(fd);
	free(path);
}

void
stats_held_set_base(const char *job, const char *target, const char *base)
{
	struct stats_held *h = stats_held_get(job, target, 0);

	if (h == NULL)
		return;
	stats_copy(h->base, sizeof(h->base), base);
	stats_held_save();
}

const char *
stats_held_base(const char *job, const char *target)
{
	struct stats_held *h = stats_held_get(job, target, 0);

	return h != NULL ? h->base : NULL;
}

char *const *
stats_held(const char *job, const char *target, size_t *n, int64_t *when)
{
	struct stats_held *h = stats_held_get(job, target, 0);

	if (h == NULL)
		return NULL;
	*n = h->n;
	*when = h->when;
	return h->names;
}

/* ------------------------------------------------------------------ */
/* Counters */

void
stats_counters(struct stats_counters *c)
{
	*c = st.ctr;
}

int64_t
stats_last_success(const char *job, const char *target)
{
	size_t i;

	if (target == NULL)
		target = "";
	for (i = 0; i < st.njt; i++)
		if (strcmp(st.jt[i].job, job) == 0 &&
		    strcmp(st.jt[i].target, target) == 0)
			return st.jt[i].last_success;
	return 0;
}

uint64_t
stats_last_bytes(const char *job, const char *target)
{
	size_t i;

	for (i = 0; i < st.njt; i++)
		if (strcmp(st.jt[i].job, job) == 0 &&
		    strcmp(st.jt[i].target, target) == 0)
			return st.jt[i].last_bytes;
	return 0;
}

const struct stats_jt *
stats_jt_list(size_t *n)
{
	*n = st.njt;
	return st.jt;
}
