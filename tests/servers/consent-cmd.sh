#!/bin/sh
# A scripted consent program for corral's "command" channel (tests only).
#
#   consent-cmd.sh LOG STATUS [ARG...]
#
# Appends one JSON line to LOG with what corral gave it: the CORRAL_*
# variables, the names of all CORRAL_* variables it got, the extra
# arguments, and what its stdin is. Then exits with STATUS; STATUS "sleep"
# writes the pid to LOG.pid and sleeps until killed (same pid).
log="$1"
status="$2"
shift 2
jq -nc \
    --arg server "${CORRAL_SERVER-(unset)}" \
    --arg tool "${CORRAL_TOOL-(unset)}" \
    --arg name "${CORRAL_NAME-(unset)}" \
    --arg arguments "${CORRAL_ARGUMENTS-(unset)}" \
    --arg changed "${CORRAL_CHANGED-(unset)}" \
    --arg prompt "${CORRAL_PROMPT-(unset)}" \
    --arg stdin "$(readlink /proc/$$/fd/0)" \
    '{server: $server, tool: $tool, name: $name, arguments: $arguments,
      changed: $changed, prompt: $prompt, stdin: $stdin,
      vars: ($ENV | keys | map(select(startswith("CORRAL_")))),
      argv: $ARGS.positional}' \
    --args "$@" >>"$log"
if [ "$status" = sleep ]; then
	echo $$ >"$log.pid"
	exec sleep 120
fi
exit "$status"
