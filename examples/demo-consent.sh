#!/bin/sh
# A consent program for the demo: corral runs it (the "command" channel)
# when its policy says "ask". It shows what it was asked, then answers.
# Exit 0: allow once; 10: allow for this session; 11: always; else deny.
{
	echo "  +--- consent asked by corral (command channel) ---"
	printf '%s\n' "$CORRAL_PROMPT" | sed 's/^/  | /'
	echo "  +--- the demo answers: allow once"
} >&2
exit 0
