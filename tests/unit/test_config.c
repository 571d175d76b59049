/* Unit tests for core/config: parsing, defaults, substitution, path
   resolution, and the exact text of every error (each names its key path);
   config_load's file checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include "core/config.h"
#include "tests/unit/unit.h"

/* A config with one server "a" whose command is "x", plus more members. */
#define SRV(more) "{\"mcpServers\":{\"a\":{\"command\":\"x\"," more "}}}"

static struct config *
parse_ok(const char *text, const char *dir)
{
	struct config *cf = (struct config *)1;
	char *err = (char *)1;

	if (config_parse(text, strlen(text), dir, &cf, &err) != 0)
		fail_msg("config_parse failed: %s", err ? err : "(no message)");
	assert_null(err);
	assert_non_null(cf);
	return cf;
}

/* ---- errors: each names its key path ------------------------------------ */

struct err_case {
	const char *text;
	const char *err;
};

static const struct err_case err_cases[] = {
	/* Not JSON: line and column. */
	{ "", "line 1, column 1: unexpected end" },
	{ "{\n  \"mcpServers\": {,}\n}", "line 2, column 18: expected member name" },
	{ "{\"mcpServers\":{\"a\":{\"command\":\"x\",}}}",
	    "line 1, column 35: expected member name" },
	{ "\n\n  [1,]", "line 3, column 6: unexpected character" },
	{ "{} x", "line 1, column 4: trailing data after value" },
	{ "{\"mcpServers\":{\"a\":{\"command\":\"/bin/true\\u0000 evil\"}}}",
	    "a string holds \\u0000, which no key or value may contain" },
	{ "{\"mcpServers\":{\"a\\u0000b\":{\"command\":\"x\"}}}",
	    "a string holds \\u0000, which no key or value may contain" },
	{ "{\"a\":\"\t\"}", "line 1, column 7: control character in string" },
	{ "{\r\n,}", "line 2, column 1: expected member name" },
	{ "{\"mcpServers\":{\"a\":{\"command\":'x'}}}",
	    "line 1, column 31: unexpected character" },
	{ "{\"corral\":{\"max_message\":01}}",
	    "line 1, column 27: expected ',' or end of container" },
	{ "{\"mcpServers\":{\"a\":{\"command\":\"\xc3\"}}}",
	    "line 1, column 32: invalid UTF-8" },
	/* The top level. */
	{ "[]", "(top level): expected an object, got an array" },
	{ "null", "(top level): expected an object, got null" },
	{ "\"x\"", "(top level): expected an object, got a string" },
	{ "{\"foo\":1}", "(top level): unknown key \"foo\"" },
	{ "{\"mcpservers\":{}}", "(top level): unknown key \"mcpservers\"" },
	{ "{\"corral\":{},\"corral\":{}}", "(top level): duplicate key \"corral\"" },
	{ "{\"mcpServers\":{},\"mcp\\u0053ervers\":{}}",
	    "(top level): duplicate key \"mcpServers\"" },
	{ "{\"mcpServers\":[]}", "mcpServers: expected an object, got an array" },
	{ "{\"mcpServers\":null}", "mcpServers: expected an object, got null" },
	{ "{\"servers\":\"x\"}", "servers: expected an object, got a string" },
	/* The same server twice. */
	{ "{\"mcpServers\":{\"a\":{\"command\":\"x\"},\"a\":{\"command\":\"y\"}}}",
	    "mcpServers: server \"a\" is defined twice" },
	{ "{\"mcpServers\":{\"a\":{\"command\":\"x\"}},"
	    "\"servers\":{\"a\":{\"command\":\"y\"}}}",
	    "servers: server \"a\" is defined twice" },
	{ "{\"servers\":{\"b\":{\"command\":\"x\"},\"b\":{\"command\":\"x\"}}}",
	    "servers: server \"b\" is defined twice" },
	/* Server names. */
	{ "{\"mcpServers\":{\"\":{\"command\":\"x\"}}}",
	    "mcpServers.: server names must be 1 to 64 characters without '/' "
	    "or control characters" },
	{ "{\"mcpServers\":{\"a/b\":{\"command\":\"x\"}}}",
	    "mcpServers.a/b: server names must be 1 to 64 characters without "
	    "'/' or control characters" },
	{ "{\"mcpServers\":{\"a\\u007fb\":{\"command\":\"x\"}}}",
	    "mcpServers.a\x7f" "b: server names must be 1 to 64 characters "
	    "without '/' or control characters" },
	{ "{\"mcpServers\":{\"a\\nb\":{\"command\":\"x\"}}}",
	    "mcpServers.a\nb: server names must be 1 to 64 characters without "
	    "'/' or control characters" },
	{ "{\"mcpServers\":{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":"
	    "{\"command\":\"x\"}}}",
	    "mcpServers.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: "
	    "server names must be 1 to 64 characters without '/' or control "
	    "characters" },
	/* A server entry. */
	{ "{\"mcpServers\":{\"a\":1}}",
	    "mcpServers.a: expected an object, got a number" },
	{ "{\"mcpServers\":{\"a\":null}}",
	    "mcpServers.a: expected an object, got null" },
	{ "{\"mcpServers\":{\"a\":[\"x\"]}}",
	    "mcpServers.a: expected an object, got an array" },
	{ SRV("\"foo\":1"), "mcpServers.a: unknown key \"foo\"" },
	{ SRV("\"Command\":\"y\""), "mcpServers.a: unknown key \"Command\"" },
	{ SRV("\"command\":\"y\""), "mcpServers.a: duplicate key \"command\"" },
	{ "{\"mcpServers\":{\"a\":{}}}", "mcpServers.a: missing \"command\"" },
	{ "{\"mcpServers\":{\"a\":{\"args\":[\"x\"]}}}",
	    "mcpServers.a: missing \"command\"" },
	{ "{\"mcpServers\":{\"a\":{\"command\":1}}}",
	    "mcpServers.a.command: expected a string, got a number" },
	{ "{\"mcpServers\":{\"a\":{\"command\":null}}}",
	    "mcpServers.a.command: expected a string, got null" },
	{ "{\"mcpServers\":{\"a\":{\"command\":[\"x\"]}}}",
	    "mcpServers.a.command: expected a string, got an array" },
	{ "{\"mcpServers\":{\"a\":{\"command\":\"\"}}}",
	    "mcpServers.a.command: must not be empty" },
	{ SRV("\"args\":[\"x\",1]"),
	    "mcpServers.a.args[1]: expected a string, got a number" },
	{ SRV("\"args\":[true]"),
	    "mcpServers.a.args[0]: expected a string, got a boolean" },
	{ SRV("\"args\":[\"a\",\"b\",[\"c\"]]"),
	    "mcpServers.a.args[2]: expected a string, got an array" },
	{ SRV("\"args\":[{}]"),
	    "mcpServers.a.args[0]: expected a string, got an object" },
	{ SRV("\"args\":\"--flag\""),
	    "mcpServers.a.args: expected an array of strings, got a string" },
	{ SRV("\"args\":{}"),
	    "mcpServers.a.args: expected an array of strings, got an object" },
	{ SRV("\"env\":[]"), "mcpServers.a.env: expected an object, got an array" },
	{ SRV("\"env\":{\"A\":1}"),
	    "mcpServers.a.env.A: expected a string, got a number" },
	{ SRV("\"env\":{\"A\":\"1\",\"B\":null}"),
	    "mcpServers.a.env.B: expected a string, got null" },
	{ SRV("\"env\":{\"A=B\":\"x\"}"),
	    "mcpServers.a.env.A=B: not a valid variable name" },
	{ SRV("\"env\":{\"\":\"x\"}"),
	    "mcpServers.a.env.: not a valid variable name" },
	{ SRV("\"env\":{\"A\":\"1\",\"A\":\"2\"}"),
	    "mcpServers.a.env: duplicate key \"A\"" },
	{ SRV("\"cwd\":1"), "mcpServers.a.cwd: expected a string, got a number" },
	{ SRV("\"disabled\":\"yes\""),
	    "mcpServers.a.disabled: expected a boolean, got a string" },
	{ SRV("\"disabled\":1"),
	    "mcpServers.a.disabled: expected a boolean, got a number" },
	{ SRV("\"description\":1"),
	    "mcpServers.a.description: expected a string, got a number" },
	{ SRV("\"prefix\":1"), "mcpServers.a.prefix: expected a string, got a number" },
	{ SRV("\"prefix\":\"a.b\""),
	    "mcpServers.a.prefix: must be empty or 1 to 48 of A-Z a-z 0-9 _ -" },
	{ SRV("\"prefix\":\"a b\""),
	    "mcpServers.a.prefix: must be empty or 1 to 48 of A-Z a-z 0-9 _ -" },
	{ SRV("\"prefix\":\"caf\xc3\xa9\""),
	    "mcpServers.a.prefix: must be empty or 1 to 48 of A-Z a-z 0-9 _ -" },
	{ SRV("\"prefix\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
	    "mcpServers.a.prefix: must be empty or 1 to 48 of A-Z a-z 0-9 _ -" },
	{ SRV("\"type\":1"), "mcpServers.a.type: expected a string, got a number" },
	{ SRV("\"type\":\"ws\""),
	    "mcpServers.a.type: must be \"stdio\", \"http\" or \"sse\"" },
	{ SRV("\"type\":\"STDIO\""),
	    "mcpServers.a.type: must be \"stdio\", \"http\" or \"sse\"" },
	/* Remote servers: their keys, and the local ones they refuse. */
	{ SRV("\"type\":\"http\""),
	    "mcpServers.a.command: only for local (stdio) servers; a remote "
	    "server runs elsewhere" },
	{ "{\"mcpServers\":{\"a\":{\"type\":\"http\"}}}",
	    "mcpServers.a: missing \"url\"" },
	{ SRV("\"type\":\"sse\""),
	    "mcpServers.a.command: only for local (stdio) servers; a remote "
	    "server runs elsewhere" },
	{ SRV("\"type\":\"websocket\""),
	    "mcpServers.a.type: must be \"stdio\", \"http\" or \"sse\"" },
	{ SRV("\"url\":\"https://example.com/mcp\""),
	    "mcpServers.a.url: only for remote servers (\"type\": \"http\" "
	    "or \"sse\")" },
	{ "{\"mcpServers\":{\"a\":{\"url\":\"http://127.evil.test/mcp\"}}}",
	    "mcpServers.a.url: must be https:// (plain http:// only to this "
	    "machine: 127.0.0.1, ::1, localhost)" },
	{ "{\"mcpServers\":{\"a\":{\"url\":\"http://example.com/mcp\"}}}",
	    "mcpServers.a.url: must be https:// (plain http:// only to this "
	    "machine: 127.0.0.1, ::1, localhost)" },
	{ "{\"mcpServers\":{\"a\":{\"url\":\"https://x.test/\","
	    "\"headers\":{\"Host\":\"y\"}}}}",
	    "mcpServers.a.headers.Host: corral sets this header itself" },
	{ "{\"mcpServers\":{\"a\":{\"url\":\"https://x.test/\","
	    "\"headers\":{\"X-A\":\"a\\nb\"}}}}",
	    "mcpServers.a.headers.X-A: must not hold a line break" },
	{ "{\"mcpServers\":{\"a\":{\"url\":\"https://x.test/\","
	    "\"env\":{}}}}",
	    "mcpServers.a.env: only for local (stdio) servers; a remote server "
	    "runs elsewhere" },
	{ SRV("\"headers\":{}"),
	    "mcpServers.a.headers: only for remote servers (\"type\": "
	    "\"http\" or \"sse\")" },
	/* "oauth": remote servers only, known keys, typed values. */
	{ SRV("\"oauth\":{}"),
	    "mcpServers.a.oauth: only for remote servers (\"type\": \"http\" "
	    "or \"sse\")" },
	{ "{\"mcpServers\":{\"a\":{\"url\":\"https://x.test/\","
	    "\"oauth\":{\"client\":\"x\"}}}}",
	    "mcpServers.a.oauth: unknown key \"client\"" },
	{ "{\"mcpServers\":{\"a\":{\"url\":\"https://x.test/\","
	    "\"oauth\":[]}}}",
	    "mcpServers.a.oauth: expected an object, got an array" },
	{ "{\"mcpServers\":{\"a\":{\"url\":\"https://x.test/\","
	    "\"oauth\":{\"client_id\":\"\"}}}}",
	    "mcpServers.a.oauth.client_id: expected a non-empty string, got a "
	    "string" },
	{ "{\"mcpServers\":{\"a\":{\"url\":\"https://x.test/\","
	    "\"oauth\":{\"scopes\":[\"a\"]}}}}",
	    "mcpServers.a.oauth.scopes: expected a non-empty string, got an "
	    "array" },
	{ "{\"mcpServers\":{\"a\":{\"url\":\"https://x.test/\","
	    "\"oauth\":{\"allow_local_discovery\":1}}}}",
	    "mcpServers.a.oauth.allow_local_discovery: expected a boolean, got a "
	    "number" },
	{ "{\"mcpServers\":{\"a\":{\"url\":\"https://x.test/\","
	    "\"oauth\":{\"client_secret\":\"${env:CORRAL_T_UNSET_X}\"}}}}",
	    "mcpServers.a.oauth.client_secret: ${env:CORRAL_T_UNSET_X}: variable "
	    "is not set" },
	{ "{\"mcpServers\":{\"a\":{\"url\":\"https://x.test/\","
	    "\"oauth\":{\"client_id\":\"a\",\"client_id\":\"b\"}}}}",
	    "mcpServers.a.oauth: duplicate key \"client_id\"" },
	{ SRV("\"policy\":{\"default\":\"maybe\"}"),
	    "mcpServers.a.policy.default: must be \"allow\", \"ask\" or \"deny\"" },
	{ SRV("\"policy\":{\"allow\":[{\"args\":{}}]}"),
	    "mcpServers.a.policy.allow[0]: missing \"tool\"" },
	{ SRV("\"policy\":{\"deny\":[{\"tool\":\"x\",\"args\":{\"path\":1}}]}"),
	    "mcpServers.a.policy.deny[0].args.path: keys are JSON pointers such "
	    "as \"/path\"" },
	{ SRV("\"limits\":{\"rate\":\"ten a minute\"}"),
	    "mcpServers.a.limits.rate: \"ten a minute\": expected N/sec, N/min, "
	    "N/hour or N/day" },
	{ "{\"corral\":{\"audit\":{\"path\":\"/var/log/\"}}}",
	    "corral.audit.path: must name a file, not a directory" },
	{ "{\"corral\":{\"audit\":{\"path\":\"\"}}}",
	    "corral.audit.path: expected a file name, got a string" },
	{ "{\"corral\":{\"audit\":{\"where\":1}}}",
	    "corral.audit: unknown key \"where\"" },
	{ "{\"corral\":{\"audit\":{\"enabled\":\"no\"}}}",
	    "corral.audit.enabled: expected true or false, got a string" },
	{ "{\"corral\":{\"audit\":{\"capture\":\"all\"}}}",
	    "corral.audit.capture: must be \"shape\", \"none\" or \"full\"" },
	{ "{\"corral\":{\"audit\":{\"fsync\":\"sometimes\"}}}",
	    "corral.audit.fsync: must be \"always\", \"batch\" or \"never\"" },
	{ "{\"corral\":{\"audit\":{\"on_failure\":\"panic\"}}}",
	    "corral.audit.on_failure: must be \"refuse\" or \"continue\"" },
	{ "{\"corral\":{\"audit\":{\"rotate_bytes\":100}}}",
	    "corral.audit.rotate_bytes: must be 0 (never rotate) or at least "
	    "4096" },
	{ "{\"corral\":{\"audit\":{\"rotate_bytes\":1.5}}}",
	    "corral.audit.rotate_bytes: must be an integer from 0 to "
	    "1000000000000000" },
	{ "{\"corral\":{\"audit\":{\"keep\":0}}}",
	    "corral.audit.keep: must be an integer from 1 to 1000" },
	{ "{\"corral\":{\"otel\":{\"endpoint\":\"ftp://x\"}}}",
	    "corral.otel.endpoint: must be an http:// or https:// URL" },
	{ "{\"corral\":{\"otel\":{\"endpoint\":\"http://x\","
	    "\"headers\":{\"a b\":\"v\"}}}}",
	    "corral.otel.headers.a b: not a valid header name" },
	{ "{\"corral\":{\"otel\":{\"endpoint\":\"http://x\","
	    "\"headers\":{\"k\":\"v\\r\\nX: y\"}}}}",
	    "corral.otel.headers.k: a header value cannot hold a line break" },
	{ "{\"corral\":{\"otel\":{\"endpoint\":\"http://x\","
	    "\"headers\":{\"k\":1}}}}",
	    "corral.otel.headers.k: expected a string, got a number" },
	{ "{\"corral\":{\"otel\":{\"endpoint\":\"http://x\","
	    "\"max_queue\":0}}}",
	    "corral.otel.max_queue: must be an integer from 1 to 1000000" },
	{ "{\"corral\":{\"policy\":{\"ask\":\"x\"}}}",
	    "corral.policy.ask: expected an array of rules, got a string" },
	{ "{\"corral\":{\"consent\":true}}",
	    "corral.consent: expected an object, got a boolean" },
	{ "{\"corral\":{\"consent\":{\"channels\":[\"pigeon\"]}}}",
	    "corral.consent.channels[0]: \"pigeon\": channels are elicitation, "
	    "tty, dialog and command" },
	{ "{\"corral\":{\"consent\":{\"channels\":[\"command\"]}}}",
	    "corral.consent.channels: \"command\" needs corral.consent.command" },
	{ "{\"corral\":{\"otel\":{}}}",
	    "corral.otel: missing \"endpoint\" (the collector's OTLP/HTTP URL, "
	    "e.g. http://127.0.0.1:4318)" },
	/* tools. */
	{ SRV("\"tools\":[]"), "mcpServers.a.tools: expected an object, got an array" },
	{ SRV("\"tools\":{\"other\":[]}"),
	    "mcpServers.a.tools: unknown key \"other\"" },
	{ SRV("\"tools\":{\"allow\":\"x\"}"),
	    "mcpServers.a.tools.allow: expected an array of strings, got a string" },
	{ SRV("\"tools\":{\"allow\":[\"a\"],\"deny\":[null]}"),
	    "mcpServers.a.tools.deny[0]: expected a string, got null" },
	{ SRV("\"tools\":{\"allow\":[\"a\",2]}"),
	    "mcpServers.a.tools.allow[1]: expected a string, got a number" },
	/* timeouts. */
	{ SRV("\"timeouts\":[]"),
	    "mcpServers.a.timeouts: expected an object, got an array" },
	{ SRV("\"timeouts\":{\"x\":1}"), "mcpServers.a.timeouts: unknown key \"x\"" },
	{ SRV("\"timeouts\":{\"call\":10,\"call_max\":5}"),
	    "mcpServers.a.timeouts: call_max (5) is less than call (10)" },
	{ SRV("\"timeouts\":{\"call_max\":5,\"call\":7.5}"),
	    "mcpServers.a.timeouts: call_max (5) is less than call (7.5)" },
	{ SRV("\"timeouts\":{\"call\":4000,\"call_max\":3600}"),
	    "mcpServers.a.timeouts: call_max (3600) is less than call (4000)" },
	{ SRV("\"timeouts\":{\"start\":0}"),
	    "mcpServers.a.timeouts.start: must be more than 0 and at most 10000000" },
	{ SRV("\"timeouts\":{\"idle\":-1}"),
	    "mcpServers.a.timeouts.idle: must be 0 (never) or more than 0 and "
	    "at most 10000000" },
	{ SRV("\"timeouts\":{\"idle\":\"1\"}"),
	    "mcpServers.a.timeouts.idle: expected a number of seconds, got a "
	    "string" },
	{ SRV("\"start\":\"later\""),
	    "mcpServers.a.start: must be \"eager\" or \"lazy\"" },
	{ SRV("\"start\":true"),
	    "mcpServers.a.start: expected a string, got a boolean" },
	{ SRV("\"timeouts\":{\"call_max\":10000001}"),
	    "mcpServers.a.timeouts.call_max: must be more than 0 and at most "
	    "10000000" },
	{ SRV("\"timeouts\":{\"call\":\"5\"}"),
	    "mcpServers.a.timeouts.call: expected a number of seconds, got a string" },
	{ SRV("\"timeouts\":{\"call\":null}"),
	    "mcpServers.a.timeouts.call: expected a number of seconds, got null" },
	/* restart. */
	{ SRV("\"restart\":true"),
	    "mcpServers.a.restart: expected an object, got a boolean" },
	{ SRV("\"restart\":{\"reset\":1}"),
	    "mcpServers.a.restart: unknown key \"reset\"" },
	{ SRV("\"restart\":{\"max_failures\":1.5}"),
	    "mcpServers.a.restart.max_failures: must be an integer from 0 to 1000" },
	{ SRV("\"restart\":{\"max_failures\":1001}"),
	    "mcpServers.a.restart.max_failures: must be an integer from 0 to 1000" },
	{ SRV("\"restart\":{\"max_failures\":-1}"),
	    "mcpServers.a.restart.max_failures: must be an integer from 0 to 1000" },
	{ SRV("\"restart\":{\"max_failures\":\"3\"}"),
	    "mcpServers.a.restart.max_failures: expected an integer, got a string" },
	{ SRV("\"restart\":{\"backoff\":0}"),
	    "mcpServers.a.restart.backoff: must be more than 0 and at most 10000000" },
	{ SRV("\"restart\":{\"backoff\":10,\"backoff_max\":5}"),
	    "mcpServers.a.restart: backoff_max is less than backoff" },
	{ SRV("\"restart\":{\"backoff\":61}"),
	    "mcpServers.a.restart: backoff_max is less than backoff" },
	/* ${env:NAME}. */
	{ "{\"mcpServers\":{\"a\":{\"command\":\"${env:CORRAL_T_UNSET}\"}}}",
	    "mcpServers.a.command: ${env:CORRAL_T_UNSET}: variable is not set" },
	{ SRV("\"args\":[\"ok\",\"--token=${env:CORRAL_T_UNSET}\"]"),
	    "mcpServers.a.args[1]: ${env:CORRAL_T_UNSET}: variable is not set" },
	{ SRV("\"env\":{\"T\":\"${env:CORRAL_T_UNSET}\"}"),
	    "mcpServers.a.env.T: ${env:CORRAL_T_UNSET}: variable is not set" },
	{ SRV("\"cwd\":\"${env:CORRAL_T_UNSET}/x\""),
	    "mcpServers.a.cwd: ${env:CORRAL_T_UNSET}: variable is not set" },
	{ SRV("\"args\":[\"${env:CORRAL_T_TOKEN\"]"),
	    "mcpServers.a.args[0]: unterminated ${env:...}" },
	{ SRV("\"args\":[\"${env:}\"]"),
	    "mcpServers.a.args[0]: bad variable name in ${env:...}" },
	{ "{\"servers\":{\"b\":{\"command\":\"${env:CORRAL_T_UNSET}\"}}}",
	    "servers.b.command: ${env:CORRAL_T_UNSET}: variable is not set" },
	/* Key paths under the VS Code "servers" key. */
	{ "{\"servers\":{\"b\":{\"command\":1}}}",
	    "servers.b.command: expected a string, got a number" },
	{ "{\"servers\":{\"b\":{\"command\":\"x\",\"args\":[\"x\",1]}}}",
	    "servers.b.args[1]: expected a string, got a number" },
	{ "{\"servers\":{\"b\":{\"type\":\"stdio\"}}}",
	    "servers.b: missing \"command\"" },
	{ "{\"servers\":{\"b\":{\"type\":\"http\",\"url\":\"http://x\"}}}",
	    "servers.b.url: must be https:// (plain http:// only to this "
	    "machine: 127.0.0.1, ::1, localhost)" },
	/* sandbox. */
	{ SRV("\"sandbox\":[]"),
	    "mcpServers.a.sandbox: expected an object, got an array" },
	{ SRV("\"sandbox\":{\"x\":1}"), "mcpServers.a.sandbox: unknown key \"x\"" },
	{ SRV("\"sandbox\":{\"profile\":\"loose\"}"),
	    "mcpServers.a.sandbox.profile: must be \"strict\" or \"none\"" },
	{ SRV("\"sandbox\":{\"network\":[]}"),
	    "mcpServers.a.sandbox.network: an empty list lets nothing through; "
	    "use \"none\"" },
	{ SRV("\"sandbox\":{\"network\":[\"example.com\",\"a b:1\"]}"),
	    "mcpServers.a.sandbox.network[1]: \"a b:1\": not a host pattern "
	    "(host, *.domain, an address, [IPv6], each with an optional :port)" },
	{ SRV("\"sandbox\":{\"network\":[\"example.com:0\"]}"),
	    "mcpServers.a.sandbox.network[0]: \"example.com:0\": the port must "
	    "be a number from 1 to 65535" },
	{ SRV("\"sandbox\":{\"network\":[1]}"),
	    "mcpServers.a.sandbox.network[0]: expected a string, got a number" },
	{ SRV("\"sandbox\":{\"profile\":\"none\",\"network\":[\"x.org\"]}"),
	    "mcpServers.a.sandbox.network: a list of hosts needs the sandbox; "
	    "with profile \"none\" the server already reaches everything" },
	{ SRV("\"sandbox\":{\"network\":\"some\"}"),
	    "mcpServers.a.sandbox.network: must be \"none\" or \"full\"" },
	{ SRV("\"sandbox\":{\"home\":1}"),
	    "mcpServers.a.sandbox.home: expected a string, got a number" },
	{ SRV("\"sandbox\":{\"seccomp\":\"on\"}"),
	    "mcpServers.a.sandbox.seccomp: must be \"strict\" or \"off\"" },
	{ SRV("\"sandbox\":{\"fallback\":\"x\"}"),
	    "mcpServers.a.sandbox.fallback: must be \"none\" or \"landlock\"" },
	{ SRV("\"sandbox\":{\"ro\":\"/x\"}"),
	    "mcpServers.a.sandbox.ro: expected an array of strings, got a string" },
	{ SRV("\"sandbox\":{\"rw\":[1]}"),
	    "mcpServers.a.sandbox.rw[0]: expected a string, got a number" },
	{ SRV("\"sandbox\":{\"ro\":[\"rel/dir\"]}"),
	    "mcpServers.a.sandbox.ro: \"rel/dir\": paths must be absolute" },
	{ SRV("\"sandbox\":{\"rw\":[\"/\"]}"),
	    "mcpServers.a.sandbox.rw: \"/\": granting / would undo the sandbox" },
	{ SRV("\"sandbox\":{\"ro\":[\"/usr\",\"/usr/..\"]}"),
	    "mcpServers.a.sandbox.ro: \"/usr/..\": granting / would undo the "
	    "sandbox" },
	{ SRV("\"sandbox\":{\"ro\":[\"${env:CORRAL_T_UNSET}\"]}"),
	    "mcpServers.a.sandbox.ro[0]: ${env:CORRAL_T_UNSET}: variable is not "
	    "set" },
	{ SRV("\"sandbox\":{\"limits\":{\"nofile\":0}}"),
	    "mcpServers.a.sandbox.limits.nofile: must be an integer from 1 to "
	    "1000000000000000" },
	{ SRV("\"sandbox\":{\"limits\":{\"tmp\":1.5}}"),
	    "mcpServers.a.sandbox.limits.tmp: must be an integer from 1 to "
	    "1000000000000000" },
	{ SRV("\"sandbox\":{\"limits\":{\"gpu\":1}}"),
	    "mcpServers.a.sandbox.limits: unknown key \"gpu\"" },
	/* corral. */
	{ "{\"corral\":[]}", "corral: expected an object, got an array" },
	{ "{\"corral\":{\"x\":1}}", "corral: unknown key \"x\"" },
	{ "{\"corral\":{\"naming\":[]}}",
	    "corral.naming: expected an object, got an array" },
	{ "{\"corral\":{\"naming\":{\"sep\":\"_\"}}}",
	    "corral.naming: unknown key \"sep\"" },
	{ "{\"corral\":{\"naming\":{\"separator\":1}}}",
	    "corral.naming.separator: expected a string, got a number" },
	{ "{\"corral\":{\"naming\":{\"separator\":\".\"}}}",
	    "corral.naming.separator: must be 1 to 8 of A-Z a-z 0-9 _ -" },
	{ "{\"corral\":{\"naming\":{\"separator\":\"\"}}}",
	    "corral.naming.separator: must be 1 to 8 of A-Z a-z 0-9 _ -" },
	{ "{\"corral\":{\"naming\":{\"separator\":\"123456789\"}}}",
	    "corral.naming.separator: must be 1 to 8 of A-Z a-z 0-9 _ -" },
	{ "{\"corral\":{\"naming\":{\"separator\":\"::\"}}}",
	    "corral.naming.separator: must be 1 to 8 of A-Z a-z 0-9 _ -" },
	{ "{\"corral\":{\"max_message\":100}}",
	    "corral.max_message: must be an integer from 4096 to 1073741824" },
	{ "{\"corral\":{\"max_message\":4096.5}}",
	    "corral.max_message: must be an integer from 4096 to 1073741824" },
	{ "{\"corral\":{\"max_message\":1073741825}}",
	    "corral.max_message: must be an integer from 4096 to 1073741824" },
	{ "{\"corral\":{\"max_message\":\"1M\"}}",
	    "corral.max_message: expected an integer, got a string" },
	{ "{\"corral\":{\"timeouts\":1}}",
	    "corral.timeouts: expected an object, got a number" },
	{ "{\"corral\":{\"timeouts\":{\"start\":1}}}",
	    "corral.timeouts: unknown key \"start\"" },
	{ "{\"corral\":{\"timeouts\":{\"initialize\":0}}}",
	    "corral.timeouts.initialize: must be more than 0 and at most 10000000" },
	{ "{\"corral\":{\"timeouts\":{\"idle\":1e8}}}",
	    "corral.timeouts.idle: must be 0 (never) or more than 0 and at most "
	    "10000000" },
	{ "{\"corral\":{\"start\":\"Lazy\"}}",
	    "corral.start: must be \"eager\" or \"lazy\"" },
	{ "{\"corral\":{\"max_starting\":-1}}",
	    "corral.max_starting: must be an integer from 0 to 1000" },
	{ "{\"corral\":{\"max_starting\":1.5}}",
	    "corral.max_starting: must be an integer from 0 to 1000" },
	{ "{\"corral\":{\"starting\":1}}", "corral: unknown key \"starting\"" },
	{ "{\"corral\":{\"timeouts\":{\"shutdown\":\"1\"}}}",
	    "corral.timeouts.shutdown: expected a number of seconds, got a string" },
	/* The first error is the one reported. */
	{ "{\"mcpServers\":{\"a\":{\"command\":1},\"b\":{\"command\":2}}}",
	    "mcpServers.a.command: expected a string, got a number" },
	{ "{\"mcpServers\":{\"a\":{\"command\":\"x\"},\"b\":{}},"
	    "\"corral\":{\"x\":1}}", "mcpServers.b: missing \"command\"" },
};

/* Run config_parse in a child and read back its result: a crash (the
   broken row is all that fails) or a sanitizer report, leaks included, as
   the child exits, is a failure of this row only, and the rows after it
   still run. Returns the parse result, -2 when the child failed. */
static int
parse_in_child(const char *text, char *out, size_t outsz, char *why,
    size_t whysz)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct config *cf;
	char *err = NULL;
	size_t got = 0, k;
	ssize_t n;
	pid_t pid;
	int fds[2], st, r;

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		/* cmocka's handlers would carry on with the other tests. */
		for (k = 0; k < NELEM(sigs); k++)
			signal(sigs[k], SIG_DFL);
		close(fds[0]);
		r = config_parse(text, strlen(text), "/cfg", &cf, &err);
		if (write(fds[1], r == 0 ? "0" : "1", 1) != 1)
			_exit(99);
		if (r == 0)
			config_free(cf);
		else if (err && write(fds[1], err, strlen(err)) < 0)
			_exit(99);
		free(err);
		close(fds[1]);
		exit(0);	/* not _exit: LeakSanitizer runs at exit */
	}
	close(fds[1]);
	while (got + 1 < outsz &&
	    (n = read(fds[0], out + got, outsz - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st)) {
		snprintf(why, whysz, "config_parse crashed: signal %d",
		    WTERMSIG(st));
		return -2;
	}
	if (WEXITSTATUS(st) != 0) {
		snprintf(why, whysz, "config_parse failed a sanitizer check "
		    "(exit status %d; report above)", WEXITSTATUS(st));
		return -2;
	}
	if (got == 0) {
		snprintf(why, whysz, "no result from the child");
		return -2;
	}
	r = out[0] == '0' ? 0 : -1;
	memmove(out, out + 1, got);
	return r;
}

static void
test_error(void **state)
{
	const struct err_case *c = *state;
	char err[1024], why[128];
	int r;

	r = parse_in_child(c->text, err, sizeof(err), why, sizeof(why));
	if (r == -2)
		fail_msg("%s", why);
	assert_int_equal(r, -1);
	assert_string_equal(err, c->err);
}

/* Nesting deeper than 64 is a parse error with its position. */
static void
test_error_deep(void **state)
{
	char text[200], *err = NULL;
	struct config *cf;
	int i;

	(void)state;
	for (i = 0; i < 70; i++) {
		text[i] = '[';
		text[70 + i] = ']';
	}
	assert_int_equal(config_parse(text, 140, NULL, &cf, &err), -1);
	assert_string_equal(err, "line 1, column 65: nesting too deep");
	free(err);
}

/* ---- successful parses -------------------------------------------------- */

static void
test_minimal_and_defaults(void **state)
{
	struct config *cf = parse_ok("{\"mcpServers\":{\"fs\":{\"command\":\"npx\","
	    "\"args\":[\"-y\",\"@modelcontextprotocol/server-filesystem\"]}}}",
	    "/etc/corral");
	struct server_conf *s;

	(void)state;
	assert_null(cf->path);
	assert_string_equal(cf->dir, "/etc/corral");
	assert_int_equal(cf->nservers, 1);
	assert_string_equal(cf->sep, "__");
	assert_int_equal(cf->max_message, 64 * 1024 * 1024);
	assert_true(cf->t_initialize == 10);
	assert_true(cf->t_shutdown == 2);
	s = &cf->servers[0];
	assert_string_equal(s->alias, "fs");
	assert_string_equal(s->prefix, "fs");
	assert_string_equal(s->command, "npx");
	assert_int_equal(s->argc, 3);
	assert_string_equal(s->argv[0], "npx");
	assert_string_equal(s->argv[1], "-y");
	assert_string_equal(s->argv[2],
	    "@modelcontextprotocol/server-filesystem");
	assert_null(s->argv[3]);
	assert_null(s->env);
	assert_int_equal(s->nenv, 0);
	assert_null(s->cwd);
	assert_int_equal(s->disabled, 0);
	assert_null(s->allow);
	assert_int_equal(s->nallow, 0);
	assert_null(s->deny);
	assert_int_equal(s->ndeny, 0);
	assert_true(s->t_start == 60);
	assert_true(s->t_call == 120);
	assert_true(s->t_call_max == 3600);
	assert_true(s->t_idle == 1800);
	assert_int_equal(s->max_failures, 5);
	assert_true(s->backoff == 1);
	assert_true(s->backoff_max == 60);
	assert_true(s->reset_after == 60);
	/* The sandbox defaults are the strict ones: all zero. */
	assert_int_equal(s->sandbox.profile_none, 0);
	assert_int_equal(s->sandbox.net_full, 0);
	assert_int_equal(s->sandbox.home_ephemeral, 0);
	assert_int_equal(s->sandbox.seccomp_off, 0);
	assert_int_equal(s->sandbox.fallback_landlock, 0);
	assert_null(s->sandbox.ro);
	assert_null(s->sandbox.rw);
	assert_true(s->sandbox.nofile == 0 && s->sandbox.tmp == 0);
	assert_string_equal(s->fingerprint, "{\"command\":\"npx\",\"args\":"
	    "[\"-y\",\"@modelcontextprotocol/server-filesystem\"]}");
	config_free(cf);
}

static void
test_empty_configs(void **state)
{
	struct config *cf;

	(void)state;
	cf = parse_ok("{}", NULL);
	assert_int_equal(cf->nservers, 0);
	assert_null(cf->dir);
	assert_string_equal(cf->sep, "__");
	config_free(cf);
	cf = parse_ok(" \n{ \"mcpServers\" : { } , \"servers\" : { } ,"
	    " \"corral\" : { } , \"$schema\" : \"https://example.com/s.json\" }\n",
	    "/d");
	assert_int_equal(cf->nservers, 0);
	config_free(cf);
	config_free(NULL);
}

/* Every key of a server entry, set. */
static void
test_full_server(void **state)
{
	struct config *cf = parse_ok("{\"mcpServers\":{\"my-srv_1\":{"
	    "\"type\":\"stdio\",\"description\":\"d\",\"command\":\"/usr/bin/srv\","
	    "\"args\":[],\"env\":{\"A\":\"1\",\"B\":\"\",\"C\":\"x=y\"},"
	    "\"cwd\":\"/var/lib/srv\",\"disabled\":true,\"prefix\":\"S\","
	    "\"tools\":{\"allow\":[\"read_*\",\"list\"],\"deny\":[\"*delete*\"]},"
	    "\"timeouts\":{\"start\":5,\"call\":30,\"call_max\":30,\"idle\":0.5},"
	    "\"restart\":{\"max_failures\":0,\"backoff\":0.25,\"backoff_max\":8,"
	    "\"reset_after\":120}}}}", "/etc/corral");
	struct server_conf *s = &cf->servers[0];

	(void)state;
	assert_string_equal(s->alias, "my-srv_1");
	assert_string_equal(s->prefix, "S");
	assert_string_equal(s->command, "/usr/bin/srv");
	assert_int_equal(s->argc, 1);
	assert_string_equal(s->argv[0], "/usr/bin/srv");
	assert_null(s->argv[1]);
	assert_int_equal(s->nenv, 3);
	assert_string_equal(s->env[0], "A=1");
	assert_string_equal(s->env[1], "B=");
	assert_string_equal(s->env[2], "C=x=y");
	assert_null(s->env[3]);
	assert_string_equal(s->cwd, "/var/lib/srv");
	assert_int_equal(s->disabled, 1);
	assert_int_equal(s->nallow, 2);
	assert_string_equal(s->allow[0], "read_*");
	assert_string_equal(s->allow[1], "list");
	assert_null(s->allow[2]);
	assert_int_equal(s->ndeny, 1);
	assert_string_equal(s->deny[0], "*delete*");
	assert_true(s->t_start == 5);
	assert_true(s->t_call == 30);
	assert_true(s->t_call_max == 30);
	assert_true(s->t_idle == 0.5);
	assert_int_equal(s->max_failures, 0);
	assert_true(s->backoff == 0.25);
	assert_true(s->backoff_max == 8);
	assert_true(s->reset_after == 120);
	config_free(cf);
}

/* Partial sections keep the other defaults; edge values are accepted. */
static void
test_partial_and_edges(void **state)
{
	struct config *cf = parse_ok("{\"mcpServers\":{"
	    "\"a\":{\"command\":\"x\",\"timeouts\":{\"call_max\":120},"
	    "\"restart\":{\"max_failures\":1000},\"disabled\":false,"
	    "\"prefix\":\"\",\"tools\":{}},"
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":"
	    "{\"command\":\"x\",\"prefix\":"
	    "\"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV\","
	    "\"timeouts\":{\"start\":10000000},\"restart\":{\"backoff\":60}}}}",
	    NULL);

	(void)state;
	assert_int_equal(cf->nservers, 2);
	assert_true(cf->servers[0].t_call == 120);
	assert_true(cf->servers[0].t_call_max == 120);
	assert_true(cf->servers[0].t_start == 60);
	assert_int_equal(cf->servers[0].max_failures, 1000);
	assert_true(cf->servers[0].backoff == 1);
	assert_int_equal(cf->servers[0].disabled, 0);
	assert_string_equal(cf->servers[0].prefix, "");
	assert_null(cf->servers[0].allow);
	assert_int_equal(strlen(cf->servers[1].alias), 64);
	assert_int_equal(strlen(cf->servers[1].prefix), 48);
	assert_true(cf->servers[1].t_start == 1e7);
	assert_true(cf->servers[1].backoff == 60);
	assert_true(cf->servers[1].backoff_max == 60);
	config_free(cf);
}

static void
test_corral_section(void **state)
{
	struct config *cf = parse_ok("{\"corral\":{\"naming\":{\"separator\":"
	    "\"-x_9\"},\"max_message\":4096,\"timeouts\":{\"initialize\":2.5,"
	    "\"shutdown\":0.1}}}", NULL);

	(void)state;
	assert_string_equal(cf->sep, "-x_9");
	assert_int_equal(cf->max_message, 4096);
	assert_true(cf->t_initialize == 2.5);
	assert_true(cf->t_shutdown == 0.1);
	config_free(cf);
	cf = parse_ok("{\"corral\":{\"naming\":{\"separator\":\"12345678\"},"
	    "\"max_message\":1073741824}}", NULL);
	config_free(cf);
}

/* "start" and timeouts.idle: per server, else corral's default. */
static void
test_lazy_keys(void **state)
{
	struct config *cf = parse_ok("{\"mcpServers\":{"
	    "\"a\":{\"command\":\"x\"},"
	    "\"b\":{\"command\":\"x\",\"start\":\"eager\","
	    "\"timeouts\":{\"idle\":0}},"
	    "\"c\":{\"type\":\"http\",\"url\":\"https://e.example/mcp\","
	    "\"start\":\"lazy\",\"timeouts\":{\"idle\":2.5}}},"
	    "\"corral\":{\"start\":\"lazy\",\"max_starting\":0,"
	    "\"timeouts\":{\"idle\":60}}}", NULL);

	(void)state;
	assert_int_equal(cf->max_starting, 0);
	assert_int_equal(cf->servers[0].lazy, 1);
	assert_true(cf->servers[0].t_idle == 60);
	assert_int_equal(cf->servers[1].lazy, 0);
	assert_true(cf->servers[1].t_idle == 0);
	assert_int_equal(cf->servers[2].lazy, 1);
	assert_true(cf->servers[2].t_idle == 2.5);
	config_free(cf);
	cf = parse_ok("{\"mcpServers\":{\"a\":{\"command\":\"x\"}}}", NULL);
	assert_int_equal(cf->max_starting, 4);
	assert_int_equal(cf->servers[0].lazy, 0);
	assert_true(cf->servers[0].t_idle == 1800);
	config_free(cf);
}

/* The VS Code "servers" key works like "mcpServers"; both may be used,
   mcpServers first. */
static void
test_vscode_servers(void **state)
{
	struct config *cf;

	(void)state;
	cf = parse_ok("{\"servers\":{\"b\":{\"type\":\"stdio\",\"command\":\"y\","
	    "\"args\":[\"1\"]}}}", NULL);
	assert_int_equal(cf->nservers, 1);
	assert_string_equal(cf->servers[0].alias, "b");
	assert_string_equal(cf->servers[0].prefix, "b");
	assert_string_equal(cf->servers[0].argv[1], "1");
	config_free(cf);
	cf = parse_ok("{\"servers\":{\"b\":{\"command\":\"y\"}},"
	    "\"mcpServers\":{\"a\":{\"command\":\"x\"},\"c\":{\"command\":\"z\"}}}",
	    NULL);
	assert_int_equal(cf->nservers, 3);
	assert_string_equal(cf->servers[0].alias, "a");
	assert_string_equal(cf->servers[1].alias, "c");
	assert_string_equal(cf->servers[2].alias, "b");
	config_free(cf);
}

/* ${env:NAME} in command, args, env values, cwd and sandbox paths; other
   dollar forms are left alone. */
static void
test_env_substitution(void **state)
{
	struct config *cf = parse_ok("{\"mcpServers\":{\"a\":{"
	    "\"command\":\"${env:CORRAL_T_BIN}/srv\","
	    "\"args\":[\"--token=${env:CORRAL_T_TOKEN}\","
	    "\"${env:CORRAL_T_TOKEN}${env:CORRAL_T_EMPTY}${env:CORRAL_T_TOKEN}\","
	    "\"$HOME\",\"${HOME}\",\"${env\",\"$${env:CORRAL_T_EMPTY}}\"],"
	    "\"env\":{\"TOKEN\":\"${env:CORRAL_T_TOKEN}\",\"E\":\"${env:CORRAL_T_EMPTY}\"},"
	    "\"cwd\":\"${env:CORRAL_T_BIN}\","
	    "\"sandbox\":{\"ro\":[\"${env:CORRAL_T_BIN}/share\"]}}}}", "/etc/c");
	struct server_conf *s = &cf->servers[0];

	(void)state;
	assert_string_equal(s->command, "/opt/corral/bin/srv");
	assert_string_equal(s->argv[0], "/opt/corral/bin/srv");
	assert_int_equal(s->argc, 7);
	assert_string_equal(s->argv[1], "--token=s3cret");
	assert_string_equal(s->argv[2], "s3crets3cret");
	assert_string_equal(s->argv[3], "$HOME");
	assert_string_equal(s->argv[4], "${HOME}");
	assert_string_equal(s->argv[5], "${env");
	assert_string_equal(s->argv[6], "$}");
	assert_string_equal(s->env[0], "TOKEN=s3cret");
	assert_string_equal(s->env[1], "E=");
	assert_string_equal(s->cwd, "/opt/corral/bin");
	assert_int_equal(s->sandbox.nro, 1);
	assert_string_equal(s->sandbox.ro[0], "/opt/corral/bin/share");
	/* The fingerprint is of the entry as written. */
	assert_non_null(strstr(s->fingerprint, "${env:CORRAL_T_TOKEN}"));
	assert_null(strstr(s->fingerprint, "s3cret"));
	/* Every substituted value is a secret for the audit log, once;
	   empty ones are not. */
	assert_int_equal(cf->nsecrets, 2);
	assert_string_equal(cf->secrets[0], "/opt/corral/bin");
	assert_string_equal(cf->secrets[1], "s3cret");
	config_free(cf);
}

static void
test_audit_otel(void **state)
{
	struct config *cf = parse_ok("{\"corral\":{}}", "/etc/c");

	(void)state;
	/* Defaults. */
	assert_int_equal(cf->audit_off, 0);
	assert_null(cf->audit_path);
	assert_int_equal(cf->audit_capture, CAPTURE_SHAPE);
	assert_int_equal(cf->audit_fsync, 1);
	assert_true(cf->audit_rotate == 64.0 * 1024 * 1024);
	assert_int_equal(cf->audit_keep, 5);
	assert_int_equal(cf->audit_continue, 0);
	assert_null(cf->otel_endpoint);
	config_free(cf);
	setenv("CORRAL_T_OTEL", "Bearer tok-123", 1);
	cf = parse_ok("{\"corral\":{\"audit\":{\"enabled\":false,"
	    "\"path\":\"logs/a.jsonl\",\"capture\":\"full\",\"fsync\":"
	    "\"always\",\"rotate_bytes\":0,\"keep\":9,\"on_failure\":"
	    "\"continue\"},\"otel\":{\"endpoint\":\"http://127.0.0.1:4318\","
	    "\"headers\":{\"Authorization\":\"${env:CORRAL_T_OTEL}\","
	    "\"X-Plain\":\"visible-but-secret\"},\"service_name\":\"me\","
	    "\"timeout\":2,\"max_queue\":10}}}", "/etc/c");
	assert_int_equal(cf->audit_off, 1);
	assert_string_equal(cf->audit_path, "/etc/c/logs/a.jsonl");
	assert_int_equal(cf->audit_capture, CAPTURE_FULL);
	assert_int_equal(cf->audit_fsync, 0);
	assert_true(cf->audit_rotate == 0);
	assert_int_equal(cf->audit_keep, 9);
	assert_int_equal(cf->audit_continue, 1);
	assert_string_equal(cf->otel_endpoint, "http://127.0.0.1:4318");
	assert_int_equal(cf->notel_headers, 2);
	assert_string_equal(cf->otel_headers[0], "Authorization: Bearer tok-123");
	assert_string_equal(cf->otel_headers[1], "X-Plain: visible-but-secret");
	assert_string_equal(cf->otel_service, "me");
	assert_true(cf->otel_timeout == 2);
	assert_int_equal(cf->otel_queue, 10);
	/* Header values are secrets, substituted or not. */
	assert_int_equal(cf->nsecrets, 2);
	assert_string_equal(cf->secrets[0], "Bearer tok-123");
	assert_string_equal(cf->secrets[1], "visible-but-secret");
	config_free(cf);
	unsetenv("CORRAL_T_OTEL");
}

/* "oauth" of a remote server: values substituted, the secret kept. */
static void
test_oauth_keys(void **state)
{
	struct config *cf;

	(void)state;
	cf = parse_ok("{\"mcpServers\":{\"a\":{\"url\":\"https://x.test/\"},"
	    "\"b\":{\"url\":\"https://y.test/\"}}}", NULL);
	assert_null(cf->servers[0].oauth_client_id);
	assert_null(cf->servers[0].oauth_client_secret);
	assert_null(cf->servers[0].oauth_scopes);
	assert_int_equal(cf->servers[0].oauth_allow_local, 0);
	config_free(cf);
	setenv("CORRAL_T_SECRET", "s3cret", 1);
	cf = parse_ok("{\"mcpServers\":{\"a\":{\"url\":\"https://x.test/\","
	    "\"oauth\":{\"client_id\":\"corral-app\",\"client_secret\":"
	    "\"${env:CORRAL_T_SECRET}\",\"scopes\":\"read write\","
	    "\"allow_local_discovery\":true}}}}", NULL);
	assert_string_equal(cf->servers[0].oauth_client_id, "corral-app");
	assert_string_equal(cf->servers[0].oauth_client_secret, "s3cret");
	assert_string_equal(cf->servers[0].oauth_scopes, "read write");
	assert_int_equal(cf->servers[0].oauth_allow_local, 1);
	assert_int_equal(cf->nsecrets, 1);
	assert_string_equal(cf->secrets[0], "s3cret");
	config_free(cf);
	unsetenv("CORRAL_T_SECRET");
}

/* A command with a slash is relative to the config's directory; one
   without is looked up on PATH later; cwd is always resolved. */
struct resolve_case {
	const char *dir;
	const char *command, *cwd;
	const char *want_command, *want_cwd;
};

static const struct resolve_case resolve_cases[] = {
	{ "/etc/corral", "./bin/server", NULL, "/etc/corral/./bin/server", NULL },
	{ "/etc/corral", "bin/server", NULL, "/etc/corral/bin/server", NULL },
	{ "/etc/corral", "../s", NULL, "/etc/corral/../s", NULL },
	{ "/etc/corral", "node", NULL, "node", NULL },
	{ "/etc/corral", "/usr/bin/x", NULL, "/usr/bin/x", NULL },
	{ NULL, "./x", NULL, "./x", NULL },
	{ "/etc/corral", "${env:CORRAL_T_REL}", NULL, "/etc/corral/tools/run",
	    NULL },
	{ "/etc/corral", "${env:CORRAL_T_BIN}/srv", NULL, "/opt/corral/bin/srv",
	    NULL },
	{ "/srv", "x", "data", "x", "/srv/data" },
	{ "/srv", "x", "./data/", "x", "/srv/./data/" },
	{ "/srv", "x", "/abs", "x", "/abs" },
	{ NULL, "x", "rel", "x", "rel" },
};

static void
test_resolve(void **state)
{
	const struct resolve_case *c = *state;
	char text[512];
	struct config *cf;

	if (c->cwd)
		snprintf(text, sizeof(text), "{\"mcpServers\":{\"a\":{\"command\":"
		    "\"%s\",\"cwd\":\"%s\"}}}", c->command, c->cwd);
	else
		snprintf(text, sizeof(text), "{\"mcpServers\":{\"a\":{\"command\":"
		    "\"%s\"}}}", c->command);
	cf = parse_ok(text, c->dir);
	assert_string_equal(cf->servers[0].command, c->want_command);
	assert_string_equal(cf->servers[0].argv[0], c->want_command);
	if (c->want_cwd)
		assert_string_equal(cf->servers[0].cwd, c->want_cwd);
	else
		assert_null(cf->servers[0].cwd);
	config_free(cf);
}

static void
test_sandbox(void **state)
{
	struct config *cf = parse_ok(SRV("\"sandbox\":{\"profile\":\"none\","
	    "\"network\":\"full\",\"home\":\"ephemeral\",\"seccomp\":\"off\","
	    "\"fallback\":\"landlock\",\"ro\":[\"/usr/share\",\"/nonexistent/x\"],"
	    "\"rw\":[\"/tmp\"],\"limits\":{\"nofile\":1024,\"nproc\":64,"
	    "\"data\":1000000000,\"fsize\":1048576,\"memlock\":65536,"
	    "\"tmp\":67108864,\"shm\":1}}"), NULL);
	struct sandbox_conf *sb = &cf->servers[0].sandbox;

	(void)state;
	assert_int_equal(sb->profile_none, 1);
	assert_int_equal(sb->net_full, 1);
	assert_int_equal(sb->home_ephemeral, 1);
	assert_int_equal(sb->seccomp_off, 1);
	assert_int_equal(sb->fallback_landlock, 1);
	assert_int_equal(sb->nro, 2);
	assert_string_equal(sb->ro[0], "/usr/share");
	assert_string_equal(sb->ro[1], "/nonexistent/x");
	assert_null(sb->ro[2]);
	assert_int_equal(sb->nrw, 1);
	assert_string_equal(sb->rw[0], "/tmp");
	assert_true(sb->nofile == 1024);
	assert_true(sb->nproc == 64);
	assert_true(sb->data == 1e9);
	assert_true(sb->fsize == 1048576);
	assert_true(sb->memlock == 65536);
	assert_true(sb->tmp == 67108864);
	assert_true(sb->shm == 1);
	config_free(cf);
	/* The strict words are accepted too. */
	cf = parse_ok(SRV("\"sandbox\":{\"profile\":\"strict\",\"network\":"
	    "\"none\",\"home\":\"private\",\"seccomp\":\"strict\",\"fallback\":"
	    "\"none\",\"ro\":[],\"rw\":[]}"), NULL);
	sb = &cf->servers[0].sandbox;
	assert_int_equal(sb->profile_none + sb->net_full + sb->home_ephemeral +
	    sb->seccomp_off + sb->fallback_landlock, 0);
	assert_int_equal(sb->nro, 0);
	assert_int_equal(sb->nnet, 0);
	config_free(cf);
	/* A list of hosts. */
	cf = parse_ok(SRV("\"sandbox\":{\"network\":[\"API.github.com:443\","
	    "\"*.example.org\",\"[::1]:8080\"]}"), NULL);
	sb = &cf->servers[0].sandbox;
	assert_int_equal(sb->net_full, 0);
	assert_int_equal(sb->nnet, 3);
	assert_string_equal(sb->net[0].text, "API.github.com:443");
	assert_string_equal(sb->net[0].host, "api.github.com");
	assert_int_equal(sb->net[0].port, 443);
	assert_int_equal(sb->net[1].wild, 1);
	assert_int_equal(sb->net[2].port, 8080);
	config_free(cf);
}

/* Granting the whole home directory is refused, however it is spelled;
   a folder inside it is fine. */
static void
test_sandbox_home_grant(void **state)
{
	char home[] = "/tmp/corral-unit-home-XXXXXX", text[512], want[512];
	char *old = getenv("HOME") ? strdup(getenv("HOME")) : NULL, *err = NULL;
	struct config *cf;

	(void)state;
	assert_non_null(mkdtemp(home));
	setenv("HOME", home, 1);
	snprintf(text, sizeof(text), SRV("\"sandbox\":{\"rw\":[\"%s\"]}"),
	    home);
	assert_int_equal(config_parse(text, strlen(text), NULL, &cf, &err), -1);
	snprintf(want, sizeof(want), "mcpServers.a.sandbox.rw: \"%s\": granting "
	    "your whole home directory would undo the sandbox; grant the "
	    "folders the server needs", home);
	assert_string_equal(err, want);
	free(err);
	err = NULL;
	snprintf(text, sizeof(text), SRV("\"sandbox\":{\"ro\":[\"%s/\"]}"),
	    home);
	assert_int_equal(config_parse(text, strlen(text), NULL, &cf, &err), -1);
	snprintf(want, sizeof(want), "mcpServers.a.sandbox.ro: \"%s/\": granting "
	    "your whole home directory would undo the sandbox; grant the "
	    "folders the server needs", home);
	assert_string_equal(err, want);
	free(err);
	err = NULL;
	snprintf(text, sizeof(text), SRV("\"sandbox\":{\"ro\":["
	    "\"${env:HOME}/projects\"]}"));
	cf = parse_ok(text, NULL);
	snprintf(want, sizeof(want), "%s/projects", home);
	assert_string_equal(cf->servers[0].sandbox.ro[0], want);
	config_free(cf);
	if (old) {
		setenv("HOME", old, 1);
		free(old);
	} else {
		unsetenv("HOME");
	}
	rmdir(home);
}

/* The fingerprint is the entry's canonical text: equal entries agree. */
static void
test_fingerprint(void **state)
{
	struct config *cf = parse_ok("{\"mcpServers\":{"
	    "\"a\":{\"command\":\"x\",\"args\":[\"1\"]},"
	    "\"b\":{ \"command\" : \"x\" , \"args\" : [ \"1\" ] },"
	    "\"c\":{\"command\":\"x\",\"args\":[\"2\"]}}}", NULL);

	(void)state;
	assert_string_equal(cf->servers[0].fingerprint,
	    "{\"command\":\"x\",\"args\":[\"1\"]}");
	assert_string_equal(cf->servers[0].fingerprint,
	    cf->servers[1].fingerprint);
	assert_string_not_equal(cf->servers[0].fingerprint,
	    cf->servers[2].fingerprint);
	config_free(cf);
}

/* Only len bytes are parsed; the text need not be NUL-terminated. */
static void
test_length_bound(void **state)
{
	const char *t = "{\"mcpServers\":{}}garbage";
	struct config *cf;
	char *err = NULL;

	(void)state;
	assert_int_equal(config_parse(t, 17, NULL, &cf, &err), 0);
	assert_int_equal(cf->nservers, 0);
	config_free(cf);
	assert_int_equal(config_parse(t, 16, NULL, &cf, &err), -1);
	assert_string_equal(err, "line 1, column 17: unexpected end");
	free(err);
}

/* ---- config_load ---------------------------------------------------------- */

static char tmpdir[PATH_MAX];

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t n = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static int
setup_dir(void **state)
{
	char t[] = "/tmp/corral-unit-XXXXXX", *real;

	(void)state;
	if (mkdtemp(t) == NULL)
		return -1;
	/* The real path: config_load resolves symlinks. */
	if ((real = realpath(t, NULL)) == NULL)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", real);
	free(real);
	return 0;
}

static int
teardown_dir(void **state)
{
	char p[PATH_MAX + 32];

	(void)state;
	snprintf(p, sizeof(p), "%s/config.json", tmpdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sub", tmpdir);
	rmdir(p);
	return rmdir(tmpdir);
}

static void
test_load_ok(void **state)
{
	char path[PATH_MAX + 32], want[PATH_MAX + 64], *err = NULL;
	struct config *cf = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/config.json", tmpdir);
	write_file(path, "{\"mcpServers\":{\"a\":{\"command\":\"./run.sh\","
	    "\"cwd\":\"work\"},\"b\":{\"command\":\"node\"}}}\n", 0600);
	assert_int_equal(config_load(path, &cf, &err), 0);
	assert_null(err);
	assert_non_null(cf);
	assert_string_equal(cf->path, path);
	assert_string_equal(cf->dir, tmpdir);
	snprintf(want, sizeof(want), "%s/./run.sh", tmpdir);
	assert_string_equal(cf->servers[0].command, want);
	snprintf(want, sizeof(want), "%s/work", tmpdir);
	assert_string_equal(cf->servers[0].cwd, want);
	assert_string_equal(cf->servers[1].command, "node");
	config_free(cf);
	/* Readable by group and others is fine; only writable is not. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(config_load(path, &cf, &err), 0);
	config_free(cf);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(config_load(path, &cf, &err), 0);
	config_free(cf);
	assert_int_equal(chmod(path, 0600), 0);
}

struct mode_case {
	mode_t mode;
};

static const struct mode_case bad_modes[] = {
	{ 0620 }, { 0602 }, { 0622 }, { 0660 }, { 0666 }, { 0777 }, { 0624 },
};

static void
test_load_writable(void **state)
{
	const struct mode_case *c = *state;
	char path[PATH_MAX + 32], want[3 * PATH_MAX], *err = NULL;
	struct config *cf = (struct config *)1;

	snprintf(path, sizeof(path), "%s/config.json", tmpdir);
	write_file(path, "{}", c->mode);
	assert_int_equal(config_load(path, &cf, &err), -1);
	assert_null(cf);
	snprintf(want, sizeof(want), "%s: refusing a config that is writable "
	    "by group or others (chmod go-w %s)", path, path);
	assert_string_equal(err, want);
	free(err);
	assert_int_equal(chmod(path, 0600), 0);
}

static void
test_load_errors(void **state)
{
	char path[PATH_MAX + 32], want[2 * PATH_MAX], *err = NULL;
	struct config *cf = (struct config *)1;

	(void)state;
	/* Missing. */
	snprintf(path, sizeof(path), "%s/absent.json", tmpdir);
	assert_int_equal(config_load(path, &cf, &err), -1);
	assert_null(cf);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	free(err);
	/* A directory. */
	snprintf(path, sizeof(path), "%s/sub", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(config_load(path, &cf, &err), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	assert_string_equal(err, want);
	free(err);
	/* Parse errors are prefixed with the path. */
	snprintf(path, sizeof(path), "%s/config.json", tmpdir);
	write_file(path, "", 0600);
	assert_int_equal(config_load(path, &cf, &err), -1);
	snprintf(want, sizeof(want), "%s: line 1, column 1: unexpected end",
	    path);
	assert_string_equal(err, want);
	free(err);
	write_file(path, "{\n\"mcpServers\": {\"a\": {}}\n}\n", 0600);
	assert_int_equal(config_load(path, &cf, &err), -1);
	snprintf(want, sizeof(want), "%s: mcpServers.a: missing \"command\"",
	    path);
	assert_string_equal(err, want);
	free(err);
}

/* ---- the rest --------------------------------------------------------------- */

static void
test_default_path(void **state)
{
	char *old_x = getenv("XDG_CONFIG_HOME") ?
	    strdup(getenv("XDG_CONFIG_HOME")) : NULL;
	char *old_h = getenv("HOME") ? strdup(getenv("HOME")) : NULL, *p;

	(void)state;
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	p = config_default_path();
	assert_string_equal(p, "/xdg/corral/config.json");
	free(p);
	/* A relative XDG_CONFIG_HOME is ignored, as the spec says. */
	setenv("XDG_CONFIG_HOME", "rel", 1);
	p = config_default_path();
	assert_string_equal(p, "/home/u/.config/corral/config.json");
	free(p);
	unsetenv("XDG_CONFIG_HOME");
	p = config_default_path();
	assert_string_equal(p, "/home/u/.config/corral/config.json");
	free(p);
	if (old_x)
		setenv("XDG_CONFIG_HOME", old_x, 1);
	if (old_h)
		setenv("HOME", old_h, 1);
	else
		unsetenv("HOME");
	free(old_x);
	free(old_h);
}

static void
test_single(void **state)
{
	char *argv[] = { "python3", "-m", "srv", NULL };
	struct config *cf = config_single("run", argv);
	struct server_conf *s;

	(void)state;
	argv[1] = "changed";
	assert_int_equal(cf->nservers, 1);
	assert_string_equal(cf->sep, "__");
	s = &cf->servers[0];
	assert_string_equal(s->alias, "run");
	assert_string_equal(s->prefix, "");
	assert_string_equal(s->command, "python3");
	assert_int_equal(s->argc, 3);
	assert_string_equal(s->argv[0], "python3");
	assert_string_equal(s->argv[1], "-m");
	assert_string_equal(s->argv[2], "srv");
	assert_null(s->argv[3]);
	assert_true(s->t_call == 120);
	assert_int_equal(s->max_failures, 5);
	config_free(cf);
}

/* ---- the group --------------------------------------------------------------- */

static const struct CMUnitTest plain[] = {
	cmocka_unit_test(test_error_deep),
	cmocka_unit_test(test_minimal_and_defaults),
	cmocka_unit_test(test_empty_configs),
	cmocka_unit_test(test_full_server),
	cmocka_unit_test(test_partial_and_edges),
	cmocka_unit_test(test_corral_section),
	cmocka_unit_test(test_lazy_keys),
	cmocka_unit_test(test_vscode_servers),
	cmocka_unit_test(test_env_substitution),
	cmocka_unit_test(test_audit_otel),
	cmocka_unit_test(test_oauth_keys),
	cmocka_unit_test(test_sandbox),
	cmocka_unit_test(test_sandbox_home_grant),
	cmocka_unit_test(test_fingerprint),
	cmocka_unit_test(test_length_bound),
	cmocka_unit_test(test_load_ok),
	cmocka_unit_test(test_load_errors),
	cmocka_unit_test(test_default_path),
	cmocka_unit_test(test_single),
};

static struct CMUnitTest tests[NELEM(plain) + NELEM(err_cases) +
    NELEM(resolve_cases) + NELEM(bad_modes)];

int
main(void)
{
	struct unit_tests u = { tests, 0, NELEM(tests) };
	char name[128];
	size_t i;
	int r;

	setenv("CORRAL_T_BIN", "/opt/corral/bin", 1);
	setenv("CORRAL_T_TOKEN", "s3cret", 1);
	setenv("CORRAL_T_EMPTY", "", 1);
	setenv("CORRAL_T_REL", "tools/run", 1);
	unsetenv("CORRAL_T_UNSET");
	unit_add_plain(&u, plain, NELEM(plain));
	for (i = 0; i < NELEM(err_cases); i++)
		unit_add(&u, unit_name("error ", err_cases[i].err,
		    strlen(err_cases[i].err)), test_error,
		    (void *)&err_cases[i]);
	for (i = 0; i < NELEM(resolve_cases); i++) {
		const struct resolve_case *c = &resolve_cases[i];

		snprintf(name, sizeof(name), "resolve in %s: command %s, cwd %s",
		    c->dir ? c->dir : "(none)", c->command,
		    c->cwd ? c->cwd : "(none)");
		unit_add(&u, unit_name("", name, strlen(name)), test_resolve,
		    (void *)c);
	}
	for (i = 0; i < NELEM(bad_modes); i++) {
		snprintf(name, sizeof(name), "config_load refuses mode %04o",
		    (unsigned)bad_modes[i].mode);
		unit_add(&u, unit_name("", name, strlen(name)),
		    test_load_writable, (void *)&bad_modes[i]);
	}
	if (u.n != NELEM(tests))
		abort();
	r = cmocka_run_group_tests_name("config", tests, setup_dir,
	    teardown_dir);
	unit_free(&u);
	return r;
}
