/*
 * cli.h - the subcommands of the mrx tool. Each takes the arguments after
 * its name (argv[0] is the subcommand) and returns the exit code.
 */
#ifndef NODE_CLI_H
#define NODE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "key.h"
#include "record.h"

int cmd_keygen(int argc, char **argv);
int cmd_issue(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_cose(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_agreement(int argc, char **argv);
int cmd_cert(int argc, char **argv);
/* mrx --node URL [--token-file F] COMMAND ...: argv[0] is "mrx". */
int cmd_client(int argc, char **argv);

/*
 * Fills the common claims of a new record: iss, iat (now unless iat_opt),
 * a random cti, and nbf = iat. Returns 0 or the exit code after an error.
 */
int cli_claims_init(struct proto_claims *c, const char *iss,
    const char *iat_opt);

/* Encodes, signs with key and writes rec to `out`. Returns an exit code. */
int cli_sign_write(const struct proto_record *rec, const struct cry_key *key,
    const char *out, bool force);

/* Reads and decodes a record file; prints errors. Returns an exit code. */
int cli_read_record(const char *path, uint8_t **buf, size_t *len,
    struct proto_record *rec);

/* Builds the JSON view of a decoded record (for inspect and verify). */
struct json_t;
struct json_t *cli_record_json(const struct proto_record *rec);

/*
 * The JSON view of a decision, as `mrx verify --json` prints it and the
 * node's POST /v1/verify returns it: decision, reasons, evidence, access,
 * at and decided_at.
 */
struct proto_decision;
struct json_t *cli_decision_json(const struct proto_decision *dc,
    const char *access, int64_t at, int64_t now);

/*
 * Writes the bytes json_dumps(cli_decision_json(dc, access, at, now),
 * JSON_COMPACT | JSON_PRESERVE_ORDER) would give into buf, like snprintf:
 * at most cap - 1 bytes and a terminating NUL (nothing when cap is 0), and
 * returns the full length without the NUL, so a return >= cap means buf
 * was too small. Returns 0 where cli_decision_json would return NULL
 * (access NULL or not valid UTF-8).
 */
size_t cli_decision_json_write(const struct proto_decision *dc,
    const char *access, int64_t at, int64_t now, char *buf, size_t cap);

#endif
