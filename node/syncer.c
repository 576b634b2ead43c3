/*
 * syncer.c - the store's durability on a thread of its own (syncer.h).
 *
 * State under mu: `want` (highest commit asked for), `done` (highest made
 * durable), `err` and its message (sticky), `stop`. The thread sleeps on
 * `work` until want > done; it then takes target = want, syncs without the
 * lock, and publishes done = target, wakes syncer_wait() through `fin` and
 * the loop through the uv_async. Every commit numbered up to `target`
 * returned before syncer_request(target) was called, so before the sync
 * began: the one fdatasync covers them all.
 */
#include "syncer.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node_syncer {
	struct store *store;
	syncer_fn fn;
	void *arg;
	uv_thread_t thread;
	uv_mutex_t mu;
	uv_cond_t work;			/* want > done, or stop */
	uv_cond_t fin;			/* done or err moved */
	uv_async_t async;
	bool async_open;		/* under mu */
	bool joined;			/* syncer_stop() ran */
	/* under mu */
	uint64_t want, done, syncs;
	int err;
	char msg[400];
	bool stop;
};

static void
syncer_main(void *arg)
{
	struct node_syncer *s = arg;
	struct mrx_diag d;
	uint64_t target;
	int rc;

	uv_mutex_lock(&s->mu);
	for (;;) {
		while (!s->stop && (s->err != 0 || s->want <= s->done))
			uv_cond_wait(&s->work, &s->mu);
		if (s->stop)
			break;
		target = s->want;
		uv_mutex_unlock(&s->mu);
		mrx_diag_clear(&d);
		rc = store_sync(s->store, &d);
		uv_mutex_lock(&s->mu);
		s->syncs++;
		if (rc != 0) {
			s->err = rc;
			mrx_diag_str(&d, s->msg, sizeof(s->msg));
		} else {
			s->done = target;
		}
		uv_cond_broadcast(&s->fin);
		if (s->async_open)
			uv_async_send(&s->async);
	}
	uv_mutex_unlock(&s->mu);
}

/* Reports the state to the callback (loop thread). */
static void
report(struct node_syncer *s)
{
	char msg[sizeof(s->msg)];
	uint64_t done;
	int err;

	uv_mutex_lock(&s->mu);
	done = s->done;
	err = s->err;
	memcpy(msg, s->msg, sizeof(msg));
	uv_mutex_unlock(&s->mu);
	s->fn(s->arg, done, err, msg);
}

static void
on_async(uv_async_t *h)
{
	report(h->data);
}

int
syncer_start(uv_loop_t *loop, struct store *store, syncer_fn fn, void *arg,
    struct node_syncer **out, struct mrx_diag *diag)
{
	struct node_syncer *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET, "",
		    "syncer: out of memory");
	s->store = store;
	s->fn = fn;
	s->arg = arg;
	if (uv_mutex_init(&s->mu) != 0) {
		free(s);
		return mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET, "",
		    "syncer: cannot make a mutex");
	}
	if (uv_cond_init(&s->work) != 0 || uv_cond_init(&s->fin) != 0 ||
	    uv_thread_create(&s->thread, syncer_main, s) != 0) {
		/* conds are plain pthread objects: nothing to undo on Linux */
		uv_mutex_destroy(&s->mu);
		free(s);
		return mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET, "",
		    "syncer: cannot start its thread");
	}
	if (uv_async_init(loop, &s->async, on_async) != 0) {
		uv_mutex_lock(&s->mu);
		s->stop = true;
		uv_cond_signal(&s->work);
		uv_mutex_unlock(&s->mu);
		uv_thread_join(&s->thread);
		uv_mutex_destroy(&s->mu);
		free(s);
		return mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET, "",
		    "syncer: cannot make its uv_async");
	}
	s->async.data = s;
	uv_mutex_lock(&s->mu);
	s->async_open = true;
	uv_mutex_unlock(&s->mu);
	*out = s;
	return 0;
}

void
syncer_request(struct node_syncer *s, uint64_t upto)
{
	uv_mutex_lock(&s->mu);
	if (upto > s->want) {
		s->want = upto;
		uv_cond_signal(&s->work);
	}
	uv_mutex_unlock(&s->mu);
}

int
syncer_wait(struct node_syncer *s, uint64_t upto)
{
	int err;

	uv_mutex_lock(&s->mu);
	if (upto > s->want) {
		s->want = upto;
		uv_cond_signal(&s->work);
	}
	while (s->done < upto && s->err == 0)
		uv_cond_wait(&s->fin, &s->mu);
	err = s->err;
	uv_mutex_unlock(&s->mu);
	report(s);
	return err;
}

void
syncer_close(struct node_syncer *s)
{
	if (s == NULL)
		return;
	uv_mutex_lock(&s->mu);
	s->async_open = false;
	uv_mutex_unlock(&s->mu);
	if (!uv_is_closing((uv_handle_t *)&s->async))
		uv_close((uv_handle_t *)&s->async, NULL);
}

void
syncer_stop(struct node_syncer *s)
{
	if (s == NULL || s->joined)
		return;
	uv_mutex_lock(&s->mu);
	s->stop = true;
	uv_cond_signal(&s->work);
	uv_mutex_unlock(&s->mu);
	uv_thread_join(&s->thread);
	s->joined = true;
}

void
syncer_free(struct node_syncer *s)
{
	if (s == NULL)
		return;
	syncer_stop(s);
	uv_cond_destroy(&s->work);
	uv_cond_destroy(&s->fin);
	uv_mutex_destroy(&s->mu);
	free(s);
}

uint64_t
syncer_syncs(struct node_syncer *s)
{
	uint64_t n;

	if (s == NULL)
		return 0;
	uv_mutex_lock(&s->mu);
	n = s->syncs;
	uv_mutex_unlock(&s->mu);
	return n;
}
