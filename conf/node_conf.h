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
#include "mrx_err.h"

#define CONF_FILE "mrx.yaml"
#define CONF_PATH_MAX 1024
#define CONF_ROOTS_MAX 64
#define CONF_CHAIN_MAX 256
#define CONF_BYTES_MAX (256u * 1024u)	/* size of the YAML file */

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

#endif
