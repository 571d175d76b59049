/* JSON-RPC message helpers: classification, error texts, versions. */
#ifndef CORRAL_JSONRPC_H
#define CORRAL_JSONRPC_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"

/* JSON-RPC and MCP error codes corral uses. */
enum {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_INVALID_PARAMS = -32602,
	RPC_INTERNAL_ERROR = -32603,
	RPC_CONNECTION_CLOSED = -32000,	/* the server went away */
	RPC_REQUEST_TIMEOUT = -32001,
	RPC_RESOURCE_NOT_FOUND = -32002,
};

enum msg_kind { MSG_INVALID = 0, MSG_REQUEST, MSG_NOTIFICATION, MSG_RESPONSE };

/* The top-level parts of one message. */
struct jmsg {
	enum msg_kind kind;
	struct jspan all, id, method, params, result, error;
	const char *why;	/* for MSG_INVALID */
};

/* Classify the object at span v of checked text p. On MSG_INVALID, m->id
   holds the id when one could be read (to address the error). */
void jsonrpc_classify(const char *p, struct jspan v, struct jmsg *m);
/* Whether a protocol version string is one corral speaks. */
int jsonrpc_version_ok(const char *);
/* Sniff the top-level "id" of a message from its first bytes or its last
   bytes (for messages too large to keep). Returns 1 with the raw id. */
int jsonrpc_sniff_id(const char *head, size_t headlen, const char *tail,
    size_t taillen, char *out, size_t outsz);
/* A request (id >= 0) or notification (id < 0) as one compact line;
   params (taken) may be NULL. Free the result with cJSON_free. */
char *jsonrpc_message(const char *method, cJSON *params, int64_t id);
/* The newest version corral speaks. */
extern const char *const jsonrpc_latest;

#endif
