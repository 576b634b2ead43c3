/*
 * node_conf.h - the node's configuration file (YAML, read with libfyaml)
 * as a plain validated struct.
 *
 * Errors name file:line:key and what was expected, e.g.
 *   "mrx.yaml:12: policy.max_status_age: '5 minutes' is not a duration
 *    (expected e.g. 300s, 5m, 1d)".
 * Unknown keys are errors (a typo must not silently fall back to a
 * default). Relative paths in the file are relative to the data directory.
 */
#ifndef CONF_NODE_CONF_H
#define CONF_NODE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "envelope.h"
#include "mrx_err.h"

#define CONF_FILE "mrx.yaml"
#define CONF_PATH_MAX 1024
#define CONF_ROOTS_MAX 64
#define CONF_CHAIN_MAX 256
#define CONF_BYTES_MAX (256u * 1024u)	/* size of the YAML file */

/* Defaults and allowed ranges of the numeric keys (inclusive). */
#define CONF_API_HOST_DEFAULT "127.0.0.1"
#define CONF_API_PORT_DEFAULT 7400
#define CONF_BODY_DEFAULT (1024u * 1024u)	/* api.body_max, bytes */
#define CONF_BODY_LO 4096u
#define CONF_BODY_HI (64u * 1024u * 1024u)
#define CONF_CONNS_DEFAULT 1024u		/* api.connections_max */
#define CONF_CONNS_LO 1u
#define CONF_CONNS_HI 65536u
#define CONF_CLOCK_SKEW_DEFAULT_S 60		/* policy.clock_skew */
#define CONF_CLOCK_SKEW_HI_S 3600		/* lower bound 0 */
#define CONF_STATUS_AGE_DEFAULT_S 300		/* policy.max_status_age */
#define CONF_STATUS_AGE_LO_S 1
#define CONF_STATUS_AGE_HI_S (30 * 86400)
/* engine.watches_max; its default is ENG_WATCHES_DEFAULT */
#define CONF_WATCHES_LO 1u
#define CONF_WATCHES_HI 10000000u
/* status.list_size: a multiple of 4 in [4, PROTO_STATUS_ENTRIES_MAX],
 * default PROTO_STATUS_ENTRIES_DEFAULT */

/* log.level */
#define CONF_LOG_ERROR 0
#define CONF_LOG_WARN 1
#define CONF_LOG_INFO 2
#define CONF_LOG_DEBUG 3

/* federation */
#define CONF_URL_MAX 256
#define CONF_PEERS_MAX 128
#define CONF_BLIND_MAX 16
#define CONF_CHECKPOINT_HI_S 3600		/* federation.checkpoint_interval */
#define CONF_FED_REQUEST_TIMEOUT_MS 5000	/* a request to a peer */
/* A peer's default rate limit: an issuer's feed carries one message per
 * status change, so the bound is set well above a busy issuer's rate
 * (about 1,000 changes/s measured) while still capping a flood. */
#define CONF_PEER_RATE_DEFAULT 3000		/* messages/s */
#define CONF_PEER_BURST_DEFAULT 6000
#define CONF_PEER_REPLAY_IDS 8192		/* > burst (128 KB + 64 KB a peer) */
/* What a peer may send unless its `may` says otherwise: its feed, and
 * catch-up and fetch requests (never personal data). */
#define CONF_PEER_MAY_DEFAULT (PROTO_MSG_BIT(PROTO_MSG_FEED_RECORD) | \
	PROTO_MSG_BIT(PROTO_MSG_CATCHUP_REQUEST) | \
	PROTO_MSG_BIT(PROTO_MSG_FETCH_REQUEST))
/* Answers to this node's own requests: always allowed. */
#define CONF_PEER_RESPONSES (PROTO_MSG_BIT(PROTO_MSG_CATCHUP_RESPONSE) | \
	PROTO_MSG_BIT(PROTO_MSG_PRESENT_RESPONSE) | \
	PROTO_MSG_BIT(PROTO_MSG_CONFIRM_RESPONSE) | \
	PROTO_MSG_BIT(PROTO_MSG_LOOKUP_RESPONSE) | \
	PROTO_MSG_BIT(PROTO_MSG_FETCH_RESPONSE) | \
	PROTO_MSG_BIT(PROTO_MSG_REFUSAL))

/* A peer node (federation.peers[i]). */
struct conf_peer {
	char id[PROTO_ID_MAX + 1];
	char key_path[CONF_PATH_MAX];	/* its signing public key (PEM) */
	char feed[CONF_URL_MAX];	/* its pub socket: subscribe ("" no) */
	char requests[CONF_URL_MAX];	/* its rep socket ("" none) */
	char survey[CONF_URL_MAX];	/* its respondent socket ("" none) */
	uint32_t may;			/* PROTO_MSG_BIT()s it may send us */
	bool relay;			/* relay its feed to our subscribers */
	uint32_t rate_per_s;		/* 0: the default */
	uint32_t rate_burst;		/* 0: the default */
};

/* A per-agreement key for pairwise blinded look-ups. */
struct conf_blind {
	char agreement[PROTO_ID_MAX + 1];	/* the agreement's id (sub) */
	char peer[PROTO_ID_MAX + 1];		/* the partner authority */
	char key_path[CONF_PATH_MAX];		/* 32..64 bytes, hex, 0600 */
};

struct conf_fed {
	char listen[CONF_URL_MAX];	/* rep: peers' requests ("" none) */
	char publish[CONF_URL_MAX];	/* pub: this node's feed ("" none) */
	char survey[CONF_URL_MAX];	/* respondent: look-ups ("" none) */
	bool allow_plaintext;		/* non-loopback listeners without TLS */
	int64_t checkpoint_interval_s;	/* default 1 s; 0 none */
	char tls_ca[CONF_PATH_MAX];	/* default tls/ca.pem */
	char tls_cert[CONF_PATH_MAX];	/* default tls/node.pem */
	char tls_key[CONF_PATH_MAX];	/* default tls/node.key */
	struct conf_peer peers[CONF_PEERS_MAX];
	size_t npeers;
	struct conf_blind blind[CONF_BLIND_MAX];
	size_t nblind;
};

/*
 * Checks a transport URL: tls+tcp://HOST:PORT, tcp://HOST:PORT or
 * ipc:///PATH (inproc://NAME for tests). For a listener (`listener`) a
 * tcp:// address that is not loopback is refused unless `plaintext_ok`.
 * Returns 0 or MRX_EINVAL with *why a phrase for a person.
 */
int conf_url_check(const char *url, bool listener, bool plaintext_ok,
    const char **why);

/* True for a tls+tcp:// URL. */
bool conf_url_tls(const char *url);

struct conf_root {
	char id[PROTO_ID_MAX + 1];
	char key_path[CONF_PATH_MAX];	/* public key PEM */
};

struct node_conf {
	char path[CONF_PATH_MAX];	/* the file read */
	char data_dir[CONF_PATH_MAX];	/* directory of the file */
	char id[PROTO_ID_MAX + 1];
	enum eng_role role;
	char jurisdiction[8];		/* ISO 3166 alpha-2, upper case */
	/* api */
	char api_host[64];		/* default 127.0.0.1 */
	int api_port;			/* default 7400 */
	char token_path[CONF_PATH_MAX];	/* default admin.token */
	size_t body_max;		/* default 1 MiB */
	size_t conns_max;		/* default 1024 */
	/* keys */
	char signing_key[CONF_PATH_MAX];	/* default keys/sign.key */
	/* trust */
	struct conf_root roots[CONF_ROOTS_MAX];
	size_t nroots;
	char chain[CONF_CHAIN_MAX][CONF_PATH_MAX];
	size_t nchain;
	/* policy */
	int64_t clock_skew_s;		/* default 60 */
	int64_t max_status_age_s;	/* default 300 */
	bool require_operator_cert;	/* default false */
	/* status */
	uint32_t status_list_size;	/* default 131072 */
	/* engine */
	size_t watches_max;		/* default 1000000 */
	/* log */
	int log_level;			/* 0 error, 1 warn, 2 info, 3 debug */
	/* federation (nng) */
	struct conf_fed fed;
};

/* Defaults for every field (data_dir and path left empty). */
void conf_node_defaults(struct node_conf *c);

/*
 * Reads and validates DATA_DIR/mrx.yaml (or `path` if not NULL). Paths in
 * the result are absolute or relative to the current directory.
 */
int conf_node_load(const char *data_dir, const char *path,
    struct node_conf *out, struct mrx_diag *diag);

/* Writes a complete commented configuration for `c` to `path` (0644). */
int conf_node_write(const struct node_conf *c, const char *path,
    struct mrx_diag *diag);

/*
 * Details of the contract above.
 *
 * conf_node_load(): `data_dir` is the data directory (relative paths in the
 * file are resolved against it, and it is what out->data_dir holds); when
 * it is NULL the directory of `path` is used. At least one of the two must
 * be given. On success *out is the whole configuration (defaults for the
 * keys the file leaves out); on error *out is unchanged. Errors:
 * MRX_ENOENT / MRX_EIO (the file cannot be read), MRX_ETOOBIG (over
 * CONF_BYTES_MAX, or a list over its limit), MRX_EMALFORMED (YAML syntax,
 * with libfyaml's line), MRX_ETYPE (a mapping, list or value where another
 * was expected), MRX_EDUP (a key twice), MRX_EMISSING (id, role,
 * jurisdiction, or a root's id or key), MRX_ERANGE (a number out of its
 * range), MRX_EINVAL (anything else, unknown keys among them). diag->field
 * holds the key path ("policy.max_status_age", "trust.roots[1].id") and
 * diag->msg the whole line for a person, "FILE:LINE: KEY: what is wrong
 * (what was expected)", FILE being the file's name without directories:
 * print diag->msg as it is.
 *
 * conf_node_write(): validates `c` first (MRX_EINVAL / MRX_ERANGE, diag
 * naming the key, nothing written), then writes the file atomically
 * (temporary file in the same directory, fsync, rename; an existing file
 * is replaced). Paths under c->data_dir are written relative to it, other
 * paths as absolute paths, so that conf_node_load(c->data_dir, ...) of the
 * result gives back `c` (paths relative to the current directory that lie
 * outside the data directory come back absolute). An empty c->data_dir
 * means the current directory.
 */

/*
 * Same as conf_node_write(), with `note` (NULL for none) written as a
 * comment block after the file's header, one "# " line per line of `note`:
 * how this node was set up, e.g. that its trust chain is a development one.
 */
int conf_node_write_note(const struct node_conf *c, const char *path,
    const char *note, struct mrx_diag *diag);

/*
 * Parses a listen address "HOST:PORT" or "[IPV6]:PORT" (HOST a name or an
 * IPv4 address of letters, digits, '.' and '-'; PORT 1..65535) into `host`
 * (without brackets, `cap` bytes) and *port. MRX_EINVAL for a bad shape,
 * MRX_ERANGE for a port out of range, with diag naming "listen".
 */
int conf_listen_parse(const char *s, char *host, size_t cap, int *port,
    struct mrx_diag *diag);

#endif
