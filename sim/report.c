/*
 * report.c - the trace, its hash, and the reports of a run.
 *
 * The trace hash covers every trace line, every heap event run (time and
 * kind), every engine event (type and node), every envelope sealed (all of
 * its bytes) and every refusal: two runs agree on it only if they did the
 * same things in the same order with the same bytes. It is a chain of
 * SHA-256 over 64 KiB blocks (the crypto wrapper has no streaming API):
 * h = SHA-256(h || block), then SHA-256(h || rest) at the end.
 *
 * Reports (report.json; decisions.csv, propagation.csv, messages.csv,
 * staleness.csv) hold integers only, written in a fixed order: no
 * floating point, no wall clock, no pointer, so they are byte-identical
 * across runs of one seed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ptime.h"
#include "sim.h"

#define HBUF_MAX (64u * 1024u)
#define NOW_S(w) ((w)->sc->start + (w)->now_us / SIM_US_PER_S)

/* ---- hash and trace ---- */

static void
hash_block(struct sim_world *w)
{
	uint8_t in[CRY_SHA256_LEN + HBUF_MAX];

	memcpy(in, w->hash_state, CRY_SHA256_LEN);
	memcpy(in + CRY_SHA256_LEN, w->hbuf, w->hlen);
	(void)cry_sha256(in, CRY_SHA256_LEN + w->hlen, w->hash_state);
	w->hlen = 0;
}

void
sim_hash(struct sim_world *w, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t k;

	if (w->hbuf == NULL && (w->hbuf = malloc(HBUF_MAX)) == NULL)
		return;
	while (n > 0) {
		k = HBUF_MAX - w->hlen < n ? HBUF_MAX - w->hlen : n;
		memcpy(w->hbuf + w->hlen, b, k);
		w->hlen += k;
		b += k;
		n -= k;
		if (w->hlen == HBUF_MAX)
			hash_block(w);
	}
}

void
sim_hash_final(struct sim_world *w, char hex[2 * CRY_SHA256_LEN + 1])
{
	size_t i;

	if (w->hbuf != NULL)
		hash_block(w);
	for (i = 0; i < CRY_SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", w->hash_state[i]);
}

void
sim_trace(struct sim_world *w, const char *fmt, ...)
{
	char line[600];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	line[n++] = '\n';
	sim_hash(w, line, (size_t)n);
	if (w->trace != NULL)
		fwrite(line, 1, (size_t)n, w->trace);
	if (w->opt.trace_stdout)
		fwrite(line, 1, (size_t)n, stdout);
}

void
sim_debug(struct sim_world *w, const char *fmt, ...)
{
	char tb[32];
	va_list ap;

	if (!w->opt.debug)
		return;
	fprintf(stderr, "%s ", sim_fmt_time(w->now_us, tb, sizeof(tb)));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- metrics ---- */

void
sim_count_decision(struct sim_world *w, const struct proto_decision *d)
{
	struct sim_reason_count *r;
	size_t i, j;

	for (i = 0; i < d->nreasons; i++) {
		for (j = 0; j < w->nreasons; j++)
			if (strcmp(w->reasons[j].code, d->reasons[i].code) == 0)
				break;
		if (j == w->nreasons) {
			if (w->nreasons == w->capreasons) {
				size_t cap = w->capreasons == 0 ? 16 :
				    2 * w->capreasons;

				r = realloc(w->reasons, cap * sizeof(*r));
				if (r == NULL)
					return;
				w->reasons = r;
				w->capreasons = cap;
			}
			memset(&w->reasons[j], 0, sizeof(w->reasons[j]));
			snprintf(w->reasons[j].code, sizeof(w->reasons[j].code),
			    "%s", d->reasons[i].code);
			w->nreasons++;
		}
		w->reasons[j].n[d->verdict]++;
	}
}

void
sim_prop_sample(struct sim_world *w, int64_t us)
{
	int64_t *p;
	size_t cap;

	if (w->nprop == w->capprop) {
		cap = w->capprop == 0 ? 1024 : 2 * w->capprop;
		p = realloc(w->prop_us, cap * sizeof(*p));
		if (p == NULL)
			return;
		w->prop_us = p;
		w->capprop = cap;
	}
	w->prop_us[w->nprop++] = us;
	w->prop_sorted = false;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t
sim_prop_pct(struct sim_world *w, int permille)
{
	size_t k;

	if (w->nprop == 0)
		return 0;
	if (!w->prop_sorted) {
		qsort(w->prop_us, w->nprop, sizeof(*w->prop_us), cmp_i64);
		w->prop_sorted = true;
	}
	/* nearest rank: the smallest sample with at least permille/1000 of
	 * the samples at or below it */
	k = (w->nprop * (size_t)permille + 999) / 1000;
	if (k == 0)
		k = 1;
	return w->prop_us[k - 1];
}

/* The worst status age (s) at node n over what it holds of the issuers
 * it trusts; -1 when it holds none of them, -2 when down. */
static int64_t
worst_age(struct sim_world *w, const struct sim_node *n)
{
	const struct sim_node *is;
	struct proto_status_info info;
	int64_t worst = -1, age;
	size_t i, k;

	if (!n->up)
		return -2;
	for (i = 0; i < w->nnodes; i++) {
		is = &w->nodes[i];
		if (is->conf->role != ENG_ROLE_ISSUER || is == n ||
		    !sim_trusts_root(n, is->root))
			continue;
		for (k = 0; k < is->store.nlists; k++) {
			if (proto_trust_status_info(eng_trust(n->eng),
			    is->conf->id, is->store.lists[k].sl.c.sub,
			    &info) != 0 || !info.has_list)
				continue;
			age = NOW_S(w) - info.fresh_at;
			if (age > worst)
				worst = age;
		}
	}
	return worst;
}

void
sim_sample(struct sim_world *w)
{
	size_t i;

	if (w->nsamples >= SIM_SAMPLES_MAX)
		return;
	if (w->stale == NULL) {
		w->stale = calloc(SIM_SAMPLES_MAX * w->nnodes,
		    sizeof(*w->stale));
		if (w->stale == NULL)
			return;
	}
	w->sample_us[w->nsamples] = w->now_us;
	for (i = 0; i < w->nnodes; i++)
		w->stale[w->nsamples * w->nnodes + i] = worst_age(w,
		    &w->nodes[i]);
	w->nsamples++;
}

/* ---- files ---- */

static FILE *
open_out(const char *dir, const char *name, struct mrx_diag *diag)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, "",
		    "cannot write %s: %s", path, strerror(errno));
	return f;
}

static int
close_out(FILE *f, const char *name, struct mrx_diag *diag)
{
	if (ferror(f) != 0 || fclose(f) != 0)
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, "",
		    "cannot write %s", name);
	return 0;
}

/* JSON string: the texts here are ids, codes and our own sentences. */
static void
jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void
json_traffic(FILE *f, const uint64_t *cnt, const uint64_t *bytes)
{
	int t, first = 1;

	fputc('{', f);
	for (t = 1; t < PROTO_MSG_COUNT; t++) {
		if (cnt[t] == 0)
			continue;
		fprintf(f, "%s\"%s\": {\"count\": %llu, \"bytes\": %llu}",
		    first ? "" : ", ", proto_msg_type_name(t),
		    (unsigned long long)cnt[t], (unsigned long long)bytes[t]);
		first = 0;
	}
	fputc('}', f);
}

/* What the node's engine counted since it last started. */
static void
json_engine(FILE *f, const struct sim_node *n)
{
	struct eng_stats st;
	int r, first = 1;

	if (n->eng == NULL) {
		fprintf(f, "\"engine\": null");
		return;
	}
	eng_stats_get(n->eng, &st);
	fprintf(f, "\"engine\": {\"feed_lists\": %llu, \"feed_deltas\": %llu, "
	    "\"feed_checkpoints\": %llu, \"feed_duplicates\": %llu, "
	    "\"feed_stale\": %llu, \"feed_buffered\": %llu, "
	    "\"feed_catchups\": %llu, \"feed_equivocations\": %llu, "
	    "\"alerts\": %llu, \"feed_refused\": {",
	    (unsigned long long)st.feed_lists,
	    (unsigned long long)st.feed_deltas,
	    (unsigned long long)st.feed_checkpoints,
	    (unsigned long long)st.feed_duplicates,
	    (unsigned long long)st.feed_stale,
	    (unsigned long long)st.feed_buffered,
	    (unsigned long long)st.feed_catchups,
	    (unsigned long long)st.feed_equivocations,
	    (unsigned long long)st.alerts);
	for (r = 0; r < ENG_FEED_WHY_COUNT; r++) {
		if (st.feed_refused[r] == 0)
			continue;
		fprintf(f, "%s\"%s\": %llu", first ? "" : ", ",
		    eng_feed_why_name(r), (unsigned long long)st.feed_refused[r]);
		first = 0;
	}
	fprintf(f, "}}");
}

static void
json_node(FILE *f, const struct sim_node *n)
{
	int r, first = 1;

	fprintf(f, "    {\"node\": ");
	jstr(f, n->conf->id);
	fprintf(f, ", \"role\": \"%s\", \"sent\": ", eng_role_name(
	    n->conf->role));
	json_traffic(f, n->tr.sent, n->tr.sent_bytes);
	fprintf(f, ", \"received\": ");
	json_traffic(f, n->tr.recv, n->tr.recv_bytes);
	fprintf(f, ", \"refused\": {");
	for (r = 1; r < PROTO_REFUSE_COUNT; r++) {
		if (n->tr.refused[r] == 0)
			continue;
		fprintf(f, "%s\"%s\": %llu", first ? "" : ", ",
		    proto_refusal_name(r), (unsigned long long)n->tr.refused[r]);
		first = 0;
	}
	fprintf(f, "}, ");
	json_engine(f, n);
	fprintf(f, ", \"dropped_down\": %llu, \"decisions\": {\"accept\": "
	    "%llu, \"reject\": %llu, \"indeterminate\": %llu}, "
	    "\"catchups_served\": %llu, \"store_commits\": %llu}",
	    (unsigned long long)n->tr.dropped,
	    (unsigned long long)n->decisions[0],
	    (unsigned long long)n->decisions[1],
	    (unsigned long long)n->decisions[2],
	    (unsigned long long)n->catchups_served,
	    (unsigned long long)n->store.commits);
}

static int
write_json(struct sim_world *w, const char *dir, const char *hash,
    struct mrx_diag *diag)
{
	FILE *f = open_out(dir, "report.json", diag);
	char tb[PROTO_TIME_STR];
	size_t i;

	if (f == NULL)
		return MRX_EIO;
	fprintf(f, "{\n  \"scenario\": ");
	jstr(f, w->sc->name);
	fprintf(f, ",\n  \"file\": ");
	jstr(f, w->sc->file);
	fprintf(f, ",\n  \"seed\": %llu,\n  \"start\": \"%s\",\n"
	    "  \"simulated_us\": %lld,\n  \"events\": %llu,\n"
	    "  \"engine_events\": %llu,\n  \"nodes\": %zu,\n  \"people\": %zu,"
	    "\n  \"credentials\": %zu,\n", (unsigned long long)w->opt.seed,
	    proto_time_format(w->sc->start, tb, sizeof(tb)),
	    (long long)w->now_us, (unsigned long long)w->st.events,
	    (unsigned long long)w->st.engine_events, w->nnodes, w->npeople,
	    w->ncreds);
	fprintf(f, "  \"expectations\": {\"total\": %zu, \"failed\": %zu},\n",
	    w->nexpects, w->failed);
	fprintf(f, "  \"invariants\": {\"violated\": %s, \"first\": ",
	    w->violated ? "true" : "false");
	jstr(f, w->violation);
	fprintf(f, "},\n  \"decisions\": {\"accept\": %llu, \"reject\": %llu, "
	    "\"indeterminate\": %llu, \"by_reason\": [",
	    (unsigned long long)w->st.decisions[0],
	    (unsigned long long)w->st.decisions[1],
	    (unsigned long long)w->st.decisions[2]);
	for (i = 0; i < w->nreasons; i++) {
		fprintf(f, "%s\n    {\"code\": ", i ? "," : "");
		jstr(f, w->reasons[i].code);
		fprintf(f, ", \"accept\": %llu, \"reject\": %llu, "
		    "\"indeterminate\": %llu}",
		    (unsigned long long)w->reasons[i].n[0],
		    (unsigned long long)w->reasons[i].n[1],
		    (unsigned long long)w->reasons[i].n[2]);
	}
	fprintf(f, "]},\n  \"propagation\": {\"samples\": %zu, \"p50_us\": "
	    "%lld, \"p90_us\": %lld, \"p99_us\": %lld, \"max_us\": %lld},\n",
	    w->nprop, (long long)sim_prop_pct(w, 500),
	    (long long)sim_prop_pct(w, 900), (long long)sim_prop_pct(w, 990),
	    (long long)sim_prop_pct(w, 1000));
	fprintf(f, "  \"faults\": {\"lost\": %llu, \"duplicated\": %llu, "
	    "\"reordered\": %llu, \"cut\": %llu, \"crashes\": %llu, "
	    "\"restarts\": %llu, \"transactions_lost\": %llu, \"forged\": "
	    "%llu, \"replays\": %llu, \"equivocations_detected\": %llu},\n",
	    (unsigned long long)w->net.lost,
	    (unsigned long long)w->net.duplicated,
	    (unsigned long long)w->net.reordered,
	    (unsigned long long)w->net.cut, (unsigned long long)w->st.crashes,
	    (unsigned long long)w->st.restarts,
	    (unsigned long long)w->st.txns_lost,
	    (unsigned long long)w->st.forged,
	    (unsigned long long)w->st.replays,
	    (unsigned long long)w->st.equivocations);
	fprintf(f, "  \"work\": {\"envelopes_sealed\": %llu, "
	    "\"envelope_signatures_verified\": %llu, "
	    "\"record_signatures_verified\": %llu, \"records_known_good\": "
	    "%llu, \"envelope_checks_known\": %llu, \"catchups_asked\": "
	    "%llu, \"fast_forwards\": %llu},\n",
	    (unsigned long long)w->st.seals,
	    (unsigned long long)w->st.peer_checks,
	    (unsigned long long)w->st.record_verifies,
	    (unsigned long long)w->st.vmemo_hits,
	    (unsigned long long)w->st.ememo_hits,
	    (unsigned long long)w->st.catchups,
	    (unsigned long long)w->st.fast_forwards);
	fprintf(f, "  \"messages\": {\"delivered\": %llu, \"bytes\": %llu, "
	    "\"per_node\": [\n", (unsigned long long)w->st.messages,
	    (unsigned long long)w->st.bytes);
	for (i = 0; i < w->nnodes; i++) {
		json_node(f, &w->nodes[i]);
		fprintf(f, "%s\n", i + 1 < w->nnodes ? "," : "");
	}
	fprintf(f, "  ]},\n  \"trace_hash\": \"%s\"\n}\n", hash);
	return close_out(f, "report.json", diag);
}

static int
write_csvs(struct sim_world *w, const char *dir, struct mrx_diag *diag)
{
	FILE *f;
	size_t i, j;
	int t, rc;

	if ((f = open_out(dir, "decisions.csv", diag)) == NULL)
		return MRX_EIO;
	fprintf(f, "code,accept,reject,indeterminate\n");
	for (i = 0; i < w->nreasons; i++)
		fprintf(f, "%s,%llu,%llu,%llu\n", w->reasons[i].code,
		    (unsigned long long)w->reasons[i].n[0],
		    (unsigned long long)w->reasons[i].n[1],
		    (unsigned long long)w->reasons[i].n[2]);
	if ((rc = close_out(f, "decisions.csv", diag)) != 0)
		return rc;
	if ((f = open_out(dir, "propagation.csv", diag)) == NULL)
		return MRX_EIO;
	(void)sim_prop_pct(w, 500);	/* sorts */
	fprintf(f, "latency_us\n");
	for (i = 0; i < w->nprop; i++)
		fprintf(f, "%lld\n", (long long)w->prop_us[i]);
	if ((rc = close_out(f, "propagation.csv", diag)) != 0)
		return rc;
	if ((f = open_out(dir, "messages.csv", diag)) == NULL)
		return MRX_EIO;
	fprintf(f, "node,direction,type,count,bytes\n");
	for (i = 0; i < w->nnodes; i++)
		for (t = 1; t < PROTO_MSG_COUNT; t++) {
			const struct sim_traffic *tr = &w->nodes[i].tr;

			if (tr->sent[t] != 0)
				fprintf(f, "%s,sent,%s,%llu,%llu\n",
				    w->nodes[i].conf->id, proto_msg_type_name(t),
				    (unsigned long long)tr->sent[t],
				    (unsigned long long)tr->sent_bytes[t]);
			if (tr->recv[t] != 0)
				fprintf(f, "%s,received,%s,%llu,%llu\n",
				    w->nodes[i].conf->id, proto_msg_type_name(t),
				    (unsigned long long)tr->recv[t],
				    (unsigned long long)tr->recv_bytes[t]);
		}
	if ((rc = close_out(f, "messages.csv", diag)) != 0)
		return rc;
	if ((f = open_out(dir, "staleness.csv", diag)) == NULL)
		return MRX_EIO;
	fprintf(f, "time_us,node,worst_status_age_s\n");
	for (i = 0; w->stale != NULL && i < w->nsamples; i++)
		for (j = 0; j < w->nnodes; j++)
			fprintf(f, "%lld,%s,%lld\n", (long long)w->sample_us[i],
			    w->nodes[j].conf->id,
			    (long long)w->stale[i * w->nnodes + j]);
	return close_out(f, "staleness.csv", diag);
}

int
sim_report_write(struct sim_world *w, const char *dir, struct mrx_diag *diag)
{
	char hash[2 * CRY_SHA256_LEN + 1];
	int rc;

	memcpy(hash, w->final_hash, sizeof(hash));
	rc = write_json(w, dir, hash, diag);
	if (rc == 0)
		rc = write_csvs(w, dir, diag);
	if (rc == 0)
		rc = sim_svg_write(w, dir, diag);
	return rc;
}

static const char *
ms(int64_t us, char *buf, size_t cap)
{
	snprintf(buf, cap, "%lld.%03lld ms", (long long)(us / 1000),
	    (long long)(us % 1000));
	return buf;
}

void
sim_report_summary(struct sim_world *w, FILE *f)
{
	char a[32], b[32], c[32], d[32], t[32];

	fprintf(f, "scenario %s (%s), seed %llu\n", w->sc->name, w->sc->file,
	    (unsigned long long)w->opt.seed);
	fprintf(f, "nodes %zu, people %zu, credentials %zu; simulated %ss, "
	    "%llu events (%llu engine events)\n", w->nnodes, w->npeople,
	    w->ncreds, sim_fmt_time(w->now_us, t, sizeof(t)),
	    (unsigned long long)w->st.events,
	    (unsigned long long)w->st.engine_events);
	fprintf(f, "decisions: accept %llu, reject %llu, indeterminate %llu\n",
	    (unsigned long long)w->st.decisions[0],
	    (unsigned long long)w->st.decisions[1],
	    (unsigned long long)w->st.decisions[2]);
	fprintf(f, "revocation propagation: %zu samples, p50 %s, p90 %s, "
	    "p99 %s, max %s\n", w->nprop, ms(sim_prop_pct(w, 500), a,
	    sizeof(a)), ms(sim_prop_pct(w, 900), b, sizeof(b)),
	    ms(sim_prop_pct(w, 990), c, sizeof(c)),
	    ms(sim_prop_pct(w, 1000), d, sizeof(d)));
	fprintf(f, "messages: %llu delivered (%llu bytes); lost %llu, "
	    "duplicated %llu, cut by partitions %llu; equivocations detected "
	    "%llu\n", (unsigned long long)w->st.messages,
	    (unsigned long long)w->st.bytes, (unsigned long long)w->net.lost,
	    (unsigned long long)w->net.duplicated,
	    (unsigned long long)w->net.cut,
	    (unsigned long long)w->st.equivocations);
	fprintf(f, "expectations: %zu, failed %zu\n", w->nexpects, w->failed);
	fprintf(f, "invariants: %s\n", w->violated ? w->violation : "held");
}
