/*
 * svg.c - plots of a run, as plain SVG written by hand: the revocation
 * propagation latency CDF, decisions over time, and per-node staleness.
 *
 * Deterministic by construction: coordinates are integers computed with
 * integer arithmetic (values scaled to the plot area with 64-bit products),
 * colours and fonts are fixed, and nothing depends on the platform's float
 * formatting. A plot with no data says so rather than being left out, so
 * a run always writes the same three files.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define W_PX 720
#define H_PX 420
#define L_PX 70		/* left margin: y labels */
#define R_PX 20
#define T_PX 40		/* title */
#define B_PX 50		/* x labels */
#define PW (W_PX - L_PX - R_PX)
#define PH (H_PX - T_PX - B_PX)
#define BUCKETS 60
#define LINES_MAX 12	/* nodes drawn one by one; more: percentiles */

static const char *const colours[] = { "#1b9e77", "#d95f02", "#7570b3",
	"#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666", "#1f78b4",
	"#b2df8a", "#fb9a99", "#cab2d6" };

static FILE *
svg_open(const char *dir, const char *name, const char *title,
    struct mrx_diag *diag)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL) {
		mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, "",
		    "cannot write %s: %s", path, strerror(errno));
		return NULL;
	}
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
	    "font-size=\"12\">\n<rect width=\"%d\" height=\"%d\" "
	    "fill=\"white\"/>\n<text x=\"%d\" y=\"24\" font-size=\"15\" "
	    "text-anchor=\"middle\">%s</text>\n", W_PX, H_PX, W_PX, H_PX,
	    W_PX, H_PX, W_PX / 2, title);
	return f;
}

static int
svg_close(FILE *f, const char *name, struct mrx_diag *diag)
{
	fprintf(f, "</svg>\n");
	if (ferror(f) != 0 || fclose(f) != 0)
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, "",
		    "cannot write %s", name);
	return 0;
}

/* A value 0..max onto pixels 0..span. */
static long long
scale(int64_t v, int64_t max, int span)
{
	if (max <= 0)
		return 0;
	if (v < 0)
		v = 0;
	if (v > max)
		v = max;
	while (max > INT64_MAX / 4096) {	/* keep v * span in range */
		v >>= 12;
		max >>= 12;
	}
	return max > 0 ? (long long)(v * span / max) : 0;
}

/* A round axis maximum at or above v (1, 2, 5 x 10^k). */
static int64_t
nice(int64_t v)
{
	int64_t m = 1;

	if (v <= 0)
		return 1;
	for (;;) {
		if (v <= m)
			return m;
		if (v <= 2 * m)
			return 2 * m;
		if (v <= 5 * m)
			return 5 * m;
		m *= 10;
	}
}

/* Axes, grid and tick labels; labels are integers with a unit. */
static void
axes(FILE *f, int64_t xmax, const char *xunit, int64_t ymax,
    const char *yunit, const char *xlabel, const char *ylabel)
{
	int i;

	fprintf(f, "<g stroke=\"#dddddd\">\n");
	for (i = 0; i <= 5; i++)
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
		    L_PX, T_PX + PH - i * PH / 5, L_PX + PW,
		    T_PX + PH - i * PH / 5);
	fprintf(f, "</g>\n<g stroke=\"black\"><line x1=\"%d\" y1=\"%d\" "
	    "x2=\"%d\" y2=\"%d\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" "
	    "y2=\"%d\"/></g>\n", L_PX, T_PX, L_PX, T_PX + PH, L_PX,
	    T_PX + PH, L_PX + PW, T_PX + PH);
	for (i = 0; i <= 5; i++) {
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%lld%s"
		    "</text>\n", L_PX - 6, T_PX + PH - i * PH / 5 + 4,
		    (long long)(ymax * i / 5), yunit);
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
		    "%lld%s</text>\n", L_PX + i * PW / 5, T_PX + PH + 18,
		    (long long)(xmax * i / 5), xunit);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n"
	    "<text x=\"16\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate("
	    "-90 16 %d)\">%s</text>\n", L_PX + PW / 2, H_PX - 10, xlabel,
	    T_PX + PH / 2, T_PX + PH / 2, ylabel);
}

static void
no_data(FILE *f, const char *what)
{
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
	    "fill=\"#888888\">%s</text>\n", W_PX / 2, H_PX / 2, what);
}

static void
legend(FILE *f, int i, const char *colour, const char *label)
{
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" "
	    "fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n", L_PX + PW - 150,
	    T_PX + 8 + 16 * i, colour, L_PX + PW - 135, T_PX + 17 + 16 * i,
	    label);
}

/* ---- propagation CDF ---- */

static int
plot_cdf(struct sim_world *w, const char *dir, struct mrx_diag *diag)
{
	FILE *f = svg_open(dir, "propagation_cdf.svg", "Revocation propagation "
	    "latency (CDF over every revocation and node that follows it)",
	    diag);
	int64_t xmax, ms;
	long long x, y;
	size_t i, step;

	if (f == NULL)
		return MRX_EIO;
	(void)sim_prop_pct(w, 500);	/* sorts */
	ms = w->nprop > 0 ? (w->prop_us[w->nprop - 1] + 999) / 1000 : 1;
	xmax = nice(ms);
	axes(f, xmax, " ms", 100, "%", "latency (simulated ms)",
	    "share of deliveries at or below");
	if (w->nprop == 0) {
		no_data(f, "no revocation in this run");
		return svg_close(f, "propagation_cdf.svg", diag);
	}
	/* a step function: right at the old share, then up */
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
	    "points=\"%d,%d", colours[0], L_PX, T_PX + PH);
	step = w->nprop > 800 ? w->nprop / 800 : 1;
	y = T_PX + PH;
	for (i = 0; i < w->nprop; i += step) {
		x = L_PX + scale(w->prop_us[i], xmax * 1000, PW);
		fprintf(f, " %lld,%lld", x, y);
		y = T_PX + PH - scale((int64_t)(i + step < w->nprop ? i + step :
		    w->nprop), (int64_t)w->nprop, PH);
		fprintf(f, " %lld,%lld", x, y);
	}
	fprintf(f, " %d,%d\"/>\n", L_PX + PW, T_PX);
	/* the percentiles the report gives, as dashed markers */
	for (i = 0; i < 3; i++) {
		static const int pm[3] = { 500, 900, 990 };
		static const char *const nm[3] = { "p50", "p90", "p99" };

		x = L_PX + scale(sim_prop_pct(w, pm[i]), xmax * 1000, PW);
		fprintf(f, "<line x1=\"%lld\" y1=\"%d\" x2=\"%lld\" y2=\"%d\" "
		    "stroke=\"%s\" stroke-dasharray=\"4 3\"/><text x=\"%lld\" "
		    "y=\"%d\" font-size=\"10\">%s</text>\n", x, T_PX, x,
		    T_PX + PH, colours[1], x + 3, T_PX + PH - 6 - 12 * (int)i,
		    nm[i]);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\">p50 %lld us, p99 %lld us, max "
	    "%lld us (%zu samples)</text>\n", L_PX + 10, T_PX + 16,
	    (long long)sim_prop_pct(w, 500), (long long)sim_prop_pct(w, 990),
	    (long long)sim_prop_pct(w, 1000), w->nprop);
	return svg_close(f, "propagation_cdf.svg", diag);
}

/* ---- decisions over time ---- */

static int
plot_decisions(struct sim_world *w, const char *dir, struct mrx_diag *diag)
{
	static const char *const names[3] = { "accept", "reject",
		"indeterminate" };
	static const char *const cols[3] = { "#1b9e77", "#d95f02",
		"#7570b3" };
	FILE *f = svg_open(dir, "decisions.svg", "Decisions over time", diag);
	uint64_t cnt[BUCKETS][3], top = 0, y;
	int64_t span = w->now_us > 0 ? w->now_us : 1, ymax;
	size_t i, b;
	int v;

	if (f == NULL)
		return MRX_EIO;
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < w->ndlog; i++) {
		b = (size_t)scale(w->dlog[i].us, span, BUCKETS - 1);
		cnt[b][w->dlog[i].verdict]++;
	}
	for (b = 0; b < BUCKETS; b++)
		if (cnt[b][0] + cnt[b][1] + cnt[b][2] > top)
			top = cnt[b][0] + cnt[b][1] + cnt[b][2];
	ymax = nice((int64_t)top);
	axes(f, (span + SIM_US_PER_S - 1) / SIM_US_PER_S, " s", ymax, "",
	    "simulated time", "decisions per interval");
	if (w->ndlog == 0)
		no_data(f, "no decision in this run");
	for (b = 0; b < BUCKETS; b++) {
		y = 0;
		for (v = 0; v < 3; v++) {
			long long h = scale((int64_t)cnt[b][v], ymax, PH);

			if (h == 0) {
				y += cnt[b][v];
				continue;
			}
			fprintf(f, "<rect x=\"%d\" y=\"%lld\" width=\"%d\" "
			    "height=\"%lld\" fill=\"%s\"/>\n", L_PX +
			    (int)b * PW / BUCKETS + 1, T_PX + PH -
			    scale((int64_t)(y + cnt[b][v]), ymax, PH),
			    PW / BUCKETS - 2, h, cols[v]);
			y += cnt[b][v];
		}
	}
	for (v = 0; v < 3; v++)
		legend(f, v, cols[v], names[v]);
	return svg_close(f, "decisions.svg", diag);
}

/* ---- staleness ---- */

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Series s of the staleness plot at sample i: a node, or a percentile
 * over the nodes that hold something (p50, p90, max). */
static int64_t
stale_value(struct sim_world *w, size_t s, size_t i, int64_t *tmp)
{
	const int64_t *row = &w->stale[i * w->nnodes];
	size_t j, n = 0;
	static const int pm[3] = { 500, 900, 1000 };

	if (w->nnodes <= LINES_MAX)
		return row[s];
	for (j = 0; j < w->nnodes; j++)
		if (row[j] >= 0)
			tmp[n++] = row[j];
	if (n == 0)
		return -1;
	qsort(tmp, n, sizeof(*tmp), cmp_i64);
	j = (n * (size_t)pm[s] + 999) / 1000;
	return tmp[j > 0 ? j - 1 : 0];
}

static int
plot_staleness(struct sim_world *w, const char *dir, struct mrx_diag *diag)
{
	static const char *const pct[3] = { "p50 over nodes", "p90 over nodes",
		"max over nodes" };
	FILE *f = svg_open(dir, "staleness.svg", "Status age per node (worst "
	    "list a node holds; gaps: nothing held or down)", diag);
	size_t nser = w->nnodes <= LINES_MAX ? w->nnodes : 3, s, i;
	int64_t *tmp = calloc(w->nnodes + 1, sizeof(*tmp)), v, top = 1, ymax;
	int64_t span = w->now_us > 0 ? w->now_us : 1;
	bool open;

	if (f == NULL || tmp == NULL) {
		if (f != NULL)
			fclose(f);
		free(tmp);
		return f == NULL ? MRX_EIO : MRX_ENOMEM;
	}
	for (s = 0; w->stale != NULL && s < nser; s++)
		for (i = 0; i < w->nsamples; i++)
			if ((v = stale_value(w, s, i, tmp)) > top)
				top = v;
	ymax = nice(top);
	axes(f, (span + SIM_US_PER_S - 1) / SIM_US_PER_S, " s", ymax, " s",
	    "simulated time", "status age (s)");
	if (w->stale == NULL || w->nsamples == 0)
		no_data(f, "no sample");
	for (s = 0; w->stale != NULL && s < nser; s++) {
		open = false;
		for (i = 0; i < w->nsamples; i++) {
			v = stale_value(w, s, i, tmp);
			if (v < 0) {
				if (open)
					fprintf(f, "\"/>\n");
				open = false;
				continue;
			}
			if (!open)
				fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" "
				    "stroke-width=\"1.5\" points=\"",
				    colours[s % 12]);
			fprintf(f, "%s%lld,%lld", open ? " " : "",
			    L_PX + scale(w->sample_us[i], span, PW),
			    T_PX + PH - scale(v, ymax, PH));
			open = true;
		}
		if (open)
			fprintf(f, "\"/>\n");
		legend(f, (int)s, colours[s % 12], w->nnodes <= LINES_MAX ?
		    w->nodes[s].conf->id : pct[s]);
	}
	free(tmp);
	return svg_close(f, "staleness.svg", diag);
}

int
sim_svg_write(struct sim_world *w, const char *dir, struct mrx_diag *diag)
{
	int rc = plot_cdf(w, dir, diag);

	if (rc == 0)
		rc = plot_decisions(w, dir, diag);
	if (rc == 0)
		rc = plot_staleness(w, dir, diag);
	return rc;
}
