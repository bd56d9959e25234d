/*
 * Periodic checkpoints without stopping the apply: a helper thread runs
 * syncfs, writes the state file and deletes the checkpoint snapshot the
 * state file named before, while the engine carries on.  The checkpoint
 * names the position reached when the request was made; its snapshot
 * (apply_ckpt.c) was taken by the engine at that position, before the
 * request.  syncfs makes at least everything before that durable (and
 * perhaps more, which a resume without the snapshot replays tolerantly).
 * One request at a time: a due checkpoint waits for the one running.
 *
 * Between checkpoints the thread also flushes ahead: a bare syncfs every
 * APPLY_FLUSH_AHEAD bytes, so that the data is written back beside the
 * apply instead of inside it.  Creating the checkpoint snapshot writes
 * back whatever is still dirty in the subvolume and the engine waits for
 * that; without the flushes that was a whole interval of data.
 *
 * Each checkpoint that became durable is handed out once by
 * apply_checkpoint_done, for a receiver that acks them.
 */
#include <errno.h>
#include <fcntl.h>
#include <btrfsutil.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "engine/apply_impl.h"

struct apply_syncer {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool busy, quit;
	bool flush_only;                /* the request is a bare syncfs */
	bool have_done;                 /* `done` is durable, not handed out */
	int err;                        /* errno of the last failed request */
	int dirfd, subfd;
	char statefile[NAME_MAX + 1];
	char drop[NAME_MAX + 1];        /* snapshot no longer named, or "" */
	struct checkpoint ck;
	struct checkpoint done;
};

static void *
sync_main(void *arg)
{
	struct apply_syncer *s = arg;
	int err;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->busy && !s->quit)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->quit)
			break;
		pthread_mutex_unlock(&s->mu);
		err = 0;
		if (syncfs(s->subfd) == -1 || (!s->flush_only &&
		    checkpoint_write(s->dirfd, s->statefile, &s->ck) == -1))
			err = errno ? errno : EIO;
		if (err == 0 && !s->flush_only && s->drop[0] != '\0' &&
		    btrfs_util_delete_subvolume_fd(s->dirfd, s->drop, 0) !=
		    BTRFS_UTIL_OK && errno != ENOENT)
			log_warn("delete checkpoint snapshot %s", s->drop);
		pthread_mutex_lock(&s->mu);
		close(s->subfd);
		s->subfd = -1;
		if (err != 0)
			s->err = err;
		else if (!s->flush_only) {
			s->done = s->ck;
			s->have_done = true;
		}
		s->busy = false;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static struct apply_syncer *
sync_get(struct apply *a)
{
	struct apply_syncer *s;

	if (a->syncer != NULL)
		return a->syncer;
	s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->subfd = -1;
	if (pthread_create(&s->th, NULL, sync_main, s) != 0) {
		free(s);
		return NULL;
	}
	a->syncer = s;
	return s;
}

/* Wait for a running request; its error, if any, as errno and -1. */
int
apply_sync_wait(struct apply *a)
{
	struct apply_syncer *s = a->syncer;
	int err;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	while (s->busy)
		pthread_cond_wait(&s->cv, &s->mu);
	err = s->err;
	s->err = 0;
	pthread_mutex_unlock(&s->mu);
	if (err == 0)
		return 0;
	errno = err;
	return -1;
}

/* 1: a request can be made now, 0: one is running, -1: no helper thread. */
int
apply_sync_idle(struct apply *a)
{
	struct apply_syncer *s;
	bool busy;

	if ((s = sync_get(a)) == NULL)
		return -1;
	pthread_mutex_lock(&s->mu);
	busy = s->busy;
	pthread_mutex_unlock(&s->mu);
	return busy ? 0 : 1;
}

/* Hand a request to the idle thread.  0, or -1 with errno. */
static int
sync_start(struct apply *a, struct apply_syncer *s, const struct checkpoint *ck,
    const char *drop)
{
	int fd, err;

	pthread_mutex_lock(&s->mu);
	if (s->busy) {
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	err = s->err;
	s->err = 0;
	if (err == 0 && (fd = fcntl(a->subfd, F_DUPFD_CLOEXEC, 3)) != -1) {
		s->subfd = fd;
		s->dirfd = a->dirfd;
		s->flush_only = ck == NULL;
		if (ck != NULL) {
			memcpy(s->statefile, a->statefile, sizeof(s->statefile));
			snprintf(s->drop, sizeof(s->drop), "%s",
			    drop ? drop : "");
			s->ck = *ck;
		}
		s->busy = true;
		pthread_cond_broadcast(&s->cv);
	} else if (err == 0)
		err = errno;
	pthread_mutex_unlock(&s->mu);
	errno = err;
	return err != 0 ? -1 : 0;
}

/*
 * Start a checkpoint at the current position unless one is running;
 * once it is written, delete the snapshot `drop` (NULL: none).
 */
int
apply_sync_request(struct apply *a, const struct checkpoint *ck,
    const char *drop)
{
	struct apply_syncer *s;

	if ((s = sync_get(a)) == NULL)
		return apply_write_checkpoint(a, true, false);
	if (sync_start(a, s, ck, drop) == -1)
		return apply_fail(a, errno, "checkpoint %s", a->statefile);
	return 0;
}

/* Start writing back what is applied, unless the thread is busy. */
int
apply_sync_flush(struct apply *a)
{
	struct apply_syncer *s;

	if ((s = sync_get(a)) == NULL)
		return 0;
	if (sync_start(a, s, NULL, NULL) == -1)
		return apply_fail(a, errno, "write back %s", a->staging);
	return 0;
}

int
apply_checkpoint_done(struct apply *a, struct checkpoint *c)
{
	struct apply_syncer *s = a->syncer;
	int rv = 0, err;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	if (s->have_done) {
		*c = s->done;
		s->have_done = false;
		rv = 1;
	}
	err = s->err;
	if (err != 0 && !s->busy) {
		s->err = 0;
		rv = -1;
	}
	pthread_mutex_unlock(&s->mu);
	if (rv == -1)
		return apply_fail(a, err, "background checkpoint %s",
		    a->statefile);
	return rv;
}

void
apply_sync_free(struct apply *a)
{
	struct apply_syncer *s = a->syncer;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	while (s->busy)
		pthread_cond_wait(&s->cv, &s->mu);
	s->quit = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
	a->syncer = NULL;
}
