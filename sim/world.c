/*
 * world.c - building a federation from a scenario: keys from the seed,
 * the roots' delegations and agreements signed with the real record
 * encoders, each node's trust store (decide.h), its engine, its peers and
 * subscribers, the population, and the first events on the clock.
 *
 * Who trusts whom: a node trusts its own root and the roots its root has
 * an agreement with (every root in a generated mesh). Who hears whom: a
 * node subscribes to its parent's feed, a root to its issuers' feeds, and
 * two roots with an agreement to each other's. Authorities relay what they hear to their
 * own subscribers (node.c), so an operator hears its issuer, its root and
 * the partner roots' issuers through one parent.
 *
 * Keys: every node's Ed25519 key is derived from SHA-256("mrx-sim key" ||
 * seed || node id): the same seed gives the same keys, so the same
 * signatures and the same bytes. The attacker's key is derived the same
 * way from the name "attacker" and is delegated by no one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "level.h"
#include "ptime.h"
#include "sim.h"

#define YEAR_S (365LL * 86400)

/* ---- lookups ---- */

/* Nodes by id: w->by_id is an open-addressing table of indices + 1,
 * hashed with FNV-1a (built once; ids are unique). */
static size_t
id_hash(const char *id)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * UINT64_C(0x100000001b3);
	return (size_t)(h ^ (h >> 32));
}

uint32_t
sim_node_find(const struct sim_world *w, const char *id)
{
	size_t j;
	uint32_t v;

	if (w->by_id == NULL) {	/* during setup: scan */
		for (j = 0; j < w->nnodes; j++)
			if (strcmp(w->sc->nodes[j].id, id) == 0)
				return (uint32_t)j;
		return SIM_NONE;
	}
	for (j = id_hash(id) & (w->id_slots - 1); (v = w->by_id[j]) != 0;
	    j = (j + 1) & (w->id_slots - 1))
		if (strcmp(w->sc->nodes[v - 1].id, id) == 0)
			return v - 1;
	return SIM_NONE;
}

static int
index_ids(struct sim_world *w)
{
	size_t i, j;

	for (w->id_slots = 16; w->id_slots < 2 * w->nnodes;)
		w->id_slots *= 2;
	w->by_id = calloc(w->id_slots, sizeof(*w->by_id));
	if (w->by_id == NULL)
		return MRX_ENOMEM;
	for (i = 0; i < w->nnodes; i++) {
		for (j = id_hash(w->sc->nodes[i].id) & (w->id_slots - 1);
		    w->by_id[j] != 0; j = (j + 1) & (w->id_slots - 1))
			;
		w->by_id[j] = (uint32_t)i + 1;
	}
	return 0;
}

uint32_t
sim_person_find(const struct sim_world *w, const char *label)
{
	size_t i;

	for (i = 0; i < w->sc->npeople && i < w->npeople; i++)
		if (strcmp(w->people[i].label, label) == 0)
			return (uint32_t)i;
	return SIM_NONE;
}

uint32_t
sim_cred_find(const struct sim_world *w, const char *label)
{
	size_t i;

	for (i = w->ncreds; i > 0; i--)
		if (strcmp(w->creds[i - 1].label, label) == 0)
			return (uint32_t)(i - 1);
	return SIM_NONE;
}

static int ref_put(struct sim_world *w, uint32_t issuer, const char *uri,
    uint32_t idx, uint32_t v);

static uint64_t
cti_key(const uint8_t *cti)
{
	uint64_t k = 0;
	int i;

	for (i = 0; i < 8; i++)
		k = (k << 8) | cti[i];
	return k ^ (k >> 31);
}

uint32_t
sim_cred_by_cti(const struct sim_world *w, const uint8_t *cti)
{
	size_t j;
	uint32_t v;

	if (w->cred_slots == 0)
		return SIM_NONE;
	j = (size_t)cti_key(cti) & (w->cred_slots - 1);
	while ((v = w->cred_ix[j]) != 0) {
		if (memcmp(w->creds[v - 1].cti, cti, PROTO_CTI_LEN) == 0)
			return v - 1;
		j = (j + 1) & (w->cred_slots - 1);
	}
	return SIM_NONE;
}

static int
cred_index_grow(struct sim_world *w)
{
	size_t n = w->cred_slots == 0 ? 1024 : 2 * w->cred_slots, i, j;
	uint32_t *ix = calloc(n, sizeof(*ix));

	if (ix == NULL)
		return MRX_ENOMEM;
	for (i = 0; i < w->ncreds; i++) {
		j = (size_t)cti_key(w->creds[i].cti) & (n - 1);
		while (ix[j] != 0)
			j = (j + 1) & (n - 1);
		ix[j] = (uint32_t)i + 1;
	}
	free(w->cred_ix);
	w->cred_ix = ix;
	w->cred_slots = n;
	return 0;
}

uint32_t
sim_cred_add(struct sim_world *w, const struct sim_cred *c,
    const uint8_t *bytes, size_t len)
{
	struct sim_cred *nc;
	size_t cap, j;

	if (w->ncreds == w->capcreds) {
		cap = w->capcreds == 0 ? 256 : 2 * w->capcreds;
		nc = realloc(w->creds, cap * sizeof(*nc));
		if (nc == NULL)
			return SIM_NONE;
		w->creds = nc;
		w->capcreds = cap;
	}
	if (2 * (w->ncreds + 1) > w->cred_slots && cred_index_grow(w) != 0)
		return SIM_NONE;
	nc = &w->creds[w->ncreds];
	*nc = *c;
	nc->bytes = malloc(len);
	if (nc->bytes == NULL)
		return SIM_NONE;
	memcpy(nc->bytes, bytes, len);
	nc->len = len;
	if (sim_cred_by_cti(w, c->cti) == SIM_NONE) {
		j = (size_t)cti_key(c->cti) & (w->cred_slots - 1);
		while (w->cred_ix[j] != 0)
			j = (j + 1) & (w->cred_slots - 1);
		w->cred_ix[j] = (uint32_t)w->ncreds + 1;
	}
	if (!c->forged && c->issuer != SIM_NONE && ref_put(w, c->issuer,
	    c->ref.uri, c->ref.idx, (uint32_t)w->ncreds) != 0)
		return SIM_NONE;
	return (uint32_t)w->ncreds++;
}

static uint64_t
ref_key(uint32_t issuer, const char *uri, uint32_t idx)
{
	const char *p = strrchr(uri, '/');
	uint64_t n = 0;

	for (p = p != NULL ? p + 1 : ""; *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (uint64_t)(*p - '0');
	return ((uint64_t)issuer << 40 | (n & 0xffff) << 24 | idx) + 1;
}

static size_t
ref_home(uint64_t k, size_t slots)
{
	return (size_t)((k * UINT64_C(0x9e3779b97f4a7c15)) >> 20) &
	    (slots - 1);
}

uint32_t
sim_cred_by_ref(const struct sim_world *w, uint32_t issuer, const char *uri,
    uint32_t idx)
{
	uint64_t k = ref_key(issuer, uri, idx);
	size_t j;

	if (w->ref_slots == 0)
		return SIM_NONE;
	for (j = ref_home(k, w->ref_slots); w->ref_keys[j] != 0;
	    j = (j + 1) & (w->ref_slots - 1))
		if (w->ref_keys[j] == k)
			return w->ref_vals[j];
	return SIM_NONE;
}

static void
ref_place(uint64_t *keys, uint32_t *vals, size_t slots, uint64_t k,
    uint32_t v)
{
	size_t j;

	for (j = ref_home(k, slots); keys[j] != 0 && keys[j] != k;
	    j = (j + 1) & (slots - 1))
		;
	keys[j] = k;
	vals[j] = v;
}

static int
ref_put(struct sim_world *w, uint32_t issuer, const char *uri, uint32_t idx,
    uint32_t v)
{
	uint64_t *nk;
	uint32_t *nv;
	size_t n, i;

	if (2 * (w->nref + 1) > w->ref_slots) {
		n = w->ref_slots == 0 ? 1024 : 2 * w->ref_slots;
		nk = calloc(n, sizeof(*nk));
		nv = calloc(n, sizeof(*nv));
		if (nk == NULL || nv == NULL) {
			free(nk);
			free(nv);
			return MRX_ENOMEM;
		}
		for (i = 0; i < w->ref_slots; i++)
			if (w->ref_keys[i] != 0)
				ref_place(nk, nv, n, w->ref_keys[i],
				    w->ref_vals[i]);
		free(w->ref_keys);
		free(w->ref_vals);
		w->ref_keys = nk;
		w->ref_vals = nv;
		w->ref_slots = n;
	}
	ref_place(w->ref_keys, w->ref_vals, w->ref_slots,
	    ref_key(issuer, uri, idx), v);
	w->nref++;
	return 0;
}

bool
sim_trusts_root(const struct sim_node *n, uint32_t r)
{
	size_t i;

	for (i = 0; i < n->nroots; i++)
		if (n->roots[i] == r)
			return true;
	return false;
}

/* ---- keys and records ---- */

static int
derive_key(uint64_t seed, const char *name, struct cry_key **out)
{
	uint8_t in[64], h[CRY_SHA256_LEN];
	size_t n = 0, k = strlen(name);
	int i;

	memcpy(in, "mrx-sim key", 11);
	n = 11;
	for (i = 0; i < 8; i++)
		in[n++] = (uint8_t)(seed >> (56 - 8 * i));
	if (k > sizeof(in) - n)
		k = sizeof(in) - n;
	memcpy(in + n, name, k);
	n += k;
	if (cry_sha256(in, n, h) != 0)
		return MRX_ECRYPTO;
	return cry_key_from_seed(h, out);
}

/* A public-only copy of a key (the trust store takes ownership). */
static struct cry_key *
public_copy(const struct cry_key *k)
{
	uint8_t spki[CRY_SPKI_MAX];
	struct cry_key *out = NULL;
	size_t len;

	if (cry_key_spki(k, spki, sizeof(spki), &len) != 0 ||
	    cry_key_from_spki(spki, len, &out, NULL) != 0)
		return NULL;
	return out;
}

static void
claims(struct sim_world *w, struct proto_claims *c, const char *iss,
    const char *sub, int64_t iat)
{
	snprintf(c->iss, sizeof(c->iss), "%s", iss);
	snprintf(c->sub, sizeof(c->sub), "%s", sub);
	c->iat = iat;
	sim_rng_bytes(&w->rng_fault, c->cti, PROTO_CTI_LEN);
}

static int
sign_record(const struct proto_record *r, const struct cry_key *k,
    uint8_t **out, size_t *len, struct mrx_diag *diag)
{
	uint8_t *buf = malloc(PROTO_RECORD_MAX);
	int rc;

	if (buf == NULL)
		return MRX_ENOMEM;
	rc = proto_record_sign(r, k, buf, PROTO_RECORD_MAX, len, diag);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

/* The delegation of issuer n by its root. */
static int
make_delegation(struct sim_world *w, struct sim_node *n,
    struct mrx_diag *diag)
{
	const struct sim_node *r = &w->nodes[n->root];
	struct proto_record rec;
	struct proto_delegation *d = &rec.u.del;
	int64_t t0 = w->sc->start;

	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_DELEGATION;
	claims(w, &d->c, r->conf->id, n->conf->id, t0 - YEAR_S);
	d->c.nbf = t0 - YEAR_S;
	if (proto_time_add_years(t0, 30, &d->c.exp) != 0)
		return MRX_ERANGE;
	d->c.has_nbf = d->c.has_exp = true;
	if (cry_key_spki(n->key, d->key, sizeof(d->key), &d->key_len) != 0)
		return MRX_ECRYPTO;
	d->levels = n->conf->levels;
	d->scopes = n->conf->scopes;
	return sign_record(&rec, r->key, &n->deleg, &n->deleg_len, diag);
}

static int
make_agreement(struct sim_world *w, size_t i, struct mrx_diag *diag)
{
	const struct sim_agreement_conf *a = &w->sc->agreements[i];
	struct proto_record rec;
	struct proto_agreement *g = &rec.u.agr;
	uint32_t p0 = sim_node_find(w, a->parties[0]);
	uint32_t p1 = sim_node_find(w, a->parties[1]);
	uint8_t *one, *two;
	size_t n1, n2;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_AGREEMENT;
	claims(w, &g->c, a->parties[0], a->id, w->sc->start - 86400);
	g->c.nbf = a->nbf;
	g->c.exp = a->exp;
	g->c.has_nbf = g->c.has_exp = true;
	snprintf(g->parties[0], sizeof(g->parties[0]), "%s", a->parties[0]);
	snprintf(g->parties[1], sizeof(g->parties[1]), "%s", a->parties[1]);
	g->rows = (struct proto_agreement_row *)a->rows;
	g->nrows = a->nrows;
	g->max_status_age_s = a->max_status_age_s;
	g->operator_cert_required = a->operator_cert_required;
	rc = sign_record(&rec, w->nodes[p0].key, &one, &n1, diag);
	if (rc != 0)
		return rc;
	two = malloc(PROTO_RECORD_MAX);
	if (two == NULL) {
		free(one);
		return MRX_ENOMEM;
	}
	rc = cry_sign_add(one, n1, w->nodes[p1].key, NULL, 0, two,
	    PROTO_RECORD_MAX, &n2, diag);
	free(one);
	if (rc != 0) {
		free(two);
		return rc;
	}
	w->agreements[i].p = two;
	w->agreements[i].n = n2;
	return 0;
}

/* ---- trust ---- */

static bool
agreement_for(const struct sim_world *w, size_t i, const struct sim_node *n)
{
	const struct sim_agreement_conf *a = &w->sc->agreements[i];
	uint32_t p0 = sim_node_find(w, a->parties[0]);
	uint32_t p1 = sim_node_find(w, a->parties[1]);

	return (p0 == n->root || p1 == n->root) && sim_trusts_root(n, p0) &&
	    sim_trusts_root(n, p1);
}

static int
trust_add(struct proto_trust *t, const struct sim_world *w,
    const uint8_t *b, size_t n, const char *what, struct mrx_diag *diag)
{
	struct mrx_diag d;
	int rc;

	mrx_diag_clear(&d);
	rc = proto_trust_add(t, b, n, w->sc->start, w->sc->policy.skew_s, &d);
	if (rc != 0 && rc != MRX_EEXIST)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, "",
		    "%s: the trust store refused it: %s: %s", what, d.field,
		    d.msg);
	return 0;
}

struct proto_trust *
sim_trust_build(struct sim_world *w, const struct sim_node *n,
    struct mrx_diag *diag)
{
	struct proto_trust *t = proto_trust_new();
	const struct sim_node *m;
	struct mrx_diag d;
	struct cry_key *k;
	size_t i;

	if (t == NULL)
		return NULL;
	for (i = 0; i < n->nroots; i++) {
		m = &w->nodes[n->roots[i]];
		k = public_copy(m->key);
		if (k == NULL || proto_trust_add_root(t, m->conf->id, k,
		    diag) != 0) {
			cry_key_free(k);
			goto fail;
		}
	}
	for (i = 0; i < w->nnodes; i++) {
		m = &w->nodes[i];
		if (m->deleg != NULL && sim_trusts_root(n, m->root) &&
		    trust_add(t, w, m->deleg, m->deleg_len, "delegation",
		    diag) != 0)
			goto fail;
	}
	for (i = 0; i < w->sc->nagreements; i++)
		if (agreement_for(w, i, n) && trust_add(t, w,
		    w->agreements[i].p, w->agreements[i].n, "agreement",
		    diag) != 0)
			goto fail;
	/* what the node learnt on feeds and kept (key revocations) */
	for (i = 0; i < n->store.ntrust; i++) {
		mrx_diag_clear(&d);
		(void)proto_trust_add(t, n->store.trust[i].p,
		    n->store.trust[i].n, w->sc->start + w->now_us /
		    SIM_US_PER_S, w->sc->policy.skew_s, &d);
	}
	return t;
fail:
	proto_trust_free(t);
	return NULL;
}

/* ---- nodes ---- */

static int
add_u32(uint32_t **v, size_t *n, uint32_t x)
{
	uint32_t *nv;
	size_t i;

	for (i = 0; i < *n; i++)
		if ((*v)[i] == x)
			return 0;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (nv == NULL)
		return MRX_ENOMEM;
	nv[(*n)++] = x;
	*v = nv;
	return 0;
}

/* Roots agreeing with root r (by the scenario's agreements). */
static bool
partners(const struct sim_world *w, uint32_t r, uint32_t s)
{
	const struct sim_agreement_conf *a;
	uint32_t p0, p1;
	size_t i;

	if (w->sc->trust_all_roots)
		return true;
	for (i = 0; i < w->sc->nagreements; i++) {
		a = &w->sc->agreements[i];
		p0 = sim_node_find(w, a->parties[0]);
		p1 = sim_node_find(w, a->parties[1]);
		if ((p0 == r && p1 == s) || (p0 == s && p1 == r))
			return true;
	}
	return false;
}

static int
node_setup(struct sim_world *w, size_t i, struct mrx_diag *diag)
{
	struct sim_scenario *sc = w->sc;
	struct sim_node *n = &w->nodes[i];
	const struct sim_node_conf *c = &sc->nodes[i];
	uint32_t p;

	n->conf = c;
	n->ix = (uint32_t)i;
	n->opcert = SIM_NONE;
	n->compromised_from = INT64_MAX;
	sim_store_init(&n->store);
	if (c->role == ENG_ROLE_ISSUER &&
	    (n->logs = calloc(ENG_LISTS_MAX, sizeof(*n->logs))) == NULL)
		return MRX_ENOMEM;
	if (derive_key(w->opt.seed, c->id, &n->key) != 0)
		return mrx_diag_set(diag, MRX_ECRYPTO, MRX_DIAG_NO_OFFSET, "",
		    "cannot derive the key of %s", c->id);
	n->parent = c->parent[0] != '\0' ? sim_node_find(w, c->parent) :
	    SIM_NONE;
	/* the root: climb parents (at most operator -> issuer -> root) */
	for (p = (uint32_t)i; sc->nodes[p].role != ENG_ROLE_ROOT;)
		p = sim_node_find(w, sc->nodes[p].parent);
	n->root = p;
	memset(&n->cfg, 0, sizeof(n->cfg));
	n->cfg.role = c->role;
	snprintf(n->cfg.id, sizeof(n->cfg.id), "%s", c->id);
	snprintf(n->cfg.jurisdiction, sizeof(n->cfg.jurisdiction), "%s",
	    c->jur);
	n->cfg.key = n->key;
	n->cfg.policy.skew_s = sc->policy.skew_s;
	n->cfg.policy.max_status_age_s = c->max_status_age_s >= 0 ?
	    c->max_status_age_s : sc->policy.max_status_age_s;
	n->cfg.policy.require_operator_cert = c->require_operator_cert >= 0 ?
	    c->require_operator_cert != 0 : sc->policy.require_operator_cert;
	n->cfg.status_list_size = sc->policy.status_list_size;
	n->cfg.watches_max = sc->policy.watches_max;
	n->cfg.vcache_max = sc->policy.vcache_max;
	n->cfg.checkpoint_interval_s = sc->policy.checkpoint_interval_s;
	return 0;
}

static int
wire_nodes(struct sim_world *w)
{
	struct sim_node *n, *m;
	size_t i, j;
	int rc = 0;

	for (i = 0; i < w->nnodes && rc == 0; i++) {
		n = &w->nodes[i];
		rc = add_u32(&n->roots, &n->nroots, n->root);
		for (j = 0; j < w->nnodes && rc == 0; j++) {
			m = &w->nodes[j];
			if (m->conf->role == ENG_ROLE_ROOT && j != n->root &&
			    partners(w, n->root, (uint32_t)j))
				rc = add_u32(&n->roots, &n->nroots,
				    (uint32_t)j);
		}
		if (rc == 0 && n->parent != SIM_NONE)
			rc = add_u32(&w->nodes[n->parent].subs,
			    &w->nodes[n->parent].nsubs, (uint32_t)i);
		/* a root hears its issuers, to relay them abroad */
		if (rc == 0 && n->conf->role == ENG_ROLE_ISSUER)
			rc = add_u32(&n->subs, &n->nsubs, n->parent);
		for (j = 0; j < w->nnodes && rc == 0; j++)
			if (n->conf->role == ENG_ROLE_ROOT && j != i &&
			    w->nodes[j].conf->role == ENG_ROLE_ROOT &&
			    partners(w, (uint32_t)i, (uint32_t)j))
				rc = add_u32(&n->subs, &n->nsubs, (uint32_t)j);
	}
	return rc;
}

/* ---- people ---- */

static const char *const given[] = { "Aiko", "Haruto", "Yui", "Sota",
	"Emma", "Liam", "Olivia", "Noah", "Amelia", "Oliver", "Hanna",
	"Lukas", "Chloe", "Louis", "Giulia", "Marco" };
static const char *const family[] = { "Tanaka", "Suzuki", "Takahashi",
	"Watanabe", "Johnson", "Williams", "Garcia", "Smith", "Jones",
	"Brown", "Muller", "Schmidt", "Martin", "Bernard", "Rossi", "Russo" };

static void
nationality(const char *jur, char out[4])
{
	static const char *const map[][2] = { { "JP", "JPN" }, { "US", "USA" },
		{ "UK", "GBR" }, { "DE", "DEU" }, { "FR", "FRA" },
		{ "IT", "ITA" }, { "CA", "CAN" }, { "NATO", "BEL" },
		{ "KR", "KOR" } };
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], jur) == 0) {
			memcpy(out, map[i][1], 4);
			return;
		}
	for (i = 0; i < 3; i++) {
		out[i] = i < strlen(jur) ? jur[i] : 'X';
		if (out[i] >= 'a' && out[i] <= 'z')
			out[i] = (char)(out[i] - 'a' + 'A');
	}
	out[3] = '\0';
}

static void
person_fill(struct sim_world *w, struct sim_rng *r, struct sim_person *p,
    size_t i, const char *name, const char *nat)
{
	uint8_t sub[PROTO_SUBJECT_LEN];
	size_t k;

	if (name != NULL && name[0] != '\0')
		snprintf(p->name, sizeof(p->name), "%s", name);
	else
		snprintf(p->name, sizeof(p->name), "%s %s %05zu",
		    given[sim_rng_below(r, 16)], family[sim_rng_below(r, 16)],
		    i + 1);
	memcpy(p->nat, nat, 4);
	snprintf(p->natid, sizeof(p->natid), "%sP%08llu", p->nat,
	    (unsigned long long)sim_rng_below(r, 100000000));
	snprintf(p->dob, sizeof(p->dob), "%04d-%02d-%02d",
	    1955 + (int)sim_rng_below(r, 50), 1 + (int)sim_rng_below(r, 12),
	    1 + (int)sim_rng_below(r, 28));
	sim_rng_bytes(r, sub, sizeof(sub));
	for (k = 0; k < sizeof(sub); k++)
		snprintf(p->sub + 2 * k, 3, "%02x", sub[k]);
	p->cred = SIM_NONE;
	(void)w;
}

static int
people_setup(struct sim_world *w)
{
	struct sim_scenario *sc = w->sc;
	struct sim_rng r;
	uint32_t *ops = NULL;
	size_t nops = 0, i, k;
	char nat[4];

	sim_rng_init(&r, w->opt.seed, "people");
	w->npeople = sc->npeople + (sc->work.on ? sc->work.people : 0);
	w->people = calloc(w->npeople > 0 ? w->npeople : 1,
	    sizeof(*w->people));
	if (w->people == NULL)
		return MRX_ENOMEM;
	for (i = 0; i < sc->npeople; i++) {
		struct sim_person *p = &w->people[i];

		snprintf(p->label, sizeof(p->label), "%s", sc->people[i].label);
		p->employer = sim_node_find(w, sc->people[i].employer);
		if (sc->people[i].nationality[0] != '\0')
			memcpy(nat, sc->people[i].nationality, 4);
		else
			nationality(w->nodes[p->employer].conf->jur, nat);
		person_fill(w, &r, p, i, sc->people[i].name, nat);
	}
	for (k = 0; k < w->nnodes; k++)
		if (w->nodes[k].conf->role == ENG_ROLE_OPERATOR &&
		    add_u32(&ops, &nops, (uint32_t)k) != 0) {
			free(ops);
			return MRX_ENOMEM;
		}
	for (; i < w->npeople; i++) {
		struct sim_person *p = &w->people[i];

		if (nops == 0)
			break;
		snprintf(p->label, sizeof(p->label), "p%zu", i + 1);
		p->employer = ops[sim_rng_below(&r, nops)];
		nationality(w->nodes[p->employer].conf->jur, nat);
		person_fill(w, &r, p, i, NULL, nat);
	}
	free(ops);
	return 0;
}

/* ---- the world ---- */

static int
world_alloc(struct sim_world *w)
{
	w->acts = malloc(sizeof(*w->acts));
	w->buf = malloc(PROTO_ENV_MAX);
	w->buf2 = malloc(PROTO_ENV_MAX);
	w->vmemo = calloc(SIM_VMEMO_SLOTS, sizeof(*w->vmemo));
	w->ememo = calloc(SIM_EMEMO_SLOTS, sizeof(*w->ememo));
	w->expects = calloc(64, sizeof(*w->expects));
	w->nodes = calloc(w->sc->nnodes, sizeof(*w->nodes));
	if (w->acts == NULL || w->buf == NULL || w->buf2 == NULL ||
	    w->vmemo == NULL || w->ememo == NULL || w->expects == NULL ||
	    w->nodes == NULL)
		return MRX_ENOMEM;
	eng_actions_reset(w->acts);
	return 0;
}

static int
keys_and_records(struct sim_world *w, struct mrx_diag *diag)
{
	size_t i;
	int rc;

	for (i = 0; i < w->nnodes; i++)
		if ((rc = node_setup(w, i, diag)) != 0)
			return rc;
	if ((rc = derive_key(w->opt.seed, "attacker", &w->attacker)) != 0)
		return rc;
	if ((rc = wire_nodes(w)) != 0)
		return rc;
	for (i = 0; i < w->nnodes; i++)
		if (w->nodes[i].conf->role == ENG_ROLE_ISSUER &&
		    (rc = make_delegation(w, &w->nodes[i], diag)) != 0)
			return rc;
	for (i = 0; i < w->sc->nagreements; i++)
		if ((rc = make_agreement(w, i, diag)) != 0)
			return rc;
	return 0;
}

static bool
needs_archive(const struct sim_scenario *sc)
{
	size_t i;

	for (i = 0; i < sc->nevents; i++)
		if (sc->events[i].act == SIM_ACT_REPLAY &&
		    strcmp(sc->events[i].kind, "envelope") == 0)
			return true;
	return false;
}

int
sim_world_new(struct sim_scenario *sc, const struct sim_options *opt,
    struct sim_world **out, struct mrx_diag *diag)
{
	struct sim_world *w = calloc(1, sizeof(*w));
	size_t i;
	int rc;

	*out = NULL;
	if (w == NULL)
		return MRX_ENOMEM;
	w->sc = sc;
	w->opt = *opt;
	w->nnodes = sc->nnodes;
	sim_heap_init(&w->heap);
	sim_rng_init(&w->rng_engine, opt->seed, "engine");
	sim_rng_init(&w->rng_env, opt->seed, "envelope");
	sim_rng_init(&w->rng_work, opt->seed, "workload");
	sim_rng_init(&w->rng_fault, opt->seed, "faults");
	w->archive = needs_archive(sc);
	w->tag_next = SIZE_MAX;
	{
		struct sim_rng r;

		sim_rng_init(&r, opt->seed, "memo");
		sim_rng_bytes(&r, w->id_key[0], PROTO_HASH_KEY_LEN);
		sim_rng_bytes(&r, w->id_key[1], PROTO_HASH_KEY_LEN);
	}
	snprintf(w->phase, sizeof(w->phase), "run");
	rc = world_alloc(w);
	if (rc == 0)
		rc = sim_net_init(&w->net, sc->nnodes, &sc->link, opt->seed);
	for (i = 0; rc == 0 && i < sc->nrules; i++)
		rc = sim_net_add_rule(&w->net, sc->rules[i].a, sc->rules[i].b,
		    &sc->rules[i].link);
	if (rc == 0)
		rc = index_ids(w);
	if (rc == 0)
		rc = keys_and_records(w, diag);
	if (rc == 0)
		rc = people_setup(w);
	if (rc == 0)
		rc = sim_leak_init(w);
	for (i = 0; rc == 0 && i < w->nnodes; i++)
		rc = sim_node_start(w, &w->nodes[i], diag);
	if (rc != 0) {
		if (diag != NULL && diag->code == 0)
			mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, "",
			    "cannot build the federation: %s",
			    mrx_strerror(rc));
		sim_world_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

void
sim_world_free(struct sim_world *w)
{
	struct sim_event e;
	size_t i, k;

	if (w == NULL)
		return;
	while (sim_heap_pop(&w->heap, &e))
		if (e.kind == SIM_K_DELIVER) {
			struct sim_msg *m = (struct sim_msg *)(uintptr_t)e.arg;

			if (--m->refs == 0)
				free(m);
		}
	sim_heap_fini(&w->heap);
	for (i = 0; w->nodes != NULL && i < w->nnodes; i++) {
		struct sim_node *n = &w->nodes[i];

		eng_free(n->eng);
		proto_peer_table_free(n->peers);
		sim_store_fini(&n->store);
		cry_key_free(n->key);
		free(n->subs);
		free(n->roots);
		free(n->deleg);
		free(n->views);
		free(n->via);
		for (k = 0; k < n->nffeeds; k++) {
			size_t j;

			free(n->ffeeds[k].list.p);
			for (j = 0; j < n->ffeeds[k].ndeltas; j++)
				free(n->ffeeds[k].deltas[j].p);
			free(n->ffeeds[k].deltas);
			free(n->ffeeds[k].dseq);
		}
		free(n->ffeeds);
		for (k = 0; k < n->nbatch; k++)
			free(n->batch[k].p);
		for (k = 0; n->logs != NULL && k < ENG_LISTS_MAX; k++) {
			free(n->logs[k].us);
			free(n->logs[k].revocation);
		}
		free(n->logs);
		free(n->seen);
	}
	free(w->nodes);
	free(w->by_id);
	for (i = 0; i < w->ncreds; i++)
		free(w->creds[i].bytes);
	free(w->creds);
	free(w->cred_ix);
	free(w->ref_keys);
	free(w->ref_vals);
	for (i = 0; i < SIM_AGREEMENTS_MAX; i++)
		free(w->agreements[i].p);
	for (i = 0; i < w->nkeyrevs; i++)
		free(w->keyrevs[i].rec.p);
	free(w->keyrevs);
	for (i = 0; i < w->narch; i++)
		free(w->arch[i].env.p);
	free(w->arch);
	free(w->pend);
	free(w->people);
	free(w->issued);
	free(w->dyn_done);
	for (i = 0; w->ops_by_root != NULL && i < w->nnodes; i++)
		free(w->ops_by_root[i]);
	free(w->ops_by_root);
	free(w->nops_by_root);
	cry_key_free(w->attacker);
	sim_net_fini(&w->net);
	free(w->acts);
	free(w->buf);
	free(w->buf2);
	free(w->vmemo);
	free(w->ememo);
	free(w->leak_bits);
	free(w->leak_tab);
	free(w->leak_who);
	free(w->leak_pseud);
	free(w->expects);
	free(w->tags);
	for (i = 0; i < w->nwaits; i++) {
		free(w->waits[i].rec.p);
		free(w->waits[i].op.p);
	}
	free(w->waits);
	free(w->reasons);
	free(w->prop_us);
	free(w->dlog);
	free(w->stale);
	free(w->hbuf);
	if (w->trace != NULL)
		fclose(w->trace);
	free(w);
}
