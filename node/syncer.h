/*
 * syncer.h - makes the store's commits durable on a thread of its own, so
 * that the loop thread goes on taking, deciding and committing requests
 * while the disk flushes (store_sync_defer(), store_sync()).
 *
 * Commits are numbered by the caller from 1 in the order they returned.
 * syncer_request(N) asks that every commit up to N be made durable; the
 * thread runs store_sync() (one fdatasync of the WAL covers every commit
 * written before it began, so requests that arrive meanwhile are grouped
 * into the next one) and reports on the loop thread, through a uv_async,
 * the highest commit number made durable, or the error that stopped it.
 * After an error nothing more is synced: the commits since the last good
 * sync may be lost, and the runtime must not acknowledge them.
 *
 * mrxd uses it only with MRX_SYNC_THREAD=1: on the 2-CPU machines
 * measured, syncing on the loop thread cost less CPU per request
 * (docs/design-notes.md).
 *
 * Threads: every function but the thread's own runs on the loop thread.
 */
#ifndef NODE_SYNCER_H
#define NODE_SYNCER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "store.h"

struct node_syncer;

/* Called on the loop thread: commits up to `upto` are durable, or, with
 * err != 0, syncing failed (msg says why) and `upto` is the last good. */
typedef void (*syncer_fn)(void *arg, uint64_t upto, int err,
    const char *msg);

/* Starts the thread for `store` (after store_sync_defer()). 0 or an MRX_E*
 * code with diag set. */
int syncer_start(uv_loop_t *loop, struct store *store, syncer_fn fn,
    void *arg, struct node_syncer **out, struct mrx_diag *diag);

/* Asks that commits up to `upto` be made durable; returns at once. */
void syncer_request(struct node_syncer *s, uint64_t upto);

/*
 * Blocks the loop thread until commits up to `upto` are durable, then
 * calls the callback with the result (so that the caller releases what
 * waited, as it would from the async). For a bounded backlog and for the
 * last commits at exit. Returns the error, 0 if durable.
 */
int syncer_wait(struct node_syncer *s, uint64_t upto);

/* Closes the uv_async (so that the loop may end); syncer_wait() still
 * works afterwards. */
void syncer_close(struct node_syncer *s);

/* Stops and joins the thread (before the store closes). */
void syncer_stop(struct node_syncer *s);

/* Stops the thread if needed and frees s (after the loop has ended). */
void syncer_free(struct node_syncer *s);

/* fdatasyncs made so far (for /metrics). */
uint64_t syncer_syncs(struct node_syncer *s);

#endif
