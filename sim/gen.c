/*
 * gen.c - generated federations (federation: in a scenario, and the
 * swarm's random ones): countries with a root, issuers and operators,
 * and agreements between the roots.
 *
 * The structure is a function of the parameters alone (never of the
 * seed), so a scenario's events may name generated nodes: "jp.root",
 * "jp.issuer" (or jp.issuer1, jp.issuer2 ... when a country has several),
 * "jp.op1" ... Countries come in a fixed order: jp, us, uk, nato, de, fr,
 * it, ca; the last four issue NATO levels (national security authorities
 * issue NATO clearances). A mesh has an agreement between every two roots
 * whose schemes differ, mapping the levels of equal rank both ways; every
 * node then trusts every root.
 */
#include <stdio.h>
#include <string.h>

#include "level.h"
#include "scenario.h"

struct country {
	const char *cc;		/* id prefix */
	const char *jur;	/* jurisdiction */
	const char *levels[4];	/* what its issuers may issue */
};

static const struct country countries[SIM_COUNTRIES_MAX] = {
	{ "jp", "JP", { "JP-CESI:CONFIDENTIAL", "JP-SDS:SECRET",
	    "JP-SDS:TOP-SECRET", NULL } },
	{ "us", "US", { "US:CONFIDENTIAL", "US:SECRET", "US:TOP-SECRET",
	    NULL } },
	{ "uk", "UK", { "UK:SC", "UK:DV", NULL, NULL } },
	{ "nato", "NATO", { "NATO:NC", "NATO:NS", "NATO:CTS", NULL } },
	{ "de", "DE", { "NATO:NC", "NATO:NS", "NATO:CTS", NULL } },
	{ "fr", "FR", { "NATO:NC", "NATO:NS", "NATO:CTS", NULL } },
	{ "it", "IT", { "NATO:NC", "NATO:NS", "NATO:CTS", NULL } },
	{ "ca", "CA", { "NATO:NC", "NATO:NS", "NATO:CTS", NULL } },
};

/* What a failed add_node() returns to the caller: the diag's code. */
static int
fail_code(const struct mrx_diag *diag)
{
	return diag != NULL && diag->code != 0 ? diag->code : MRX_ERANGE;
}

static struct sim_node_conf *
add_node(struct sim_scenario *sc, struct mrx_diag *diag, const char *id,
    enum eng_role role, const char *jur, const char *parent)
{
	struct sim_node_conf *n;

	if (sc->nnodes >= SIM_NODES_MAX) {
		mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET, "",
		    "%s:%d: federation: more than %d nodes", sc->file,
		    sc->fed.line, SIM_NODES_MAX);
		return NULL;
	}
	if (sim_scenario_node(sc, id) != SIZE_MAX) {
		mrx_diag_set(diag, MRX_EDUP, MRX_DIAG_NO_OFFSET, "",
		    "%s:%d: federation: node '%s' is also listed under nodes:",
		    sc->file, sc->fed.line, id);
		return NULL;
	}
	if (sim_scenario_reserve(sc, sc->nnodes + 1, 0, 0, diag) != 0)
		return NULL;
	n = &sc->nodes[sc->nnodes++];
	memset(n, 0, sizeof(*n));
	snprintf(n->id, sizeof(n->id), "%s", id);
	n->role = role;
	snprintf(n->jur, sizeof(n->jur), "%s", jur);
	snprintf(n->parent, sizeof(n->parent), "%s", parent);
	n->max_status_age_s = -1;
	n->require_operator_cert = -1;
	n->line = sc->fed.line;
	return n;
}

static void
levels_of(const struct country *c, struct proto_strs *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < 4 && c->levels[i] != NULL; i++)
		snprintf(out->v[out->n++], sizeof(out->v[0]), "%s",
		    c->levels[i]);
}

static void
issuer_id(const struct country *c, uint32_t k, uint32_t nissuers, char *buf,
    size_t cap)
{
	if (nissuers == 1)
		snprintf(buf, cap, "%s.issuer", c->cc);
	else
		snprintf(buf, cap, "%s.issuer%u", c->cc, k + 1);
}

static int
add_country(struct sim_scenario *sc, struct mrx_diag *diag, uint32_t ci,
    uint32_t nops)
{
	const struct country *c = &countries[ci];
	const struct sim_federation *f = &sc->fed;
	struct sim_node_conf *n;
	char root[PROTO_ID_MAX + 1], id[PROTO_ID_MAX + 1];
	uint32_t k;

	snprintf(root, sizeof(root), "%s.root", c->cc);
	if (add_node(sc, diag, root, ENG_ROLE_ROOT, c->jur, "") == NULL)
		return fail_code(diag);
	for (k = 0; k < f->issuers; k++) {
		issuer_id(c, k, f->issuers, id, sizeof(id));
		n = add_node(sc, diag, id, ENG_ROLE_ISSUER, c->jur, root);
		if (n == NULL)
			return fail_code(diag);
		levels_of(c, &n->levels);
	}
	for (k = 0; k < nops; k++) {
		char parent[PROTO_ID_MAX + 1];

		issuer_id(c, k % f->issuers, f->issuers, parent,
		    sizeof(parent));
		snprintf(id, sizeof(id), "%s.op%u", c->cc, k + 1);
		n = add_node(sc, diag, id, ENG_ROLE_OPERATOR, c->jur, parent);
		if (n == NULL)
			return fail_code(diag);
		if (f->certify)
			levels_of(c, &n->certified);
	}
	return 0;
}

/* The rows between two countries: levels of equal rank, both ways. */
static void
mesh_rows(const struct country *a, const struct country *b,
    struct sim_agreement_conf *ag)
{
	const struct proto_level *la, *lb;
	size_t i, j;

	for (i = 0; i < 4 && a->levels[i] != NULL; i++)
		for (j = 0; j < 4 && b->levels[j] != NULL; j++) {
			la = proto_level_find(a->levels[i]);
			lb = proto_level_find(b->levels[j]);
			if (la->rank != lb->rank ||
			    strcmp(la->scheme, lb->scheme) == 0 ||
			    ag->nrows + 2 > PROTO_ROWS_MAX)
				continue;
			snprintf(ag->rows[ag->nrows].from, PROTO_LEVEL_MAX + 1,
			    "%s", lb->name);
			snprintf(ag->rows[ag->nrows++].to, PROTO_LEVEL_MAX + 1,
			    "%s", la->name);
			snprintf(ag->rows[ag->nrows].from, PROTO_LEVEL_MAX + 1,
			    "%s", la->name);
			snprintf(ag->rows[ag->nrows++].to, PROTO_LEVEL_MAX + 1,
			    "%s", lb->name);
		}
}

static int
add_mesh(struct sim_scenario *sc, struct mrx_diag *diag)
{
	struct sim_agreement_conf *ag;
	const struct country *a, *b;
	uint32_t i, j;

	for (i = 0; i < sc->fed.countries; i++)
		for (j = i + 1; j < sc->fed.countries; j++) {
			a = &countries[i];
			b = &countries[j];
			if (sc->nagreements >= SIM_AGREEMENTS_MAX)
				return mrx_diag_set(diag, MRX_ERANGE,
				    MRX_DIAG_NO_OFFSET, "", "%s:%d: federation: "
				    "more than %d agreements", sc->file,
				    sc->fed.line, SIM_AGREEMENTS_MAX);
			ag = &sc->agreements[sc->nagreements];
			memset(ag, 0, sizeof(*ag));
			mesh_rows(a, b, ag);
			if (ag->nrows == 0)
				continue;	/* one scheme: no rows needed */
			snprintf(ag->id, sizeof(ag->id), "%s-%s", a->cc, b->cc);
			snprintf(ag->parties[0], sizeof(ag->parties[0]),
			    "%s.root", a->cc);
			snprintf(ag->parties[1], sizeof(ag->parties[1]),
			    "%s.root", b->cc);
			ag->line = sc->fed.line;
			sc->nagreements++;
		}
	return 0;
}

int
sim_federation_generate(struct sim_scenario *sc, struct mrx_diag *diag)
{
	const struct sim_federation *f = &sc->fed;
	uint32_t ci, nops;
	int rc;

	for (ci = 0; ci < f->countries; ci++) {
		nops = f->operators / f->countries +
		    (ci < f->operators % f->countries ? 1 : 0);
		rc = add_country(sc, diag, ci, nops);
		if (rc != 0)
			return rc;
	}
	if (f->mesh) {
		sc->trust_all_roots = true;
		return add_mesh(sc, diag);
	}
	return 0;
}
